/**
 * Listing and searching the network index. Search is FTS5 over name, description and
 * uploader: every word must match, the last one as a prefix (results as you type).
 *
 * The work per query is bounded, so that a million-video index answers within milliseconds
 * (test/bench/index.ts). FTS5 reads lazily what it can: the videos of a word, newest first,
 * as far as a page and a capped count need. What it would read in full, it is not asked for:
 * - a query matching more than `rank` videos is not ranked by relevance or sorted by name
 *   (that would score or sort every match) but walked newest-first, cut at the page;
 * - its total is counted up to `count` matches only;
 * - how many videos a word is in is known in advance, from the index's sample (src/shared/db.ts). A
 *   word in more than `weigh` videos is left out of relevance, for which bm25 would first
 *   count them all; a typed prefix covering more than `prefix` videos stands for its
 *   `prefixWords` most common completions and itself, instead of FTS5 merging the lists of
 *   all its completions;
 * - listings without search take their total from the per-pod counts the index keeps, and
 *   by name sort at most `rank` videos;
 * - a search of this pod's own videos (scope=local) is an AND with the pod's token in the FTS
 *   index (src/shared/db.ts), not a filter over every match of the network.
 * Whenever a bound cut the search short, `totalIsLowerBound` says so.
 */
import type { Database } from 'bun:sqlite'
import { t } from 'elysia'
import { INDEX_SAMPLE_EVERY } from '../shared/db'
import { gramTerms, hasGrams, hasOthers, MARKS } from './grams'
import { videoOfRow, type Video, type VideoRow } from './model'
import { podMatch, VIDEO_COLUMNS } from './store'

const SORTS = ['-createdAt', 'createdAt', 'name', '-name', 'relevance'] as const

/**
 * Query string of `GET /api/v1/videos`. Unions of literals, not t.UnionEnum: Elysia fills an
 * absent optional UnionEnum with its first value, which made every search `scope=local`
 * sorted by date.
 */
export const VideoQuery = t.Object({
  search: t.Optional(t.String({ maxLength: 200 })),
  // Whole numbers: SQLite refuses a fractional LIMIT or OFFSET ("datatype mismatch", a 500).
  start: t.Optional(t.Numeric({ minimum: 0, maximum: 1_000_000, multipleOf: 1 })),
  count: t.Optional(t.Numeric({ minimum: 1, maximum: 100, multipleOf: 1 })),
  sort: t.Optional(t.Union(SORTS.map((s) => t.Literal(s)))),
  scope: t.Optional(t.Union([t.Literal('local'), t.Literal('network')])),
})
export type VideoQuery = typeof VideoQuery.static

/** A page of results. */
export interface VideoPage {
  total: number
  /** True when the search was cut short (see the module's comment): there are at least `total`. */
  totalIsLowerBound: boolean
  data: Video[]
}

/** How much work one search may do. */
export interface SearchLimits {
  /**
   * Most matches ranked by relevance or sorted by name. bm25 over detail=none re-reads and
   * re-tokenizes the text of each match: some 15 µs each on the bench machine.
   */
  rank: number
  /** Most matches counted for `total`. */
  count: number
  /** Most videos (estimated) of a word weighed in relevance: bm25 first counts them all, some 0.03 µs each. */
  weigh: number
  /**
   * Most videos (estimated) a typed prefix may cover and be expanded in full: FTS5 merges the
   * lists of its completions at some 0.2 µs a video, for the count, the page and relevance.
   */
  prefix: number
  /** How many of a wider prefix's most common completions stand for it. */
  prefixWords: number
}

/** The limits searchVideos uses unless told otherwise (tests pass smaller ones). */
export const SEARCH_LIMITS: Readonly<SearchLimits> = { rank: 500, count: 10_000, weigh: 100_000, prefix: 10_000, prefixWords: 8 }

/**
 * A word: letters and digits (JavaScript's Unicode tables), less the few that SQLite's
 * unicode61 tokenizer takes for separators (its older tables had them as marks).
 * test/unit/search.test.ts checks every code point, so a Bun or SQLite that disagrees elsewhere
 * fails there rather than in production.
 */
const WORD = /[[\p{L}\p{N}]--[\u19B0-\u19C0\u19C8\u19C9\u1CF2\u1CF3]]+/gv

/** A letter or digit of a word, or a mark between Thai letters (grams.ts drops those). */
const RUN_CHAR = `[[${WORD.source.slice(0, -1)}]${MARKS}]`
/** A run of them, cut into words below. */
const RUN = new RegExp(`${RUN_CHAR}+`, 'gv')
const ENDS_IN_WORD = new RegExp(`${RUN_CHAR}$`, 'v')

/** One term of a search: a word, or one of the pairs or parts of a word of those scripts (grams.ts). */
interface Term {
  term: string
  prefix: boolean
}

/**
 * The terms of what a user typed, the last word a prefix if not followed by a space. Words are
 * runs of letters and digits that the unicode61 tokenizer keeps whole: a quoted word that split
 * into two tokens would be a phrase, which detail=none refuses with an error. A word of the
 * scripts written without spaces (Chinese, Japanese, Korean, Thai) is its pairs of characters
 * instead (src/videos/grams.ts), and itself if it has other letters, all required. Case and
 * diacritics are left to the tokenizer, which folds them as it did when indexing; lowercasing
 * here could split a word ("İ" lowercases to "i" and a combining dot).
 */
function parseSearch(text: string): Term[] | undefined {
  const normalized = text.normalize('NFC')
  const words = (normalized.match(RUN) ?? []).flatMap((run) => (hasGrams(run) ? [run] : (run.match(WORD) ?? [])))
  const prefix = ENDS_IN_WORD.test(normalized)
  const terms = words.flatMap((word, i): Term[] => {
    const last = prefix && i === words.length - 1
    if (!hasGrams(word)) return [{ term: word, prefix: last }]
    const grams = gramTerms(word).map((g) => ({ term: g.term, prefix: g.single }))
    // Other letters in it ("東京tower"): the word as the name's column holds it, too.
    const whole = hasOthers(word) ? (word.match(WORD) ?? []) : []
    return [...grams, ...whole.map((w, j) => ({ term: w, prefix: last && j === whole.length - 1 }))]
  })
  return terms.length ? terms : undefined
}

/**
 * Turns what a user typed into an FTS5 query: each term quoted (no operator injection), all
 * required, the last word a prefix unless the text ends with a space. Undefined if no words.
 */
export function ftsQuery(text: string): string | undefined {
  return parseSearch(text)
    ?.map((t) => `"${t.term}"${t.prefix ? '*' : ''}`)
    .join(' AND ')
}

/**
 * A word as the tokenizer indexes it, near enough to look it up in the sample's vocabulary:
 * lowercase, without diacritics. Where it differs from unicode61, the word is taken for a
 * rare one (weighed in relevance, expanded in full as a prefix): slower, never wrong.
 */
function folded(word: string): string {
  return word.toLowerCase().normalize('NFD').replace(/\p{M}/gu, '')
}

/**
 * One word of a search as an FTS5 query, and whether relevance weighs it, by its number of
 * videos estimated from the index's sample. A prefix that covers too many stands for its most
 * common completions and itself (`approximate`).
 */
function wordQuery(db: Database, word: string, prefix: boolean, limits: SearchLimits): { query: string; weighed: boolean; approximate: boolean } {
  // Pairs as they are: NFD would take Hangul syllables apart, which the tokenizer keeps whole.
  const lo = hasGrams(word) ? word.toLowerCase() : folded(word)
  // Every term starting with `lo` sorts below `lo` followed by the last code point.
  const terms = (
    prefix
      ? db.query('SELECT term, doc FROM videos_sample_terms WHERE term >= $lo AND term < $hi ORDER BY doc DESC').all({ lo, hi: `${lo}\u{10FFFF}` })
      : db.query('SELECT term, doc FROM videos_sample_terms WHERE term = $lo').all({ lo })
  ) as { term: string; doc: number }[]
  const videos = terms.reduce((n, t) => n + t.doc, 0) * INDEX_SAMPLE_EVERY
  if (!prefix) return { query: `"${word}"`, weighed: videos <= limits.weigh, approximate: false }
  if (videos <= limits.prefix) return { query: `"${word}"*`, weighed: true, approximate: false }
  const words = new Set([lo, ...terms.slice(0, limits.prefixWords).map((t) => t.term)])
  return { query: `(${[...words].map((w) => `"${w}"`).join(' OR ')})`, weighed: false, approximate: true }
}

const ORDER: Record<(typeof SORTS)[number], string> = {
  // The order of the videos_created index (ties, if any, by pod then seq).
  '-createdAt': 'v.created_at DESC, v.pod DESC, v.seq DESC',
  createdAt: 'v.created_at ASC, v.pod ASC, v.seq ASC',
  name: 'v.name COLLATE NOCASE ASC, v.seq ASC',
  '-name': 'v.name COLLATE NOCASE DESC, v.seq DESC',
  relevance: 'h.rank, v.seq DESC',
}

/**
 * Lists or searches the index. `ownPod` is this pod's fingerprint (for `scope=local`),
 * `baseUrl` this pod's URL (it serves the thumbnails).
 */
export function searchVideos(db: Database, q: VideoQuery, ownPod: string, baseUrl: string, limits: SearchLimits = SEARCH_LIMITS): VideoPage {
  const start = q.start ?? 0
  const count = q.count ?? 20
  const parsed = q.search ? parseSearch(q.search) : undefined
  let pod: { id: number; videos: number } | undefined
  if (q.scope === 'local') {
    pod = (db.query('SELECT id, videos FROM pods WHERE fingerprint = ?').get(ownPod) as { id: number; videos: number } | null) ?? undefined
    if (!pod) return { total: 0, totalIsLowerBound: false, data: [] }
  }
  // bun:sqlite in strict mode: parameter keys without the `$` of the SQL names.
  const page = { limit: count, offset: start }
  const rowsOf = (sql: string, params: Record<string, string | number>) => (db.query(sql).all({ ...params, ...page }) as VideoRow[]).map((r) => videoOfRow(r, baseUrl))

  if (!parsed) {
    const total = pod ? pod.videos : (db.query('SELECT coalesce(sum(videos), 0) AS n FROM pods').get() as { n: number }).n
    let sort = q.sort === 'relevance' || !q.sort ? '-createdAt' : q.sort
    // By name, at most `rank` videos (an index of names would cost a tenth of the index).
    if ((sort === 'name' || sort === '-name') && total > limits.rank) sort = '-createdAt'
    let where = ''
    let params: Record<string, string | number> = {}
    if (pod && pod.videos <= limits.rank) {
      // A few videos: found by the pod's token, then sorted.
      where = 'WHERE v.seq IN (SELECT rowid FROM videos_fts WHERE videos_fts MATCH $pod)'
      params = { pod: podMatch(pod.id) }
    } else if (pod) {
      // Many: the latest videos index walked in order, its entries filtered by pod without
      // reading rows; some total / videos entries for each one listed.
      where = 'WHERE v.pod = $pod'
      params = { pod: pod.id }
    }
    const data = rowsOf(`SELECT ${VIDEO_COLUMNS} FROM videos v JOIN pods p ON p.id = v.pod ${where} ORDER BY ${ORDER[sort]} LIMIT $limit OFFSET $offset`, params)
    return { total, totalIsLowerBound: false, data }
  }

  const words = parsed.map((t) => wordQuery(db, t.term, t.prefix, limits))
  const approximate = words.some((w) => w.approximate)
  const match = [...words.map((w) => w.query), ...(pod ? [podMatch(pod.id)] : [])].join(' AND ')
  // The newest matches, up to one more than can be ranked: all of them for a search to rank
  // or sort, the first pages of one walked newest first. Every row of the FTS index has its
  // video (upsertVideo and the triggers keep them in step), so no row is read to find them.
  const newest = (db.query('SELECT rowid FROM videos_fts WHERE videos_fts MATCH $match ORDER BY rowid DESC LIMIT $n').values({ match, n: limits.rank + 1 }) as [number][]).map(
    (r) => r[0],
  )
  let total = newest.length
  let capped = false
  if (total > limits.rank) {
    total = (db.query('SELECT count(*) AS n FROM (SELECT 1 FROM videos_fts WHERE videos_fts MATCH $match LIMIT $cap)').get({ match, cap: limits.count + 1 }) as { n: number }).n
    capped = total > limits.count
    if (capped) total = limits.count
  }
  // Relevance weighs the words that are not too common (and not the pod's token).
  const weighed = words.filter((w) => w.weighed).map((w) => w.query)
  const sort = q.sort ?? 'relevance'
  const ids = JSON.stringify(newest)
  // The page's rows are chosen first (h), and only those are read in full.
  let hits: string
  let order: string
  let params: Record<string, string> = { ids }
  if (total > limits.rank || (sort === 'relevance' && !weighed.length)) {
    // Too many matches to rank or sort (or no word to rank by): newest-indexed first.
    order = 'v.seq DESC'
    if (start + count <= newest.length) {
      hits = 'SELECT value AS seq FROM json_each($ids) LIMIT $limit OFFSET $offset'
    } else {
      hits = 'SELECT rowid AS seq FROM videos_fts WHERE videos_fts MATCH $match ORDER BY rowid DESC LIMIT $limit OFFSET $offset'
      params = { match }
    }
  } else if (sort === 'relevance') {
    // bm25 over the matches found above: "+rowid" keeps FTS5 from taking them for rowids to
    // look up, one full query each.
    order = ORDER.relevance
    hits = `SELECT rowid AS seq, rank FROM videos_fts WHERE videos_fts MATCH $weighed AND +rowid IN (SELECT value FROM json_each($ids))
            ORDER BY rank, rowid DESC LIMIT $limit OFFSET $offset`
    params = { ids, weighed: weighed.join(' AND ') }
  } else {
    order = ORDER[sort]
    hits = `SELECT v.seq FROM videos v WHERE v.seq IN (SELECT value FROM json_each($ids)) ORDER BY ${order} LIMIT $limit OFFSET $offset`
  }
  const data = rowsOf(`SELECT ${VIDEO_COLUMNS} FROM (${hits}) h JOIN videos v ON v.seq = h.seq JOIN pods p ON p.id = v.pod ORDER BY ${order}`, params)
  return { total, totalIsLowerBound: capped || approximate, data }
}
