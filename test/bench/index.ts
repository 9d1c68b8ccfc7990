/**
 * Benchmark: the network index at the size of the "videos" issue. One million synthetic
 * videos with the 2015 design's sizes (name 50, uploader 50, pod URL 25, description 250
 * characters) go into a fresh database (the real `openDatabase`) through the real write path
 * (`VideoStore.upsert`, 10k videos per transaction, as a friend's video list arrives). Then:
 *
 * - database size, after a `wal_checkpoint(TRUNCATE)` (the -wal file counted too), with the
 *   share of each table and index (dbstat) so a regression points at its cause;
 * - ingest rate (only the transactions are timed, not the making of the videos);
 * - latency p50/p99 of the real `searchVideos` (first page of 20) for 200 different queries of
 *   each kind: a rare word, a very common word, a 3-letter prefix and a longer one (the start
 *   of a word, as typed), two words, a word with just under the ranking limit of matches (the
 *   most ranking work), a common word with scope=local, and no search (the latest page). As
 *   typed in the search box, the last word of each is a prefix.
 *
 * Texts are words drawn from a 100k-word vocabulary with a Zipf distribution (s = 1), like
 * natural language: a few words appear in most videos, most words in a few. The generator is
 * seeded, so two runs index the same videos and compare.
 *
 * Goals (from the issue): database <= 0.5 GB (the 2015 test took about 1 GB in MongoDB, and
 * PeerTube's PostgreSQL about 2 GB), search p99 <= 20 ms. GB here is 10^9 bytes.
 *
 * `bun test/bench/index.ts` or `npm run bench index` runs it (`BENCH_VIDEOS=100000` for a quick
 * run), in under two minutes on the 2-core bench machine; the database goes with it.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { availableParallelism, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Database } from 'bun:sqlite'
import { openDatabase } from '../../src/shared/db'
import { videoUrls, type Video } from '../../src/videos/model'
import { VideoStore } from '../../src/videos/store'
import { SEARCH_LIMITS, searchVideos, type VideoQuery } from '../../src/videos/search'

const VIDEOS = Number(process.env.BENCH_VIDEOS ?? 1_000_000)
const BATCH = 10_000
const VOCABULARY = 100_000
const UPLOADERS = 5_000
const PODS = 50
const QUERIES = 200
const WARMUP = 20
const PAGE = 20
const SIZE_GOAL_GB = 0.5
const P99_GOAL_MS = 20

/** mulberry32: small, fast and seeded, so every run indexes the same videos. */
function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const random = prng(2015)
const int = (n: number) => Math.floor(random() * n)

/**
 * Draws ranks 0..n-1 with probability proportional to 1 / (rank + 1)^s, in constant time
 * (Walker's alias method): a million videos take some fifty million draws.
 */
function zipf(n: number, s: number): () => number {
  const p = new Float64Array(n)
  let sum = 0
  for (let i = 0; i < n; i++) sum += p[i] = 1 / Math.pow(i + 1, s)
  const prob = new Float64Array(n)
  const alias = new Int32Array(n)
  const small: number[] = []
  const large: number[] = []
  for (let i = 0; i < n; i++) {
    p[i] = (p[i]! * n) / sum
    ;(p[i]! < 1 ? small : large).push(i)
  }
  while (small.length && large.length) {
    const l = small.pop()!
    const g = large.pop()!
    prob[l] = p[l]!
    alias[l] = g
    p[g] = p[g]! + p[l]! - 1
    ;(p[g]! < 1 ? small : large).push(g)
  }
  for (const i of [...small, ...large]) prob[i] = 1
  return () => {
    const i = Math.floor(random() * n)
    return random() < prob[i]! ? i : alias[i]!
  }
}

/**
 * Pronounceable made-up words, unique, shorter for the frequent ranks (as in real languages):
 * many share their first letters, so a 3-letter prefix matches a family of words.
 */
function makeVocabulary(n: number): string[] {
  const onsets = ['b', 'c', 'd', 'f', 'g', 'h', 'j', 'k', 'l', 'm', 'n', 'p', 'r', 's', 't', 'v', 'w', 'z', 'br', 'ch', 'cl', 'dr', 'gr', 'pl', 'sh', 'st', 'tr', 'th']
  const vowels = ['a', 'e', 'i', 'o', 'u', 'a', 'e', 'o', 'ai', 'ou', 'ee']
  const codas = ['', '', '', 'n', 'r', 's', 't', 'l', 'm', 'ck', 'nd', 'st']
  const seen = new Set<string>()
  const words: string[] = []
  while (words.length < n) {
    const target = Math.min(12, 2 + Math.floor(Math.log10(words.length + 10) * 1.6) + int(3))
    let w = ''
    while (w.length < target) w += onsets[int(onsets.length)]! + vowels[int(vowels.length)]! + (random() < 0.4 ? codas[int(codas.length)]! : '')
    w = w.slice(0, Math.max(target, 2))
    if (!seen.has(w)) {
      seen.add(w)
      words.push(w)
    }
  }
  return words
}

const words = makeVocabulary(VOCABULARY)
const wordRank = new Map(words.map((w, i) => [w, i]))
const drawWord = zipf(VOCABULARY, 1)
/** The most frequent word of each length, to close a text at its exact size. */
const fillers = new Map<number, string>()
for (const w of words) if (!fillers.has(w.length)) fillers.set(w.length, w)

/**
 * Docs containing each word, counted while generating (a word twice in one video counts once),
 * to pick query words of a known frequency.
 */
const docFrequency = new Uint32Array(VOCABULARY)
const lastDoc = new Int32Array(VOCABULARY).fill(-1)

/** Words until exactly `length` characters; every word drawn is counted for `doc` (-1: not a video's). */
function text(length: number, doc: number, capitalize: boolean): string {
  let out = ''
  for (;;) {
    const rank = drawWord()
    let w = words[rank]!
    const room = length - out.length - (out ? 1 : 0)
    if (w.length > room) {
      // Close at the exact size with a word that fits (or a digit or a full stop).
      if (room >= 2) {
        w = fillers.get(room) ?? String(int(10 ** Math.min(room, 9))).padStart(room, '0')
        const r = wordRank.get(w)
        if (r !== undefined) count(r, doc)
        out += (out ? ' ' : '') + w
      } else if (room === 1 && out) out += ' '
      else if (room >= 0 && out.length < length) out += '.'.repeat(length - out.length)
      return out.padEnd(length, '.')
    }
    count(rank, doc)
    if (capitalize && random() < 0.3) w = w[0]!.toUpperCase() + w.slice(1)
    out += (out ? ' ' : '') + w
  }
}

function count(rank: number, doc: number): void {
  if (doc < 0 || lastDoc[rank] === doc) return
  lastDoc[rank] = doc
  docFrequency[rank]!++
}

const b64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
const hex = '0123456789abcdef'
const chars = (alphabet: string, n: number) => {
  let s = ''
  for (let i = 0; i < n; i++) s += alphabet[int(alphabet.length)]
  return s
}

/** 50 pods with 25-character URLs and SHA-256 JWK thumbprints (43 base64url characters). */
const pods = Array.from({ length: PODS }, (_, i) => ({
  url: `https://pod${String(i).padStart(2, '0')}.example.org`,
  fingerprint: chars(b64, 43),
}))
/** Channels: 50-character names, each on one pod; a few upload most (Zipf). */
const uploaders = Array.from({ length: UPLOADERS }, (_, i) => ({ name: text(50, -1, true), pod: pods[i % PODS]! }))
const drawUploader = zipf(UPLOADERS, 0.8)
const EPOCH = Date.parse('2015-01-01T00:00:00Z')

/** Video number `i`, as a friend would send it; created about a minute after video i-1, give or take a day. */
function makeVideo(i: number): { video: Video; podUrl: string } {
  const up = uploaders[drawUploader()]!
  const id = chars(b64, 11)
  const infoHash = chars(hex, 40)
  const name = text(50, i, true)
  const description = text(250, i, false)
  // Words of the uploader's name find the video too: count them for this video.
  for (const w of up.name.toLowerCase().split(/[^a-z]+/)) {
    const r = wordRank.get(w)
    if (r !== undefined) count(r, i)
  }
  const urls = videoUrls(up.pod.url, id, infoHash, 'mp4', name)
  const created = EPOCH + i * 60_000 + int(86_400_000) - 43_200_000
  return {
    podUrl: up.pod.url,
    video: {
      id,
      name,
      description,
      uploader: up.name,
      podUrl: up.pod.url,
      podFingerprint: up.pod.fingerprint,
      magnetUri: urls.magnetUri,
      torrentUrl: urls.torrentUrl,
      webseedUrls: [urls.webseed],
      duration: 10 + int(3600),
      size: 1_000_000 + int(2_000_000_000),
      createdAt: new Date(created).toISOString(),
    },
  }
}

/** p-th percentile (0..1) of sorted values, nearest rank. */
function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!
}

/**
 * Runs every query (after a few warm-up ones): p50/p99 in ms of wall time and of this
 * process's CPU time (which other load on the machine inflates much less), the mean total found.
 */
function measure(db: Database, queries: VideoQuery[], ownPod: string): { p50: number; p99: number; max: number; cpu99: number; found: number; capped: number } {
  for (const q of queries.slice(0, WARMUP)) searchVideos(db, { count: PAGE, ...q }, ownPod, 'https://bench.example.org')
  const times: number[] = []
  const cpu: number[] = []
  let found = 0
  let capped = 0
  for (const q of queries) {
    const c0 = process.cpuUsage()
    const t0 = performance.now()
    const page = searchVideos(db, { count: PAGE, ...q }, ownPod, 'https://bench.example.org')
    times.push(performance.now() - t0)
    const c = process.cpuUsage(c0)
    cpu.push((c.user + c.system) / 1000)
    if (page.data.length === 0 && page.total > 0 && (q.start ?? 0) === 0) throw new Error(`no page for ${JSON.stringify(q)} (total ${page.total})`)
    found += page.total
    if (page.totalIsLowerBound) capped++
  }
  times.sort((a, b) => a - b)
  cpu.sort((a, b) => a - b)
  return { p50: percentile(times, 0.5), p99: percentile(times, 0.99), max: times[times.length - 1]!, cpu99: percentile(cpu, 0.99), found: found / queries.length, capped }
}

/** `n` query words whose document frequency is within [min, max], spread over the band; repeats them if the band is smaller. */
function band(min: number, max: number, n: number): string[] {
  const ranks: number[] = []
  for (let r = 0; r < VOCABULARY; r++) if (docFrequency[r]! >= min && docFrequency[r]! <= max && words[r]!.length >= 3) ranks.push(r)
  if (!ranks.length) throw new Error(`no word with ${min}..${max} videos`)
  const step = Math.max(1, ranks.length / n)
  return Array.from({ length: n }, (_, i) => words[ranks[Math.floor(i * step) % ranks.length]!]!)
}

/** Size of each table and index (with its FTS5 shadow tables grouped), biggest first. */
function breakdown(db: Database): string {
  const rows = db.query("SELECT name, sum(pgsize) AS bytes FROM dbstat GROUP BY name ORDER BY bytes DESC").all() as { name: string; bytes: number }[]
  const groups = new Map<string, number>()
  for (const r of rows) {
    const name = r.name.startsWith('videos_fts') ? 'videos_fts' : r.name.startsWith('videos_sample') ? 'videos_sample' : r.name.startsWith('sqlite_autoindex_videos') ? 'videos(id)' : r.name
    groups.set(name, (groups.get(name) ?? 0) + r.bytes)
  }
  return [...groups]
    .sort((a, b) => b[1] - a[1])
    .filter(([, b]) => b > 1e6)
    .map(([n, b]) => `${n} ${(b / 1e6).toFixed(0)} MB`)
    .join(', ')
}

/** The benchmark; prints one summary line and the details above it. */
export async function run(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'seedpod-bench-index-'))
  const path = join(dir, 'seedpod.db')
  const db = openDatabase(path)
  const rows = new VideoStore(db)
  try {
    // Ingest: make a batch (untimed), then upsert it in one transaction (timed).
    let ingestMs = 0
    const insertBatch = db.transaction((batch: { video: Video; podUrl: string }[], now: number) => {
      for (const { video, podUrl } of batch) rows.upsert(video, podUrl, now)
    })
    const started = performance.now()
    for (let i = 0; i < VIDEOS; i += BATCH) {
      const batch = Array.from({ length: Math.min(BATCH, VIDEOS - i) }, (_, j) => makeVideo(i + j))
      const t0 = performance.now()
      insertBatch(batch, Date.now())
      ingestMs += performance.now() - t0
    }
    const totalS = (performance.now() - started) / 1000
    const rate = VIDEOS / (ingestMs / 1000)
    console.log(`index: ingested ${VIDEOS} videos in ${(ingestMs / 1000).toFixed(1)} s of transactions (${totalS.toFixed(1)} s with generation)`)

    db.exec('PRAGMA wal_checkpoint(TRUNCATE)')
    const fileSize = (p: string) => {
      try {
        return statSync(p).size
      } catch {
        return 0
      }
    }
    const bytes = fileSize(path) + fileSize(`${path}-wal`)
    const gb = bytes / 1e9
    console.log(`index: db ${(bytes / 1e6).toFixed(0)} MB: ${breakdown(db)}`)

    // Query words by frequency band (in videos containing them).
    const ownPod = pods[0]!.fingerprint
    const rare = band(5, 50, QUERIES)
    const common = band(VIDEOS * 0.05, Infinity, QUERIES)
    const medium = band(VIDEOS * 0.005, VIDEOS * 0.05, QUERIES * 2)
    // Just under the ranking limit: the most ranking work a search does.
    const ranked = band(SEARCH_LIMITS.rank * 0.6, SEARCH_LIMITS.rank * 0.95, QUERIES)
    // Prefixes as typed: the first 3 letters of words drawn by frequency, 200 different ones.
    const prefixes = new Set<string>()
    const longPrefixes = new Set<string>()
    for (let tries = 0; (prefixes.size < QUERIES || longPrefixes.size < QUERIES) && tries < 1_000_000; tries++) {
      const w = words[drawWord()]!
      if (w.length >= 4 && prefixes.size < QUERIES) prefixes.add(w.slice(0, 3))
      // 4 letters or more, short of the whole word: the start of a common word, as it is typed.
      if (w.length >= 5 && longPrefixes.size < QUERIES) longPrefixes.add(w.slice(0, 4 + int(w.length - 4)))
    }
    const sets: [string, VideoQuery[]][] = [
      ['rare', rare.map((w) => ({ search: w }))],
      ['common', common.map((w) => ({ search: w }))],
      ['prefix', [...prefixes].map((p) => ({ search: p }))],
      ['long prefix', [...longPrefixes].map((p) => ({ search: p }))],
      ['two words', Array.from({ length: QUERIES }, (_, i) => ({ search: `${medium[2 * i]} ${medium[2 * i + 1]}` }))],
      ['ranked', ranked.map((w) => ({ search: w }))],
      ['common local', common.map((w) => ({ search: w, scope: 'local' as const }))],
      ['latest', Array.from({ length: QUERIES }, () => ({}))],
    ]
    // Other work on the machine shows in wall times (not much in CPU times): say how much.
    const load = loadavg()[0]!
    console.log(`index: searching with a load average of ${load.toFixed(1)} on ${availableParallelism()} cores`)
    const results: string[] = []
    let worst = 0
    let worstCpu = 0
    for (const [label, queries] of sets) {
      const m = measure(db, queries, ownPod)
      worst = Math.max(worst, m.p99)
      worstCpu = Math.max(worstCpu, m.cpu99)
      console.log(
        `index: search ${label.padEnd(12)} p50 ${m.p50.toFixed(2)} ms, p99 ${m.p99.toFixed(2)} ms, max ${m.max.toFixed(2)} ms, cpu p99 ${m.cpu99.toFixed(2)} ms ` +
          `(mean total ${m.found.toFixed(0)}, ${m.capped}/${queries.length} lower bounds)`,
      )
      results.push(`${label} p50 ${m.p50.toFixed(1)} ms p99 ${m.p99.toFixed(1)} ms`)
    }
    // Wall times are the goal; when only CPU times meet it, the machine was busy with other work.
    const verdict =
      gb > SIZE_GOAL_GB || worstCpu > P99_GOAL_MS ? 'NOT MET' : worst <= P99_GOAL_MS ? 'met' : `met in CPU time; wall times slowed by a load of ${load.toFixed(1)} on ${availableParallelism()} cores`
    console.log(
      `index: ${VIDEOS} videos, db ${gb.toFixed(2)} GB (goal <= ${SIZE_GOAL_GB}), ingest ${rate.toFixed(0)} videos/s, search ${results.join(', ')} ` +
        `(goal p99 <= ${P99_GOAL_MS} ms: ${verdict})`,
    )
  } finally {
    db.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

if (import.meta.main) await run()
