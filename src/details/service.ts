/**
 * A video's details: the longer fields that stay at the origin pod (full description, tags,
 * license, language, view count), while the network index carries only the short fields of
 * the protocol's `Video` (docs/protocol.md).
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
import type { User } from '../accounts/service'
import type { Inbox, KnownPeer } from '../federation/inbox'
import type { Friends } from '../friends/service'
import type { Config } from '../shared/config'
import { DomainError, fail, ok, type Result } from '../shared/errors'
import type { Logger } from '../shared/log'
import type { VideoRow } from '../videos/model'
import type { Videos } from '../videos/service'
import type { VideoStore } from '../videos/store'
import { checkDetailsEdit, Details, ORIGIN_TIMEOUT_MS, summarize, type DetailsAnswer } from './model'
import type { DetailsRow, DetailsStore } from './store'

/** What asking the origin came to: its details, or why there are none (gone there, or no good answer). */
type Asked = Result<{ details: Details; fetchedAt: number }, { message: string; notFound?: boolean; timeout?: boolean }>

/** What the details feature is built from. */
export interface VideoDetailsDeps {
  db: Database
  store: DetailsStore
  /** The videos' tables. */
  videoRows: VideoStore
  config: Config
  friends: Friends
  fingerprint: string
  videos: Videos
  inbox: Inbox
  log: Logger
  now?: () => number
}

/** Details of own videos, the cache of friends' videos, and the `video.details`/`video.viewed` messages. */
export class VideoDetails {
  /** Questions to origins under way, by video id: concurrent readers share one. */
  private readonly asking = new Map<string, Promise<Asked>>()

  private readonly db: Database
  private readonly store: DetailsStore
  private readonly videoRows: VideoStore
  private readonly config: Config
  private readonly friends: Friends
  private readonly fingerprint: string
  private readonly videos: Videos
  private readonly log: Logger
  private readonly now: () => number

  constructor(deps: VideoDetailsDeps) {
    ;({
      db: this.db, store: this.store, videoRows: this.videoRows, config: this.config, friends: this.friends, fingerprint: this.fingerprint,
      videos: this.videos, log: this.log, now: this.now = Date.now,
    } = deps)
    const { inbox } = deps
    // Registered at construction, which happens while the pod starts, before it listens.
    inbox.on('video.details', ({ id }, { friend }) => this.onDetailsAsked(id, friend!))
    inbox.on('video.viewed', ({ id, count }, { friend }) => this.onViewed(id, count ?? 1, friend!.url))
  }

  /** The details of an own video (from the index row and `video_details`). */
  private ownDetails(row: VideoRow): Details {
    const d = this.store.own(row.id)
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
  private fullDescription(row: VideoRow, d: DetailsRow | undefined): string {
    return d?.description != null && summarize(d.description) === row.description ? d.description : row.description
  }

  /** The details of an own video, for the origin's handler and for tests. */
  ofOwn(id: string): Details | undefined {
    const row = this.videoRows.row(id)
    return row && row.pod_fingerprint === this.fingerprint ? this.ownDetails(row) : undefined
  }

  // --- what users ask ------------------------------------------------------------------

  /**
   * The details of any video of the index: own ones from the database; a friend's from the
   * cache while fresh, else from its origin (then cached), else the cached copy marked stale.
   * Throws 404 for an unknown video and 502/504 `origin_unreachable` with nothing to serve.
   */
  async get(id: string): Promise<DetailsAnswer> {
    const row = this.videoRows.row(id)
    if (!row) throw new DomainError('not_found', 'not_found', `no video with id ${id}`)
    if (row.pod_fingerprint === this.fingerprint) return this.answer(this.ownDetails(row), 'local', this.now(), false)
    const cached = this.store.cached(id)
    if (cached && this.now() - cached.fetchedAt < this.config.detailsTtlSeconds * 1000 && this.matchesIndex(cached.fetchedAt, row))
      return this.answer(cached.details, 'cache', cached.fetchedAt, false)

    let asking = this.asking.get(id)
    if (!asking) {
      asking = this.askOrigin(row).finally(() => this.asking.delete(id))
      this.asking.set(id, asking)
    }
    const asked = await asking
    if (asked.ok) return this.answer(asked.value.details, 'origin', asked.value.fetchedAt, false)
    if (asked.error.notFound) {
      // The origin says the video is gone: the index will hear of it (video.remove); a copy
      // of its details must not outlive that answer.
      this.store.uncache(id)
      throw new DomainError('not_found', 'not_found', `the origin pod (${row.pod_url}) no longer has video ${id}`)
    }
    const copy = this.store.cached(id)
    if (copy) {
      this.log.info('video.details.stale', { id, origin: row.pod_url, ageSeconds: Math.floor((this.now() - copy.fetchedAt) / 1000), error: asked.error.message })
      return this.answer(copy.details, 'cache', copy.fetchedAt, true)
    }
    throw new DomainError(
      asked.error.timeout ? 'upstream_timeout' : 'upstream_failed',
      'origin_unreachable',
      `the details of this video live on its origin pod (${row.pod_url}), which did not answer, and this pod has no copy of them yet: ${asked.error.message}`,
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

  /** Asks the origin (signed and encrypted, through `Friends.ask`) and caches a good answer. */
  private async askOrigin(row: VideoRow): Promise<Asked> {
    const r = await this.friends.ask(row.pod_fingerprint, { type: 'video.details', data: { id: row.id } }, ORIGIN_TIMEOUT_MS)
    if (!r.ok) {
      this.log.warn('video.details.unreachable', { id: row.id, origin: row.pod_url, error: r.error })
      return fail({ timeout: /timed? ?out|timeout|abort/i.test(r.error), message: r.error })
    }
    const result = r.value as { ok?: unknown; error?: unknown; details?: unknown } | undefined
    if (result?.ok === false && result.error === 'not_found') return fail({ notFound: true, message: 'not_found' })
    // The origin is a friend, not a trusted source of arbitrary data: keep only well-formed details of the video asked.
    if (result?.ok !== true || !Value.Check(Details, result.details) || result.details.id !== row.id) {
      const error = result?.ok === false ? `the origin answered ${String(result.error)}` : 'the origin answered malformed details'
      this.log.warn('video.details.refused', { id: row.id, origin: row.pod_url, error })
      return fail({ message: error })
    }
    const d = result.details
    const details: Details = { id: d.id, description: d.description, tags: d.tags, license: d.license, language: d.language, views: d.views, updatedAt: d.updatedAt }
    const fetchedAt = this.now()
    // The video may have left the index while the origin answered: then there is nothing to cache.
    if (this.videoRows.has(row.id)) this.store.cache(row.id, details, fetchedAt)
    this.log.debug('video.details.fetched', { id: row.id, origin: row.pod_url })
    return ok({ details, fetchedAt })
  }

  /**
   * Changes an own video's details (uploader or admin). A new description goes to the details
   * in full and to the index (and so to every friend) as its summary.
   */
  update(id: string, user: User, body: unknown): DetailsAnswer {
    this.videos.mustOwn(id, user)
    const row = this.videoRows.row(id)!
    const edit = checkDetailsEdit(body)
    const now = this.now()
    this.db.transaction(() => {
      const current = this.store.own(id)
      // A stored description the index no longer matches was replaced by an edit of the index: drop it.
      const stored = current?.description != null && summarize(current.description) === row.description ? current.description : null
      const description = edit.description ?? stored
      const descriptionChanged = edit.description !== undefined && edit.description !== this.fullDescription(row, current)
      this.store.save(
        id,
        {
          description,
          tags: edit.tags ?? (current?.tags ? (JSON.parse(current.tags) as string[]) : []),
          license: edit.license !== undefined ? edit.license : (current?.license ?? null),
          language: edit.language !== undefined ? edit.language : (current?.language ?? null),
        },
        now,
      )
      if (descriptionChanged) {
        // Announced even when the summary stays the same: friends then know their copies are outdated.
        // Nested: publish's own transaction becomes a savepoint of this one, so details and index change together.
        this.videos.publish({ ...this.videos.get(id)!, description: summarize(edit.description!) }, 'video.update')
      }
    }).immediate()
    this.log.info('video.details.updated', { id, by: user.username, fields: Object.keys(edit) })
    return this.answer(this.ownDetails(this.videoRows.row(id)!), 'local', now, false)
  }

  /**
   * Counts one view: of an own video here; of a friend's video at its origin, through the
   * durable outbox (counted when delivered, batched with other messages).
   */
  view(id: string): { id: string; counted: 'local'; views: number } | { id: string; counted: 'origin' } {
    const row = this.videoRows.row(id)
    if (!row) throw new DomainError('not_found', 'not_found', `no video with id ${id}`)
    if (row.pod_fingerprint === this.fingerprint) return { id, counted: 'local', views: this.store.countViews(id, 1) }
    this.friends.addView(row.pod_fingerprint, id)
    return { id, counted: 'origin' }
  }


  // --- what friends ask (inside the inbox transaction) -----------------------------------

  /** `video.details` `{ id }` -> `{ ok: true, details }`, or `{ ok: false, error: 'not_found' }` for a video that is not this pod's. */
  private onDetailsAsked(id: string, friend: KnownPeer): unknown {
    const details = this.ofOwn(id)
    this.log.debug('video.details.asked', { id, friend: friend.url, fingerprint: friend.fingerprint, found: details !== undefined })
    return details ? { ok: true, details } : { ok: false, error: 'not_found' }
  }

  /** `video.viewed` `{ id, count? }`: views of an own video, seen through a friend. */
  private onViewed(id: string, count: number, friend: string): unknown {
    if (!this.ofOwn(id)) return { ok: false, error: 'not_found' }
    this.log.debug('video.viewed', { id, friend, count })
    return { ok: true, views: this.store.countViews(id, count) }
  }
}
