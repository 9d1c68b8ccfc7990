/**
 * A video's details: the longer fields that stay at the origin pod (full description, tags,
 * license, language, view count), while the network index carries only the short fields of
 * PROTOCOL.md's `Video`.
 *
 * - The origin keeps its own videos' details in `video_details` and answers friends'
 *   `video.details` questions (signed and encrypted: they come through the inbox).
 * - A pod asked by its user for a friend's video asks the origin with `Friends.ask` and keeps
 *   the answer in `details_cache` for `detailsTtlSeconds`. When the origin cannot be reached,
 *   the cached copy is served however old, marked stale, with its age.
 * - The full description lives in the details; the index keeps its first `SUMMARY_MAX`
 *   characters (the protocol's "small description"), cut at a word.
 * - Views are counted at the origin: a pod forwards a view of a friend's video through its
 *   durable outbox (`video.viewed`), so views survive the origin being down for a while.
 */
import type { Database } from 'bun:sqlite'
import { Value } from '@sinclair/typebox/value'
import { t } from 'elysia'
import type { User } from '../accounts/service'
import type { Config } from '../shared/config'
import type { Friends } from '../friends/service'
import type { Friend } from '../friends/store'
import { ApiError } from '../shared/errors'
import type { Logger } from '../shared/log'
import { videoRowById, type VideoRow } from '../videos/model'
import type { Videos } from '../videos/service'

/** The index's description is at most this long; the details keep the full text. */
/** Longest description a video may have (its details keep it whole). */
export const DESCRIPTION_MAX = 10_000
export const SUMMARY_MAX = 300
export const TAGS_MAX = 20
export const TAG_MAX = 40
export const LICENSE_MAX = 100
/** Longest language tag accepted (RFC 5646 advises supporting at least 35 characters). */
export const LANGUAGE_MAX = 35
/**
 * Licenses offered by name (matched case-insensitively and stored as written here); any other
 * single-line text up to LICENSE_MAX characters is kept as it is.
 */
export const LICENSES = ['CC-BY-4.0', 'CC-BY-SA-4.0', 'CC-BY-NC-4.0', 'CC-BY-NC-SA-4.0', 'CC-BY-ND-4.0', 'CC-BY-NC-ND-4.0', 'CC0-1.0', 'all-rights-reserved'] as const
/** How long a user's request waits for the origin before the cached copy (or an error) is served. */
export const ORIGIN_TIMEOUT_MS = 5_000

/** The fields a PATCH may set. */
const EDITABLE = ['description', 'tags', 'license', 'language'] as const

/** A video's details as its origin knows them; also the result of `video.details`. */
export const Details = t.Object({
  id: t.String({ minLength: 1, maxLength: 64 }),
  description: t.String({ maxLength: DESCRIPTION_MAX }),
  tags: t.Array(t.String({ minLength: 1, maxLength: TAG_MAX }), { maxItems: TAGS_MAX }),
  license: t.Union([t.String({ minLength: 1, maxLength: LICENSE_MAX }), t.Null()]),
  language: t.Union([t.String({ minLength: 1, maxLength: LANGUAGE_MAX }), t.Null()]),
  views: t.Integer({ minimum: 0 }),
  /** When the uploader last changed them; null if never. */
  updatedAt: t.Union([t.String({ maxLength: 40 }), t.Null()]),
})
export type Details = typeof Details.static

/** What `GET /api/v1/videos/:id/details` answers: the details and where they came from. */
export interface DetailsAnswer extends Details {
  /** `local`: an own video; `origin`: just asked; `cache`: the copy this pod keeps. */
  source: 'local' | 'origin' | 'cache'
  /** When this copy was read at the origin (now for `local` and `origin`). */
  fetchedAt: string
  ageSeconds: number
  /** A cached copy older than `detailsTtlSeconds`, served because the origin did not answer. */
  stale: boolean
}

/** The changes a valid PATCH body asks for (absent: unchanged; null: cleared). */
export interface DetailsEdit {
  description?: string
  tags?: string[]
  license?: string | null
  language?: string | null
}

/**
 * The index's short form of a description: the whole text if it fits in SUMMARY_MAX
 * characters, else its beginning cut at a word (when one ends late enough) and an ellipsis.
 */
export function summarize(description: string): string {
  const text = description.trim()
  if (text.length <= SUMMARY_MAX) return text
  const head = text.slice(0, SUMMARY_MAX - 1)
  const space = head.search(/\s\S*$/)
  return `${(space >= SUMMARY_MAX / 2 ? head.slice(0, space) : head).trimEnd()}…`
}

const bad = (message: string) => new ApiError(400, 'invalid_request', message)

/** A BCP 47 language tag, canonicalized (`pt-br` -> `pt-BR`); throws a 400 otherwise. */
function checkLanguage(value: string): string {
  const tag = value.trim()
  // A 2-3 letter primary language: BCP 47 also allows 5-8 letter ones, but none is registered,
  // and "english" would otherwise pass.
  if (tag.length > LANGUAGE_MAX || !/^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$/.test(tag))
    throw bad(`language: ${JSON.stringify(value)} is not a BCP 47 language tag such as "en" or "pt-BR"`)
  try {
    return Intl.getCanonicalLocales(tag)[0]!
  } catch {
    throw bad(`language: ${JSON.stringify(value)} is not a valid BCP 47 language tag such as "en" or "pt-BR"`)
  }
}

/**
 * Keeps the full text of an own video's description when the index gets only its summary
 * (call inside the transaction that writes the index row).
 */
export function saveFullDescription(db: Database, id: string, description: string, now: number): void {
  db.query(
    `INSERT INTO video_details (video, description, views, updated_at) VALUES (?1, ?2, 0, ?3)
     ON CONFLICT (video) DO UPDATE SET description = ?2, updated_at = ?3`,
  ).run(id, description, now)
}

/**
 * Checks a PATCH body and returns the changes, trimmed and canonical. Any problem is a 400
 * naming the field, and nothing is changed.
 */
export function checkDetailsEdit(body: unknown): DetailsEdit {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw bad(`the body must be a JSON object with any of ${EDITABLE.join(', ')}`)
  const b = body as Record<string, unknown>
  for (const key of Object.keys(b)) {
    if (key === 'views') throw bad('views: counted by the pod (POST /api/v1/videos/:id/views), not set')
    if (!(EDITABLE as readonly string[]).includes(key)) throw bad(`${key}: not a field of a video's details (expected ${EDITABLE.join(', ')})`)
  }
  if (!EDITABLE.some((k) => b[k] !== undefined)) throw bad(`nothing to change: give any of ${EDITABLE.join(', ')}`)
  const out: DetailsEdit = {}
  if (b.description !== undefined) {
    if (typeof b.description !== 'string') throw bad('description: must be text')
    if (b.description.trim().length > DESCRIPTION_MAX) throw bad(`description: at most ${DESCRIPTION_MAX} characters`)
    out.description = b.description.trim()
  }
  if (b.tags !== undefined) {
    if (!Array.isArray(b.tags)) throw bad('tags: must be a list of texts, e.g. ["music", "live"]')
    const tags: string[] = []
    b.tags.forEach((tag, i) => {
      if (typeof tag !== 'string') throw bad(`tags[${i}]: must be text`)
      const clean = tag.trim().replace(/\s+/g, ' ')
      if (!clean) throw bad(`tags[${i}]: empty`)
      if (clean.length > TAG_MAX) throw bad(`tags[${i}]: at most ${TAG_MAX} characters`)
      if (/[\p{Cc},]/u.test(clean)) throw bad(`tags[${i}]: no commas or control characters`)
      // The same tag twice (in any case) is kept once.
      if (!tags.some((t) => t.toLowerCase() === clean.toLowerCase())) tags.push(clean)
    })
    if (tags.length > TAGS_MAX) throw bad(`tags: at most ${TAGS_MAX} tags`)
    out.tags = tags
  }
  if (b.license !== undefined) {
    if (b.license === null || b.license === '') out.license = null
    else {
      if (typeof b.license !== 'string') throw bad(`license: must be text: one of ${LICENSES.join(', ')}, or a short text of your own`)
      const text = b.license.trim()
      if (!text || text.length > LICENSE_MAX) throw bad(`license: 1 to ${LICENSE_MAX} characters (one of ${LICENSES.join(', ')}, or a short text of your own)`)
      if (/\p{Cc}/u.test(text)) throw bad('license: one line of text, without control characters')
      out.license = LICENSES.find((l) => l.toLowerCase() === text.toLowerCase()) ?? text
    }
  }
  if (b.language !== undefined) {
    if (b.language === null || b.language === '') out.language = null
    else if (typeof b.language !== 'string') throw bad('language: must be a BCP 47 language tag such as "en" or "pt-BR"')
    else out.language = checkLanguage(b.language)
  }
  return out
}

interface DetailsRow {
  description: string | null
  tags: string | null
  license: string | null
  language: string | null
  views: number
  updated_at: number | null
}

type Asked = { ok: true; details: Details; fetchedAt: number } | { ok: false; notFound?: boolean; timeout?: boolean; error: string }

/** Details of own videos, the cache of friends' videos, and the `video.details`/`video.viewed` messages. */
export class VideoDetails {
  /** Questions to origins under way, by video id: concurrent readers share one. */
  private readonly asking = new Map<string, Promise<Asked>>()

  constructor(
    private readonly db: Database,
    private readonly config: Config,
    private readonly friends: Friends,
    private readonly fingerprint: string,
    private readonly videos: Videos,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {
    // Registered at construction, which happens while the pod starts, before it listens.
    friends.handle('video.details', (sender, data) => this.onDetailsAsked(sender, data))
    friends.handle('video.viewed', (sender, data) => this.onViewed(sender, data))
  }

  /** The row of an own video, or a 404 / 403 ApiError. */
  private ownRow(id: string, what: string): VideoRow {
    const row = videoRowById(this.db, id)
    if (!row) throw new ApiError(404, 'not_found', `no video with id ${id}`)
    if (row.pod_fingerprint !== this.fingerprint) throw new ApiError(403, 'forbidden', `this video belongs to another pod; only its origin can ${what}`)
    return row
  }

  /** The details of an own video (from the index row and `video_details`). */
  private ownDetails(row: VideoRow): Details {
    const d = this.db.query('SELECT description, tags, license, language, views, updated_at FROM video_details WHERE video = ?').get(row.id) as DetailsRow | null
    return {
      id: row.id,
      description: this.fullDescription(row, d),
      tags: d?.tags ? (JSON.parse(d.tags) as string[]) : [],
      license: d?.license ?? null,
      language: d?.language ?? null,
      views: d?.views ?? 0,
      updatedAt: d?.updated_at ? new Date(d.updated_at).toISOString() : null,
    }
  }

  /**
   * The full description is the stored one while the index still shows its summary; once the
   * index's description was edited another way (`PATCH /api/v1/videos/:id`), that one holds.
   */
  private fullDescription(row: VideoRow, d: DetailsRow | null): string {
    return d?.description != null && summarize(d.description) === row.description ? d.description : row.description
  }

  /** The details of an own video, for the origin's handler and for tests. */
  ofOwn(id: string): Details | undefined {
    const row = videoRowById(this.db, id)
    return row && row.pod_fingerprint === this.fingerprint ? this.ownDetails(row) : undefined
  }

  // --- what users ask ------------------------------------------------------------------

  /**
   * The details of any video of the index: own ones from the database; a friend's from the
   * cache while fresh, else from its origin (then cached), else the cached copy marked stale.
   * Throws 404 for an unknown video and 502/504 `origin_unreachable` with nothing to serve.
   */
  async get(id: string): Promise<DetailsAnswer> {
    const row = videoRowById(this.db, id)
    if (!row) throw new ApiError(404, 'not_found', `no video with id ${id}`)
    if (row.pod_fingerprint === this.fingerprint) return this.answer(this.ownDetails(row), 'local', this.now(), false)
    const cached = this.cached(id)
    if (cached && this.now() - cached.fetchedAt < this.config.detailsTtlSeconds * 1000 && this.matchesIndex(cached.fetchedAt, row))
      return this.answer(cached.details, 'cache', cached.fetchedAt, false)

    let asking = this.asking.get(id)
    if (!asking) {
      asking = this.askOrigin(row).finally(() => this.asking.delete(id))
      this.asking.set(id, asking)
    }
    const asked = await asking
    if (asked.ok) return this.answer(asked.details, 'origin', asked.fetchedAt, false)
    if (asked.notFound) {
      // The origin says the video is gone: the index will hear of it (video.remove); a copy
      // of its details must not outlive that answer.
      this.db.query('DELETE FROM details_cache WHERE video = ?').run(id)
      throw new ApiError(404, 'not_found', `the origin pod (${row.pod_url}) no longer has video ${id}`)
    }
    const copy = this.cached(id)
    if (copy) {
      this.log.info('video.details.stale', { id, origin: row.pod_url, ageSeconds: Math.floor((this.now() - copy.fetchedAt) / 1000), error: asked.error })
      return this.answer(copy.details, 'cache', copy.fetchedAt, true)
    }
    throw new ApiError(
      asked.timeout ? 504 : 502,
      'origin_unreachable',
      `the details of this video live on its origin pod (${row.pod_url}), which did not answer, and this pod has no copy of them yet: ${asked.error}`,
    )
  }

  /**
   * Whether a cached copy is at least as new as the index row: a new name or description
   * reaches every friend's index at once (`video.update`, which the origin also sends for a
   * new full description whose summary did not change), so a copy fetched before the row last
   * changed is outdated however young. Other details (tags, license, ...) wait out the TTL.
   */
  private matchesIndex(fetchedAt: number, row: VideoRow): boolean {
    return row.updated_at <= fetchedAt
  }

  private answer(details: Details, source: DetailsAnswer['source'], fetchedAt: number, stale: boolean): DetailsAnswer {
    return { ...details, source, fetchedAt: new Date(fetchedAt).toISOString(), ageSeconds: Math.max(0, Math.floor((this.now() - fetchedAt) / 1000)), stale }
  }

  private cached(id: string): { details: Details; fetchedAt: number } | undefined {
    const r = this.db.query('SELECT data, fetched_at FROM details_cache WHERE video = ?').get(id) as { data: string; fetched_at: number } | null
    return r ? { details: JSON.parse(r.data) as Details, fetchedAt: r.fetched_at } : undefined
  }

  /** Asks the origin (signed and encrypted, through `Friends.ask`) and caches a good answer. */
  private async askOrigin(row: VideoRow): Promise<Asked> {
    const r = await this.friends.ask(row.pod_fingerprint, { type: 'video.details', data: { id: row.id } }, ORIGIN_TIMEOUT_MS)
    if (!r.ok) {
      this.log.warn('video.details.unreachable', { id: row.id, origin: row.pod_url, error: r.error })
      return { ok: false, timeout: /timed? ?out|timeout|abort/i.test(r.error), error: r.error }
    }
    const result = r.result as { ok?: unknown; error?: unknown; details?: unknown } | undefined
    if (result?.ok === false && result.error === 'not_found') return { ok: false, notFound: true, error: 'not_found' }
    // The origin is a friend, not a trusted source of arbitrary data: keep only well-formed details of the video asked.
    if (result?.ok !== true || !Value.Check(Details, result.details) || result.details.id !== row.id) {
      const error = result?.ok === false ? `the origin answered ${String(result.error)}` : 'the origin answered malformed details'
      this.log.warn('video.details.refused', { id: row.id, origin: row.pod_url, error })
      return { ok: false, error }
    }
    const d = result.details
    const details: Details = { id: d.id, description: d.description, tags: d.tags, license: d.license, language: d.language, views: d.views, updatedAt: d.updatedAt }
    const fetchedAt = this.now()
    // The video may have left the index while the origin answered: then there is nothing to cache.
    this.db
      .query(
        `INSERT INTO details_cache (video, data, fetched_at) SELECT ?1, ?2, ?3 WHERE EXISTS (SELECT 1 FROM videos WHERE id = ?1)
         ON CONFLICT (video) DO UPDATE SET data = excluded.data, fetched_at = excluded.fetched_at`,
      )
      .run(row.id, JSON.stringify(details), fetchedAt)
    this.log.debug('video.details.fetched', { id: row.id, origin: row.pod_url })
    return { ok: true, details, fetchedAt }
  }

  /**
   * Changes an own video's details (uploader or admin). A new description goes to the details
   * in full and to the index (and so to every friend) as its summary.
   */
  update(id: string, user: User, body: unknown): DetailsAnswer {
    const row = this.ownRow(id, 'change its details')
    const owner = this.db.query('SELECT owner FROM local_videos WHERE video = ?').get(id) as { owner: number } | null
    if (owner?.owner !== user.id && user.role !== 'admin') throw new ApiError(403, 'forbidden', 'only the uploader or an admin can change this video')
    const edit = checkDetailsEdit(body)
    const now = this.now()
    this.db.transaction(() => {
      const current = this.db.query('SELECT description, tags, license, language, views, updated_at FROM video_details WHERE video = ?').get(id) as DetailsRow | null
      // A stored description the index no longer matches was replaced by an edit of the index: drop it.
      const stored = current?.description != null && summarize(current.description) === row.description ? current.description : null
      const description = edit.description ?? stored
      const descriptionChanged = edit.description !== undefined && edit.description !== this.fullDescription(row, current)
      this.db
        .query(
          `INSERT INTO video_details (video, description, tags, license, language, views, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6)
           ON CONFLICT (video) DO UPDATE SET description = ?2, tags = ?3, license = ?4, language = ?5, updated_at = ?6`,
        )
        .run(
          id,
          description,
          JSON.stringify(edit.tags ?? (current?.tags ? JSON.parse(current.tags) : [])),
          edit.license !== undefined ? edit.license : (current?.license ?? null),
          edit.language !== undefined ? edit.language : (current?.language ?? null),
          now,
        )
      if (descriptionChanged) {
        // Announced even when the summary stays the same: friends then know their copies are outdated.
        // Nested: publish's own transaction becomes a savepoint of this one, so details and index change together.
        this.videos.publish({ ...this.videos.get(id)!, description: summarize(edit.description!) }, 'video.update')
      }
    }).immediate()
    this.log.info('video.details.updated', { id, by: user.username, fields: Object.keys(edit) })
    return this.answer(this.ownDetails(videoRowById(this.db, id)!), 'local', now, false)
  }

  /**
   * Counts one view: of an own video here; of a friend's video at its origin, through the
   * durable outbox (counted when delivered, batched with other messages).
   */
  view(id: string): { id: string; counted: 'local'; views: number } | { id: string; counted: 'origin' } {
    const row = videoRowById(this.db, id)
    if (!row) throw new ApiError(404, 'not_found', `no video with id ${id}`)
    if (row.pod_fingerprint === this.fingerprint) return { id, counted: 'local', views: this.countView(id) }
    this.friends.broadcast([{ type: 'video.viewed', data: { id } }], [row.pod_fingerprint])
    return { id, counted: 'origin' }
  }

  private countView(id: string): number {
    return (
      this.db
        .query('INSERT INTO video_details (video, views) VALUES (?, 1) ON CONFLICT (video) DO UPDATE SET views = views + 1 RETURNING views')
        .get(id) as { views: number }
    ).views
  }

  // --- what friends ask (inside the inbox transaction) -----------------------------------

  /** `video.details` `{ id }` -> `{ ok: true, details }`, or `{ ok: false, error: 'not_found' }` for a video that is not this pod's. */
  private onDetailsAsked(sender: Friend, data: unknown): unknown {
    const id = (data as { id?: unknown } | null)?.id
    if (typeof id !== 'string') return { ok: false, error: 'invalid_id' }
    const details = this.ofOwn(id)
    this.log.debug('video.details.asked', { id, friend: sender.url, fingerprint: sender.fingerprint, found: details !== undefined })
    return details ? { ok: true, details } : { ok: false, error: 'not_found' }
  }

  /** `video.viewed` `{ id }`: one view of an own video, seen through a friend. */
  private onViewed(sender: Friend, data: unknown): unknown {
    const id = (data as { id?: unknown } | null)?.id
    if (typeof id !== 'string') return { ok: false, error: 'invalid_id' }
    if (!this.ofOwn(id)) return { ok: false, error: 'not_found' }
    this.log.debug('video.viewed', { id, friend: sender.url })
    return { ok: true, views: this.countView(id) }
  }
}
