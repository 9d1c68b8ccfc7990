/**
 * Search and listing of the network index (src/videos/search.ts) on a real SQLite database
 * with the real schema, videos added with the real VideoStore.upsert: the FTS query builder, what a
 * search finds, scopes, sorts, paging, capped totals, and the index kept in step with
 * removals and edits.
 */
import { Database } from 'bun:sqlite'
import { afterEach, beforeEach, describe, expect, test } from 'bun:test'
import { Elysia } from 'elysia'
import { openDatabase } from '../../src/shared/db'
import { videoUrls, type Video } from '../../src/videos/model'
import { VideoStore } from '../../src/videos/store'
import { ftsQuery, SEARCH_LIMITS, searchVideos, VideoQuery, type SearchLimits } from '../../src/videos/search'
import { indexVideo } from '../helpers/index-videos'

const OWN = { fingerprint: 'own-pod-fingerprint', url: 'https://own.example' }
const FRIEND = { fingerprint: 'friend-pod-fingerprint', url: 'https://friend.example' }
const BASE = OWN.url

let db: Database
let rows: VideoStore
let made = 0

beforeEach(() => {
  db = openDatabase(':memory:')
  rows = new VideoStore(db)
  made = 0
})
afterEach(() => db.close())

/** Adds a video (created one minute after the previous one) and returns it. */
function add(fields: { name: string; description?: string; uploader?: string; pod?: typeof OWN; id?: string }): Video {
  const pod = fields.pod ?? FRIEND
  // A video given its id counts as the previous one made (its info hash and time).
  const n = fields.id ? made : ++made
  const video = indexVideo(n, pod, fields)
  expect(rows.upsert(video, pod.url, Date.now())).toBe(true)
  return video
}

function search(q: VideoQuery, limits?: SearchLimits) {
  return searchVideos(db, q, OWN.fingerprint, BASE, limits)
}

/** Names of the videos found, in order. */
function names(q: VideoQuery, limits?: SearchLimits): string[] {
  return search(q, limits).data.map((v) => v.name)
}

/** FTS5's own consistency check of the index against the texts (throws if they differ). */
function checkIndex(): void {
  db.exec("INSERT INTO videos_fts (videos_fts) VALUES ('integrity-check')")
  db.exec("INSERT INTO videos_sample (videos_sample) VALUES ('integrity-check')")
}

describe('ftsQuery', () => {
  test('quotes every word and requires all of them; the last one is a prefix unless followed by a space', () => {
    expect(ftsQuery('sunset beach')).toBe('"sunset" AND "beach"*')
    expect(ftsQuery('sunset beach ')).toBe('"sunset" AND "beach"')
    expect(ftsQuery('  ')).toBeUndefined()
    expect(ftsQuery('-- *')).toBeUndefined()
  })

  test('FTS5 operators and syntax in what users type are words or nothing, never operators', () => {
    expect(ftsQuery('sunset OR rain')).toBe('"sunset" AND "OR" AND "rain"*')
    expect(ftsQuery('NEAR(sunset rain, 2)')).toBe('"NEAR" AND "sunset" AND "rain" AND "2"')
    expect(ftsQuery('"sunset" -rain *beach* name:x ^y')).toBe('"sunset" AND "rain" AND "beach" AND "name" AND "x" AND "y"*')
    expect(ftsQuery('a"b')).toBe('"a" AND "b"*')
    expect(ftsQuery('NOT sunset')).toBe('"NOT" AND "sunset"*')
  })

  test('every letter or digit it keeps in a word is a token character for the tokenizer', () => {
    // A word split in two by the tokenizer would be a phrase: an error with detail=none. One
    // document "q<c>q" per code point that ftsQuery keeps inside a word; a separator among them
    // would leave the token "q". Checks Bun's Unicode tables against SQLite's, both of which move.
    const fts = new Database(':memory:')
    try {
      fts.exec("CREATE VIRTUAL TABLE t USING fts5(x, detail = none, tokenize = 'unicode61 remove_diacritics 2')")
      const insert = fts.query('INSERT INTO t (rowid, x) VALUES (?, ?)')
      let kept = 0
      fts.transaction(() => {
        for (let c = 0x30; c < 0x110000; c++) {
          if (c >= 0xd800 && c < 0xe000) continue
          const word = `q${String.fromCodePoint(c)}q`
          if (ftsQuery(`${word} `) !== `"${word}"`) continue
          kept++
          insert.run(c, word)
        }
      })()
      // Han, kana, Hangul and Thai go by pairs instead (test/unit/search-scripts.test.ts).
      expect(kept).toBeGreaterThan(40_000)
      const split = fts.query(`SELECT rowid FROM t WHERE t MATCH '"q"'`).all() as { rowid: number }[]
      expect(split.map((r) => `U+${r.rowid.toString(16).toUpperCase()}`)).toEqual([])
      // And one that is not kept: U+19B0 is a letter to JavaScript, a separator to SQLite.
      expect(ftsQuery('q\u19B0q')).toBe('"q" AND "q"*')
      expect(fts.query('SELECT count(*) AS n FROM t WHERE t MATCH ?').get(ftsQuery('q\u19C1q')!)).toEqual({ n: 1 })
    } finally {
      fts.close()
    }
  }, 60_000)
})

describe('VideoQuery', () => {
  test('an absent sort or scope stays absent (network, relevance when searching), and bad values are refused', async () => {
    const app = new Elysia().get('/', ({ query }) => query, { query: VideoQuery })
    const parsed = async (qs: string) => {
      const res = await app.handle(new Request(`http://pod.example/${qs}`))
      return [res.status, res.status === 200 ? await res.json() : undefined]
    }
    expect(await parsed('?search=sunset')).toEqual([200, { search: 'sunset' }])
    expect(await parsed('?sort=name&scope=local&start=20&count=10')).toEqual([200, { sort: 'name', scope: 'local', start: 20, count: 10 }])
    expect((await parsed('?sort=views'))[0]).toBe(422)
    expect((await parsed('?scope=everywhere'))[0]).toBe(422)
    expect((await parsed('?count=101'))[0]).toBe(422)
  })
})

describe('searchVideos', () => {
  test('a search with operators in it runs as words and cannot widen the match', () => {
    add({ name: 'Sunset at the beach' })
    add({ name: 'Rain in the city' })
    expect(names({ search: 'sunset' })).toEqual(['Sunset at the beach'])
    // As FTS5 syntax this would be "sunset OR rain": both videos.
    expect(names({ search: 'sunset OR rain' })).toEqual([])
    expect(names({ search: 'sunset NOT rain' })).toEqual([])
    expect(names({ search: '"sunset' })).toEqual(['Sunset at the beach'])
    expect(names({ search: 'NEAR(sunset rain)' })).toEqual([])
    expect(names({ search: 'sun* -rain' })).toEqual([])
    // Nothing searchable: the plain listing.
    expect(search({ search: '"*-' }).total).toBe(2)
  })

  test('the last word is a prefix ("suns" finds "sunset"); a finished word is not', () => {
    add({ name: 'Sunset at the beach' })
    add({ name: 'Sunday market' })
    expect(names({ search: 'suns' })).toEqual(['Sunset at the beach'])
    expect(names({ search: 'sun' }).sort()).toEqual(['Sunday market', 'Sunset at the beach'])
    expect(names({ search: 'suns ' })).toEqual([])
    expect(names({ search: 'beach suns' })).toEqual(['Sunset at the beach'])
  })

  test('a word of the description or of the uploader name finds the video', () => {
    add({ name: 'Holiday', description: 'Filmed from the lighthouse at dawn', uploader: 'Marguerite Duras' })
    add({ name: 'Other', description: 'Nothing to see', uploader: 'Someone Else' })
    expect(names({ search: 'lighthouse' })).toEqual(['Holiday'])
    expect(names({ search: 'marguerite' })).toEqual(['Holiday'])
    expect(names({ search: 'duras dawn' })).toEqual(['Holiday'])
    expect(search({ search: 'duras' }).data[0]!.uploader).toBe('Marguerite Duras')
  })

  test('diacritics and case do not matter, either way', () => {
    add({ name: 'Le café du coin', description: 'ÉTÉ à Paris' })
    add({ name: 'Cafe racer build' })
    add({ name: 'Decomposed cafe\u0301' })
    expect(names({ search: 'cafe ' }).sort()).toEqual(['Cafe racer build', 'Decomposed cafe\u0301', 'Le café du coin'])
    expect(names({ search: 'café ' }).sort()).toEqual(['Cafe racer build', 'Decomposed cafe\u0301', 'Le café du coin'])
    expect(names({ search: 'ete paris' })).toEqual(['Le café du coin'])
  })

  test('scope=local searches and lists this pod\'s own videos only; network, everyone\'s', () => {
    add({ name: 'Own sunset', pod: OWN })
    add({ name: 'Friend sunset', pod: FRIEND })
    add({ name: 'Own rain', pod: OWN })
    expect(names({ search: 'sunset', scope: 'local' })).toEqual(['Own sunset'])
    expect(names({ search: 'sunset', scope: 'network' }).sort()).toEqual(['Friend sunset', 'Own sunset'])
    expect(names({ search: 'sunset' }).sort()).toEqual(['Friend sunset', 'Own sunset'])
    expect(search({ scope: 'local' })).toMatchObject({ total: 2, totalIsLowerBound: false })
    expect(names({ scope: 'local' })).toEqual(['Own rain', 'Own sunset'])
    expect(search({})).toMatchObject({ total: 3, totalIsLowerBound: false })
    // A pod with no video in the index yet.
    expect(searchVideos(db, { scope: 'local' }, 'unknown', BASE)).toEqual({ total: 0, totalIsLowerBound: false, data: [] })
    expect(searchVideos(db, { search: 'sunset', scope: 'local' }, 'unknown', BASE).total).toBe(0)
  })

  test("no friend's video passes for this pod's own, whatever its text", () => {
    add({ name: 'Own video', pod: OWN })
    // The index's token for the first pod added (own, id 1): U+E000 then the pod's id.
    add({ name: 'Sneaky \u{E000}1 video', description: '\u{E000}1', uploader: '\u{E000}1', pod: FRIEND })
    expect(names({ search: 'video', scope: 'local' })).toEqual(['Own video'])
    expect(search({ search: 'video', scope: 'local' }).total).toBe(1)
    checkIndex()
  })

  test('sorts: newest first by default, oldest first, by name either way, by relevance by default when searching', () => {
    add({ name: 'banana boat', description: 'boat' })
    add({ name: 'Apple boat', description: 'a long description about many things and also a boat somewhere in it' })
    add({ name: 'cherry boat boat', description: 'boat boat' })
    expect(names({})).toEqual(['cherry boat boat', 'Apple boat', 'banana boat'])
    expect(names({ sort: '-createdAt' })).toEqual(['cherry boat boat', 'Apple boat', 'banana boat'])
    expect(names({ sort: 'createdAt' })).toEqual(['banana boat', 'Apple boat', 'cherry boat boat'])
    // Case does not matter for names.
    expect(names({ sort: 'name' })).toEqual(['Apple boat', 'banana boat', 'cherry boat boat'])
    expect(names({ sort: '-name' })).toEqual(['cherry boat boat', 'banana boat', 'Apple boat'])
    expect(names({ search: 'boat', sort: 'name' })).toEqual(['Apple boat', 'banana boat', 'cherry boat boat'])
    expect(names({ search: 'boat', sort: 'createdAt' })).toEqual(['banana boat', 'Apple boat', 'cherry boat boat'])
    // bm25: most occurrences in the shortest text first, the long description last.
    expect(names({ search: 'boat' })).toEqual(['cherry boat boat', 'banana boat', 'Apple boat'])
    expect(names({ search: 'boat', sort: 'relevance' })).toEqual(['cherry boat boat', 'banana boat', 'Apple boat'])
    // Relevance without a search: newest first.
    expect(names({ sort: 'relevance' })).toEqual(['cherry boat boat', 'Apple boat', 'banana boat'])
  })

  test('paging: start and count, with the total of all matches', () => {
    for (let i = 1; i <= 7; i++) add({ name: `Episode ${i}` })
    add({ name: 'Something else' })
    expect(search({ search: 'episode', sort: 'createdAt', start: 0, count: 3 })).toMatchObject({ total: 7, totalIsLowerBound: false })
    expect(names({ search: 'episode', sort: 'createdAt', start: 0, count: 3 })).toEqual(['Episode 1', 'Episode 2', 'Episode 3'])
    expect(names({ search: 'episode', sort: 'createdAt', start: 3, count: 3 })).toEqual(['Episode 4', 'Episode 5', 'Episode 6'])
    expect(names({ search: 'episode', sort: 'createdAt', start: 6, count: 3 })).toEqual(['Episode 7'])
    expect(names({ search: 'episode', start: 7 })).toEqual([])
    expect(names({ start: 6, count: 10 })).toEqual(['Episode 2', 'Episode 1'])
    expect(search({ start: 6, count: 10 }).total).toBe(8)
  })

  test('a very common word: the total is capped (a lower bound), and matches beyond the ranking limit come newest first, unranked', () => {
    const limits = { ...SEARCH_LIMITS, rank: 5, count: 10 }
    for (let i = 1; i <= 12; i++) add({ name: `common ${'x'.repeat(i)}`, description: i % 2 ? 'common common' : '' })
    add({ name: 'rare one', description: 'common' })
    add({ name: 'rare two' })
    expect(search({ search: 'common' }, limits)).toMatchObject({ total: 10, totalIsLowerBound: true })
    expect(search({ search: 'common' })).toMatchObject({ total: 13, totalIsLowerBound: false })
    // 13 matches > 5: newest first whatever the sort asked for, paged.
    for (const sort of ['relevance', 'name', 'createdAt'] as const) {
      expect(names({ search: 'common', sort, count: 3 }, limits)).toEqual(['rare one', `common ${'x'.repeat(12)}`, `common ${'x'.repeat(11)}`])
    }
    expect(names({ search: 'common', start: 3, count: 2 }, limits)).toEqual([`common ${'x'.repeat(10)}`, `common ${'x'.repeat(9)}`])
    // Few enough to rank: sorted as asked.
    expect(search({ search: 'rare' }, limits)).toMatchObject({ total: 2, totalIsLowerBound: false })
    expect(names({ search: 'rare', sort: 'name' }, limits)).toEqual(['rare one', 'rare two'])
    // The same with scope=local.
    for (let i = 1; i <= 12; i++) add({ name: `common own ${i}`, pod: OWN })
    expect(search({ search: 'common', scope: 'local' }, limits)).toMatchObject({ total: 10, totalIsLowerBound: true })
    expect(names({ search: 'common', scope: 'local', count: 2 }, limits)).toEqual(['common own 12', 'common own 11'])
    expect(SEARCH_LIMITS.count).toBeGreaterThan(SEARCH_LIMITS.rank)
  })

  test("a prefix covering too many videos stands for its most common words and the word as typed (a lower bound)", () => {
    // Every 64th video is in the index's sample: here videos 64 and 128, both "Sunset", so
    // "sun" looks like 2 x 64 videos, more than this limit of 100.
    const limits = { ...SEARCH_LIMITS, prefix: 100, prefixWords: 1 }
    for (let i = 1; i <= 130; i++) add({ name: i === 10 ? 'Sunflower field' : i === 20 ? 'Sun and moon' : i % 3 ? 'Sunset' : 'Sunday' })
    const sunsets = 85
    // "sun" stands for "sunset" (its most common word) and "sun" itself; not "sunday" or "sunflower".
    expect(search({ search: 'sun' }, limits)).toMatchObject({ total: sunsets + 1, totalIsLowerBound: true })
    expect(new Set(search({ search: 'sun', count: 100 }, limits).data.map((v) => v.name))).toEqual(new Set(['Sunset', 'Sun and moon']))
    // A prefix the sample does not see as common is expanded in full.
    expect(search({ search: 'sunf' }, limits)).toMatchObject({ total: 1, totalIsLowerBound: false })
    // With room enough, every completion.
    expect(search({ search: 'sun' })).toMatchObject({ total: 130, totalIsLowerBound: false })
    expect(search({ search: 'Sün' })).toMatchObject({ total: 130, totalIsLowerBound: false })
    expect(search({ search: 'SÜN' }, limits)).toMatchObject({ total: sunsets + 1, totalIsLowerBound: true })
  })

  test('relevance weighs the words that are not common; with none, newest first', () => {
    // "filler" is in every video, sampled twice: about 128 videos, more than this limit of 100.
    const limits = { ...SEARCH_LIMITS, weigh: 100 }
    for (let i = 1; i <= 130; i++) add({ name: i === 40 ? 'filler boat boat' : i === 50 ? 'filler boat' : i === 60 ? 'filler long boat title with many other words in it' : 'filler' })
    expect(names({ search: 'filler boat ' }, limits)).toEqual(['filler boat boat', 'filler boat', 'filler long boat title with many other words in it'])
    expect(names({ search: 'boat filler ' }, limits)).toEqual(['filler boat boat', 'filler boat', 'filler long boat title with many other words in it'])
    expect(search({ search: 'boat filler ' }, limits)).toMatchObject({ total: 3, totalIsLowerBound: false })
    expect(names({ search: 'filler ', count: 2 }, { ...limits, rank: 1000 })).toEqual(['filler', 'filler'])
    expect(search({ search: 'filler ', count: 2 }, { ...limits, rank: 1000 }).data.map((v) => v.id)).toEqual(['v130', 'v129'])
  })

  test('a listing by name sorts up to the ranking limit, newest first beyond', () => {
    add({ name: 'b' })
    add({ name: 'a' })
    add({ name: 'c' })
    expect(names({ sort: 'name' }, { ...SEARCH_LIMITS, rank: 3 })).toEqual(['a', 'b', 'c'])
    expect(names({ sort: 'name' }, { ...SEARCH_LIMITS, rank: 2 })).toEqual(['c', 'a', 'b'])
  })

  test("this pod's own videos are listed alike whether few (found by the pod's token) or many (walked by date)", () => {
    for (let i = 1; i <= 6; i++) add({ name: `own ${i}`, pod: i % 2 ? OWN : FRIEND })
    for (const limits of [SEARCH_LIMITS, { ...SEARCH_LIMITS, rank: 1 }]) {
      expect(names({ scope: 'local' }, limits)).toEqual(['own 5', 'own 3', 'own 1'])
      expect(names({ scope: 'local', sort: 'createdAt', start: 1 }, limits)).toEqual(['own 3', 'own 5'])
      expect(search({ scope: 'local' }, limits)).toMatchObject({ total: 3, totalIsLowerBound: false })
    }
  })
})

describe('the index follows the videos', () => {
  test('an edit re-indexes the texts; an unchanged re-send changes nothing', () => {
    const v = add({ name: 'Old title', description: 'old words', uploader: 'First Name' })
    expect(rows.upsert({ ...v, name: 'New title', description: 'new words', uploader: 'Second Name' }, FRIEND.url, Date.now())).toBe(true)
    expect(names({ search: 'old' })).toEqual([])
    expect(names({ search: 'first' })).toEqual([])
    expect(names({ search: 'new second' })).toEqual(['New title'])
    expect(search({ search: 'second' }).data[0]!.uploader).toBe('Second Name')
    expect(rows.upsert({ ...v, name: 'New title', description: 'new words', uploader: 'Second Name' }, FRIEND.url, Date.now())).toBe(true)
    expect(search({})).toMatchObject({ total: 1 })
    // The first uploader's name went with its last video.
    expect(db.query('SELECT name, videos FROM uploaders').all()).toEqual([{ name: 'Second Name', videos: 1 }])
    checkIndex()
  })

  test("another pod cannot overwrite a video by reusing its id, and leaves nothing behind", () => {
    const v = add({ name: 'Original', uploader: 'Owner' })
    expect(rows.upsert({ ...v, name: 'Hijacked', uploader: 'Thief', podFingerprint: OWN.fingerprint }, OWN.url, Date.now())).toBe(false)
    expect(names({})).toEqual(['Original'])
    expect(names({ search: 'hijacked' })).toEqual([])
    expect(db.query('SELECT name FROM uploaders').all()).toEqual([{ name: 'Owner' }])
    checkIndex()
  })

  test("a pod's videos are found by its token in the index (no index on the pod column)", () => {
    add({ name: 'Friend one' })
    add({ name: 'Own one', pod: OWN })
    add({ name: 'Friend two' })
    expect(rows.videosOf(FRIEND.fingerprint).map((v) => v.name)).toEqual(['Friend one', 'Friend two'])
    expect(rows.videosOf('nobody')).toEqual([])
    expect(rows.removeAllOf('nobody')).toBe(0)
    expect(rows.removeAllOf(FRIEND.fingerprint)).toBe(2)
    expect(rows.videosOf(FRIEND.fingerprint)).toEqual([])
    expect(names({})).toEqual(['Own one'])
    checkIndex()
  })

  test('removals leave search, totals and uploader names in step', () => {
    const a = add({ name: 'Sunset one', uploader: 'Shared Uploader' })
    add({ name: 'Sunset two', uploader: 'Shared Uploader' })
    add({ name: 'Sunset own', uploader: 'Own Uploader', pod: OWN })
    expect(rows.remove(a.id, FRIEND.fingerprint)).toBe(true)
    expect(names({ search: 'sunset' }).sort()).toEqual(['Sunset own', 'Sunset two'])
    expect(search({}).total).toBe(2)
    expect(db.query('SELECT name, videos FROM uploaders ORDER BY name').all()).toEqual([
      { name: 'Own Uploader', videos: 1 },
      { name: 'Shared Uploader', videos: 1 },
    ])
    expect(rows.removeAllOf(FRIEND.fingerprint)).toBe(1)
    expect(names({ search: 'sunset' })).toEqual(['Sunset own'])
    expect(search({})).toMatchObject({ total: 1 })
    expect(search({ scope: 'local' })).toMatchObject({ total: 1 })
    expect(db.query('SELECT name FROM uploaders').all()).toEqual([{ name: 'Own Uploader' }])
    checkIndex()
  })

  test("the index's sample (every 64th video) follows edits and removals", () => {
    const terms = () => (db.query('SELECT term FROM videos_sample_terms ORDER BY term').all() as { term: string }[]).map((r) => r.term)
    let sampled: Video | undefined
    for (let i = 1; i <= 64; i++) sampled = add({ name: i === 64 ? 'Sampled title' : 'Other', description: i === 64 ? 'first' : '', uploader: 'Jo' })
    expect(terms()).toEqual(['first', 'jo', 'sampled', 'title'])
    expect(rows.upsert({ ...sampled!, description: 'second' }, FRIEND.url, Date.now())).toBe(true)
    expect(terms()).toEqual(['jo', 'sampled', 'second', 'title'])
    checkIndex()
    expect(rows.remove(sampled!.id, FRIEND.fingerprint)).toBe(true)
    expect(terms()).toEqual([])
    checkIndex()
  })

  test('a video reads back as it was sent (uploader name, pod, web seed extension, dates)', () => {
    const mp4 = add({ name: 'In mp4', uploader: 'Ana' })
    const urls = videoUrls(FRIEND.url, 'w1', 'f'.repeat(40), 'webm', 'In webm')
    const webm: Video = { ...mp4, id: 'w1', name: 'In webm', magnetUri: urls.magnetUri, torrentUrl: urls.torrentUrl, webseedUrls: [urls.webseed] }
    expect(rows.upsert(webm, FRIEND.url, Date.now())).toBe(true)
    const byId = new Map(search({}).data.map((v) => [v.id, v]))
    expect(byId.get(mp4.id)).toMatchObject({ uploader: 'Ana', podUrl: FRIEND.url, podFingerprint: FRIEND.fingerprint, webseedUrls: mp4.webseedUrls, createdAt: mp4.createdAt })
    expect(byId.get('w1')!.webseedUrls).toEqual([`${FRIEND.url}/static/webseed/w1.webm`])
  })

  test('a video added outside a transaction and inside one are both indexed', () => {
    add({ name: 'Alone' })
    db.transaction(() => {
      add({ name: 'Together one' })
      add({ name: 'Together two' })
    })()
    expect(names({ search: 'together' }).sort()).toEqual(['Together one', 'Together two'])
    expect(names({ search: 'alone' })).toEqual(['Alone'])
    checkIndex()
  })
})
