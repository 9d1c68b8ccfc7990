/**
 * Listing and searching the network index. Search is FTS5 over name, description and
 * uploader: every word must match, the last one as a prefix (results as you type).
 *
 * Ranking is bounded: a query matching more than RANK_LIMIT videos (a very common word in a
 * million-video index) is not ranked by relevance, which would score every match, but walked
 * newest-first through the FTS index and cut at the page; and its total is counted up to
 * COUNT_LIMIT only (`totalIsLowerBound`).
 */
import type { Database } from 'bun:sqlite'
import { t } from 'elysia'
import { VIDEO_COLUMNS, videoOfRow, type Video, type VideoRow } from './model'

export const SORTS = ['-createdAt', 'createdAt', 'name', '-name', 'relevance'] as const

/** Query string of `GET /api/v1/videos`. */
export const VideoQuery = t.Object({
  search: t.Optional(t.String({ maxLength: 200 })),
  start: t.Optional(t.Numeric({ minimum: 0, maximum: 1_000_000 })),
  count: t.Optional(t.Numeric({ minimum: 1, maximum: 100 })),
  // Unions of literals, not t.UnionEnum: Elysia fills a missing UnionEnum with its first value,
  // which would turn "no sort given" into a sort and "no scope" into scope=local.
  sort: t.Optional(t.Union(SORTS.map((s) => t.Literal(s)))),
  scope: t.Optional(t.Union([t.Literal('local'), t.Literal('network')])),
})
export type VideoQuery = typeof VideoQuery.static

/** A page of results. */
export interface VideoPage {
  total: number
  /** True when `total` was capped: there are at least that many. */
  totalIsLowerBound: boolean
  data: Video[]
}

const RANK_LIMIT = 2000
const COUNT_LIMIT = 10_000

/**
 * Turns what a user typed into an FTS5 query: each word quoted (no operator injection), all
 * required, the last one a prefix unless the text ends with a space. Undefined if no words.
 */
export function ftsQuery(text: string): string | undefined {
  const words = text.toLowerCase().match(/[\p{L}\p{N}]+/gu)
  if (!words?.length) return undefined
  const last = /[\p{L}\p{N}]$/u.test(text)
  return words.map((w, i) => `"${w}"${i === words.length - 1 && last ? '*' : ''}`).join(' AND ')
}

const ORDER: Record<(typeof SORTS)[number], string> = {
  '-createdAt': 'v.created_at DESC, v.seq DESC',
  createdAt: 'v.created_at ASC, v.seq ASC',
  name: 'v.name COLLATE NOCASE ASC, v.seq ASC',
  '-name': 'v.name COLLATE NOCASE DESC, v.seq DESC',
  relevance: 'f.rank, v.seq DESC',
}

/** Lists or searches the index. `ownPod` is this pod's fingerprint (for `scope=local`). */
export function searchVideos(db: Database, q: VideoQuery, ownPod: string, baseUrl: string): VideoPage {
  const start = q.start ?? 0
  const count = q.count ?? 20
  const local = q.scope === 'local'
  const match = q.search ? ftsQuery(q.search) : undefined
  const podFilter = local ? 'AND v.pod = (SELECT id FROM pods WHERE fingerprint = $own)' : ''
  // bun:sqlite in strict mode: keys without the `$` of the SQL names.
  const scope: Record<string, string | number> = local ? { own: ownPod } : {}
  let rows: VideoRow[]
  let total: number
  let capped = false

  if (!match) {
    total = (db.query(`SELECT count(*) AS n FROM videos v WHERE 1 ${podFilter}`).get(scope) as { n: number }).n
    const order = ORDER[q.sort === 'relevance' || !q.sort ? '-createdAt' : q.sort]
    rows = db.query(`SELECT ${VIDEO_COLUMNS} FROM videos v JOIN pods p ON p.id = v.pod WHERE 1 ${podFilter} ORDER BY ${order} LIMIT $limit OFFSET $offset`).all({ ...scope, limit: count, offset: start }) as VideoRow[]
  } else {
    total = (
      db
        .query(`SELECT count(*) AS n FROM (SELECT 1 FROM videos_fts f JOIN videos v ON v.seq = f.rowid WHERE videos_fts MATCH $match ${podFilter} LIMIT $cap)`)
        .get({ ...scope, match, cap: COUNT_LIMIT + 1 }) as { n: number }
    ).n
    if (total > COUNT_LIMIT) {
      total = COUNT_LIMIT
      capped = true
    }
    const sort = q.sort ?? 'relevance'
    // Too many matches to rank or sort: newest-indexed first, straight off the FTS index.
    const order = total > RANK_LIMIT ? 'f.rowid DESC' : ORDER[sort]
    rows = db
      .query(`SELECT ${VIDEO_COLUMNS} FROM videos_fts f JOIN videos v ON v.seq = f.rowid JOIN pods p ON p.id = v.pod WHERE videos_fts MATCH $match ${podFilter} ORDER BY ${order} LIMIT $limit OFFSET $offset`)
      .all({ ...scope, match, limit: count, offset: start }) as VideoRow[]
  }
  return { total, totalIsLowerBound: capped, data: rows.map((r) => videoOfRow(r, baseUrl)) }
}
