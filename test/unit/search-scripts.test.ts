/**
 * Search of the scripts written without spaces between words (src/videos/grams.ts): a
 * Japanese, Chinese, Korean or Thai word is found inside a longer run, in each text of a video,
 * on a real database with the real schema (VideoStore.upsert, searchVideos), while Latin
 * search keeps its prefixes; and a data folder of the previous schema finds its videos of those
 * scripts after the upgrade (migration 18).
 */
import { afterEach, beforeEach, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Database } from 'bun:sqlite'
import { GRAM_RANGES, openDatabase, SCHEMA_VERSION } from '../../src/shared/db'
import { gramsOf, gramTerms, hasGrams } from '../../src/videos/grams'
import type { Video } from '../../src/videos/model'
import { VideoStore } from '../../src/videos/store'
import { ftsQuery, SEARCH_LIMITS, searchVideos, type VideoQuery } from '../../src/videos/search'
import { indexVideo } from '../helpers/index-videos'

const POD = { fingerprint: 'pod-fingerprint', url: 'https://pod.example' }

let db: Database
let made = 0

beforeEach(() => {
  db = openDatabase(':memory:')
  made = 0
})
afterEach(() => db.close())

function video(name: string, description = '', uploader = 'someone'): Video {
  return indexVideo(++made, POD, { name, description, uploader })
}

const names = (search: string, q: Partial<VideoQuery> = {}) => searchVideos(db, { search, ...q }, POD.fingerprint, POD.url).data.map((v) => v.name)

function addAll(store: VideoStore): void {
  for (const v of [
    video('夜景散歩の東京', '', 'たろう'),
    video('北京', '我们在北京吃烤鸭了'),
    video('여행', '서울에서 부산까지 기차로'),
    video('อาหาร', 'วันนี้กินข้าวผัดกับไก่'),
    video('Sunset over Tokyo', '', '旅行チャンネル'),
  ])
    expect(store.upsert(v, POD.url, 0)).toBe(true)
}

describe('words of scripts without spaces', () => {
  test('a Japanese, Chinese, Korean or Thai word is found inside a longer run, in the name, description or uploader', () => {
    const store = new VideoStore(db)
    addAll(store)
    expect(names('散歩')).toEqual(['夜景散歩の東京'])
    expect(names('東京')).toEqual(['夜景散歩の東京'])
    expect(names('烤鸭')).toEqual(['北京'])
    expect(names('서울')).toEqual(['여행'])
    expect(names('부산')).toEqual(['여행'])
    expect(names('ข้าวผัด')).toEqual(['อาหาร'])
    expect(names('チャンネル')).toEqual(['Sunset over Tokyo'])
    // One character, as typed: the start of a pair, or the end of a run.
    expect(names('烤')).toEqual(['北京'])
    expect(names('了')).toEqual(['北京'])
    // A word with other letters in it, as the tokenizer keeps it whole.
    store.upsert(video('2024年の夏'), POD.url, 0)
    expect(names('夏')).toEqual(['2024年の夏'])
    expect(names('2024年')).toEqual(['2024年の夏'])
    expect(names('2024年の冬')).toEqual([])
    // Words that are not there find nothing, though their characters are (大阪; 东京 in simplified).
    expect(names('大阪')).toEqual([])
    expect(names('散歩 大阪')).toEqual([])
    // With a Latin word, both required; and scope=local still holds.
    expect(names('sunset チャンネル')).toEqual(['Sunset over Tokyo'])
    expect(names('散歩', { scope: 'local' })).toEqual(['夜景散歩の東京'])
    db.exec("INSERT INTO videos_fts (videos_fts) VALUES ('integrity-check')")
  })

  test('Latin search is as before: prefixes, every word required, no pairs stored for a video without those scripts', () => {
    const store = new VideoStore(db)
    addAll(store)
    store.upsert(video('Sunrise at the beach'), POD.url, 0)
    expect(names('suns')).toEqual(['Sunset over Tokyo'])
    expect(names('sun')).toEqual(['Sunrise at the beach', 'Sunset over Tokyo'])
    expect(names('suns ')).toEqual([])
    expect(names('sunset tok')).toEqual(['Sunset over Tokyo'])
    expect(ftsQuery('sunset beach')).toBe('"sunset" AND "beach"*')
    expect(gramsOf('Sunset over Tokyo', 'a description', 'someone')).toBeNull()
    expect(db.query("SELECT grams FROM videos WHERE name LIKE 'Sunrise%'").get()).toEqual({ grams: null })
  })

  test('an edit re-indexes the pairs, a removal takes them out', () => {
    const store = new VideoStore(db)
    const v = video('夜景散歩の東京')
    store.upsert(v, POD.url, 0)
    store.upsert({ ...v, name: '京都の朝' }, POD.url, 1)
    expect(names('散歩')).toEqual([])
    expect(names('京都')).toEqual(['京都の朝'])
    db.exec("INSERT INTO videos_fts (videos_fts) VALUES ('integrity-check')")
    db.exec("DELETE FROM videos")
    expect(names('京都')).toEqual([])
    db.exec("INSERT INTO videos_fts (videos_fts) VALUES ('integrity-check')")
  })
})

describe("the index's sample", () => {
  test('knows the pairs: a lone character that starts too many stands for its most common pairs (a lower bound)', () => {
    const store = new VideoStore(db)
    db.transaction(() => {
      for (let i = 0; i < 130; i++) store.upsert(video(i % 2 ? `東京の朝 ${i}` : `東北の夜 ${i}`), POD.url, 0)
    })()
    const limits = { ...SEARCH_LIMITS, prefix: 10, prefixWords: 1 }
    const page = searchVideos(db, { search: '東', count: 100 }, POD.fingerprint, POD.url, limits)
    expect(page.totalIsLowerBound).toBe(true)
    expect(page.data.length).toBeGreaterThan(0)
    // A pair is looked up as it is (not taken apart like a Hangul syllable by NFD).
    // (The sample holds seq 64 and 128: both 東京の朝, the whole run as the name's token.)
    expect(db.query("SELECT term, doc FROM videos_sample_terms WHERE term >= '東' AND term < '東\u{10FFFF}'").values()).toEqual([['東京', 2], ['東京の朝', 2]])
    expect(searchVideos(db, { search: '東京' }, POD.fingerprint, POD.url).total).toBe(65)
    db.exec("INSERT INTO videos_sample (videos_sample) VALUES ('integrity-check')")
  })
})

describe('every character of those scripts', () => {
  test('is one token to the tokenizer, alone and in its pairs, so that a search for it is never a phrase', () => {
    // detail=none refuses phrases: a pair that the tokenizer split would be one (an error).
    // Checks Bun's Unicode tables against SQLite's, both of which move.
    const fts = new Database(':memory:')
    try {
      fts.exec("CREATE VIRTUAL TABLE t USING fts5(x, detail = none, tokenize = 'unicode61 remove_diacritics 2'); CREATE VIRTUAL TABLE v USING fts5vocab(t, row)")
      const expected = new Set<string>()
      const cut: string[] = []
      const insert = fts.query('INSERT INTO t (x) VALUES (?)')
      fts.transaction(() => {
        for (let c = 0x30; c < 0x110000; c++) {
          const char = String.fromCodePoint(c)
          if (!hasGrams(char)) continue
          const terms = gramTerms(`${char}\u0E34${char}`)
          if (terms.length !== 1 || terms[0]!.term !== char + char) cut.push(char)
          expected.add(char + char).add(char)
          insert.run(gramsOf(`${char}\u0E34${char}`))
        }
      })()
      expect(cut).toEqual([])
      expect(expected.size).toBeGreaterThan(2 * 100_000)
      const got = fts.query('SELECT term FROM v').values().map((r) => r[0] as string)
      expect(got.filter((t) => !expected.has(t))).toEqual([])
      expect(got.length).toBe(expected.size)
    } finally {
      fts.close()
    }
  }, 60_000)
})

describe('migration 18', () => {
  test('a data folder of the previous schema finds its videos of those scripts after the upgrade, as new ones would', () => {
    const dir = mkdtempSync(join(tmpdir(), 'seedpod-grams-'))
    try {
      const path = join(dir, 'seedpod.db')
      const texts = [
        ['夜景散歩の東京', 'ยามค่ำคืนที่กรุงเทพ', '東京チャンネル'],
        ['Sunset', 'a 서울에서 walk to 𠮷野家', 'someone'],
      ] as const
      const old = openDatabase(path, { to: SCHEMA_VERSION - 1 })
      // Written as the previous release's VideoStore.upsert did (no pairs).
      old.exec("INSERT INTO pods (id, fingerprint, url, videos) VALUES (1, 'pod-fingerprint', 'https://pod.example', 2)")
      texts.forEach(([name, description, uploader], i) => {
        old.query('INSERT INTO uploaders (id, name, videos) VALUES (?, ?, 1)').run(i + 1, uploader)
        old
          .query('INSERT INTO videos (seq, id, pod, name, description, uploader, info_hash, created_at, updated_at) VALUES (?1, ?2, 1, ?3, ?4, ?1, zeroblob(20), ?1, 0)')
          .run(i + 1, `v${i + 1}`, name, description)
        old.query("INSERT INTO videos_fts (rowid, name, description, uploader, pod) VALUES (?, ?, ?, ?, char(57344) || '1')").run(i + 1, name, description, uploader)
      })
      old.close()
      db.close()
      db = openDatabase(path)
      // The pairs the migration made in SQL are those the new release makes.
      const grams = db.query('SELECT grams FROM videos ORDER BY seq').values().map((r) => r[0])
      expect(grams).toEqual(texts.map((t) => gramsOf(...t)))
      expect(names('散歩')).toEqual(['夜景散歩の東京'])
      expect(names('กรุงเทพ')).toEqual(['夜景散歩の東京'])
      expect(names('チャンネル')).toEqual(['夜景散歩の東京'])
      expect(names('서울')).toEqual(['Sunset'])
      expect(names('𠮷野家')).toEqual(['Sunset'])
      expect(names('suns')).toEqual(['Sunset'])
      db.exec("INSERT INTO videos_fts (videos_fts) VALUES ('integrity-check')")
      db.exec("INSERT INTO videos_sample (videos_sample) VALUES ('integrity-check')")
      // And it keeps working: an edit and a new video.
      new VideoStore(db).upsert({ ...video('x'), id: 'v1', name: '大阪の夜' }, POD.url, 1)
      expect(names('散歩')).toEqual([])
      expect(names('大阪')).toEqual(['大阪の夜'])
      db.exec("INSERT INTO videos_fts (videos_fts) VALUES ('integrity-check')")
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
