/**
 * The network index: every video of this pod and of its friends, with the fields of
 * the protocol's `Video` (docs/protocol.md). Friends send `video.add`/`video.update`/`video.remove`; a friend may
 * only change videos whose origin it is.
 *
 * A row keeps what cannot be derived (id, texts, info hash, file extension, sizes, dates)
 * and its origin pod; the magnet URI, torrent, web seed and thumbnail URLs are derived from
 * the origin's current URL, so a million videos stay small and `pod.moved` moves them all.
 */
import type { Database } from 'bun:sqlite'
import { Value } from '@sinclair/typebox/value'
import { t } from 'elysia'
import { INDEX_SAMPLE_EVERY } from '../shared/db'
import { magnetUri, thumbnailUrl, torrentUrl, trackerUrls, webseedUrl } from '../shared/urls'
import { RenditionIn, renditionsOf } from './renditions'
import { StreamIn, streamsOf } from './streams'

/** A video as the API and the protocol carry it. */
export const Video = t.Object({
  id: t.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' }),
  name: t.String({ minLength: 1, maxLength: 120 }),
  description: t.String({ maxLength: 10_000 }),
  uploader: t.String({ minLength: 1, maxLength: 64 }),
  podUrl: t.String({ maxLength: 2048 }),
  podFingerprint: t.String({ minLength: 1, maxLength: 100 }),
  magnetUri: t.String({ maxLength: 8192, pattern: 'xt=urn:btih:[0-9a-fA-F]{40}' }),
  torrentUrl: t.Union([t.String({ maxLength: 2048 }), t.Null()]),
  webseedUrls: t.Array(t.String({ maxLength: 2048 }), { maxItems: 32 }),
  infoHash: t.Optional(t.String({ pattern: '^[0-9a-f]{40}$' })),
  thumbnailUrl: t.Optional(t.Union([t.String({ maxLength: 2048 }), t.Null()])),
  duration: t.Union([t.Number({ minimum: 0 }), t.Null()]),
  size: t.Union([t.Integer({ minimum: 0 }), t.Null()]),
  createdAt: t.String({ maxLength: 40 }),
  updatedAt: t.Optional(t.String({ maxLength: 40 })),
  /** Transcoded renditions (the original is the video itself). */
  files: t.Optional(t.Array(RenditionIn, { maxItems: 16 })),
  /**
   * The original's frame size in pixels, as its origin probed it: given for the origin's own
   * videos (and in its `video.add`/`video.update`); the index does not keep it, so a friend's
   * video has none (the watch page then learns the height from the file itself).
   */
  width: t.Optional(t.Integer({ minimum: 1, maximum: 100_000 })),
  height: t.Optional(t.Integer({ minimum: 1, maximum: 100_000 })),
  /**
   * The files packaged for HLS (src/videos/streams.ts): the original (rendition 0) and
   * renditions. Absent from videos of older pods, and of files stored before streams existed:
   * those play as files.
   */
  streams: t.Optional(t.Array(StreamIn, { maxItems: 17 })),
  /** The origin's master playlist of the streams (derived; receivers ignore it). */
  masterPlaylistUrl: t.Optional(t.String({ maxLength: 2048 })),
  /** The origin's master playlist, then those of the pods keeping a copy of every stream (derived; receivers ignore it). */
  masterPlaylistUrls: t.Optional(t.Array(t.String({ maxLength: 2048 }), { maxItems: 32 })),
})
export type Video = typeof Video.static

/** Whether a value is a well-formed Video (for data arriving from friends). */
export function isVideo(v: unknown): v is Video {
  return Value.Check(Video, v) && !Number.isNaN(Date.parse(v.createdAt))
}

/** The URLs of a video at its origin pod. */
export function videoUrls(podUrl: string, id: string, infoHash: string, ext: string, name: string) {
  const file = `${id}.${ext}`
  return { webseed: webseedUrl(podUrl, file), torrentUrl: torrentUrl(podUrl, infoHash), trackers: trackerUrls(podUrl), magnetUri: magnetUri(podUrl, file, infoHash, name) }
}

/** A row of the index, with its origin pod. */
export interface VideoRow {
  seq: number
  id: string
  name: string
  description: string
  uploader: string
  info_hash: Uint8Array
  ext: string
  duration: number | null
  size: number | null
  created_at: number
  updated_at: number
  pod_url: string
  pod_fingerprint: string
}

/**
 * Columns of `VideoRow`, for queries that join videos (v) with pods (p). The uploader's name
 * is looked up by its key (names are stored once, in `uploaders`), only for the rows returned;
 * a NULL extension is mp4 (see src/shared/db.ts).
 */
export const VIDEO_COLUMNS =
  "v.seq, v.id, v.name, v.description, (SELECT name FROM uploaders WHERE id = v.uploader) AS uploader, v.info_hash, coalesce(v.ext, 'mp4') AS ext, v.duration, v.size, v.created_at, v.updated_at, p.url AS pod_url, p.fingerprint AS pod_fingerprint"

/**
 * Turns a row into the API's Video. `thumbnailBase` is the pod that serves the thumbnail to
 * this reader: the origin for friends, this pod (which caches remote thumbnails) for browsers.
 */
export function videoOfRow(r: VideoRow, thumbnailBase: string = r.pod_url): Video {
  const infoHash = Buffer.from(r.info_hash).toString('hex')
  const urls = videoUrls(r.pod_url, r.id, infoHash, r.ext, r.name)
  return {
    id: r.id,
    name: r.name,
    description: r.description,
    uploader: r.uploader,
    podUrl: r.pod_url,
    podFingerprint: r.pod_fingerprint,
    infoHash,
    magnetUri: urls.magnetUri,
    torrentUrl: urls.torrentUrl,
    webseedUrls: [urls.webseed],
    thumbnailUrl: thumbnailUrl(thumbnailBase, r.id),
    duration: r.duration,
    size: r.size,
    createdAt: new Date(r.created_at).toISOString(),
    updatedAt: new Date(r.updated_at).toISOString(),
  }
}

/**
 * The FTS5 query for every video of a pod (by its id in `pods`): its token, which videos_text
 * (src/shared/db.ts) adds to each video's text. How the index finds a pod's videos: it has no index
 * on the pod column.
 */
export function podMatch(pod: number): string {
  return `"\u{E000}${pod}"`
}

/** The id of a pod in the index, adding it (or refreshing its URL). */
export function podRow(db: Database, fingerprint: string, url: string): number {
  // Read first: every video of a friend's list comes through here, and the pod rarely changes.
  const known = db.query('SELECT id, url FROM pods WHERE fingerprint = ?').get(fingerprint) as { id: number; url: string } | null
  if (known?.url === url) return known.id
  return (
    db.query('INSERT INTO pods (fingerprint, url) VALUES (?, ?) ON CONFLICT (fingerprint) DO UPDATE SET url = excluded.url RETURNING id').get(fingerprint, url) as {
      id: number
    }
  ).id
}

/** The key of an uploader's name, adding the name if new (the videos triggers remove unused names). */
function uploaderRow(db: Database, name: string): number {
  const known = db.query('SELECT id FROM uploaders WHERE name = ?').get(name) as { id: number } | null
  return known?.id ?? (db.query('INSERT INTO uploaders (name) VALUES (?) RETURNING id').get(name) as { id: number }).id
}

/** The file extension of a video's web seed (`mp4`, `webm`), from its URL. */
function extOf(v: Video): string {
  const last = v.webseedUrls[0]?.split('/').pop() ?? ''
  const ext = last.includes('.') ? last.split('.').pop()!.toLowerCase() : ''
  return /^[a-z0-9]{1,5}$/.test(ext) ? ext : 'mp4'
}

/**
 * Inserts or updates a video of the index under its origin pod (`podUrl` is the URL this pod
 * knows the origin by). An existing row of another origin is left alone (returns false): a pod
 * cannot overwrite another pod's video by reusing its id.
 *
 * A new video is indexed for search (and sampled, and counted) here rather than by triggers
 * (see src/shared/db.ts: FTS5 writes out its pending terms at every statement savepoint), so every
 * statement below is a single-row write, and no savepoint is opened inside a caller's
 * transaction.
 */
export function upsertVideo(db: Database, v: Video, podUrl: string, now: number): boolean {
  const write = () => {
    const pod = podRow(db, v.podFingerprint, podUrl)
    const uploader = uploaderRow(db, v.uploader)
    const infoHash = Buffer.from(/xt=urn:btih:([0-9a-fA-F]{40})/.exec(v.magnetUri)![1]!, 'hex')
    const ext = extOf(v)
    const values = [v.id, pod, v.name, v.description, uploader, infoHash, ext === 'mp4' ? null : ext, v.duration, v.size, Date.parse(v.createdAt), now] as const
    const added = db
      .query(
        `INSERT INTO videos (id, pod, name, description, uploader, info_hash, ext, duration, size, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) ON CONFLICT (id) DO NOTHING`,
      )
      .run(...values)
    if (added.changes > 0) {
      const seq = Number(added.lastInsertRowid)
      // What videos_text shows for the row, computed alike (FTS5 must be given exactly that).
      // Not INSERT ... SELECT from the view: that is a multi-row statement, with a savepoint.
      db.query(
        `INSERT INTO videos_fts (rowid, name, description, uploader, pod)
         VALUES (?1, replace(?2, char(57344), ''), replace(?3, char(57344), ''), replace(?4, char(57344), ''), char(57344) || ?5)`,
      ).run(seq, v.name, v.description, v.uploader, pod)
      if (seq % INDEX_SAMPLE_EVERY === 0) {
        db.query(
          `INSERT INTO videos_sample (rowid, name, description, uploader)
           VALUES (?1, replace(?2, char(57344), ''), replace(?3, char(57344), ''), replace(?4, char(57344), ''))`,
        ).run(seq, v.name, v.description, v.uploader)
      }
      db.query('UPDATE pods SET videos = videos + 1 WHERE id = ?').run(pod)
      db.query('UPDATE uploaders SET videos = videos + 1 WHERE id = ?').run(uploader)
      return true
    }
    // Known id: only its origin may change it (the triggers re-index changed texts).
    const updated = db
      .query(
        `UPDATE videos SET name = ?3, description = ?4, uploader = ?5, info_hash = ?6, ext = ?7, duration = ?8, size = ?9, updated_at = ?11
         WHERE id = ?1 AND pod = ?2`,
      )
      .run(...values)
    // Refused: a name added just for this video would stay with no video to remove it.
    if (updated.changes === 0) db.query('DELETE FROM uploaders WHERE id = ? AND videos = 0').run(uploader)
    return updated.changes > 0
  }
  // Inside a caller's transaction, no savepoint of our own (it would cost FTS5 a flush).
  return db.inTransaction ? write() : db.transaction(write).immediate()
}

/** How many videos of a pod the index holds (kept by the index's triggers, not counted). */
export function podVideoCount(db: Database, fingerprint: string): number {
  return (db.query('SELECT videos FROM pods WHERE fingerprint = ?').get(fingerprint) as { videos: number } | null)?.videos ?? 0
}

/** Removes one video of an origin pod; returns whether it existed. */
export function removeVideo(db: Database, id: string, podFingerprint: string): boolean {
  return db.query('DELETE FROM videos WHERE id = ? AND pod = (SELECT id FROM pods WHERE fingerprint = ?)').run(id, podFingerprint).changes > 0
}

/** Removes every video of an origin pod (a friendship ended); returns how many. */
export function removeVideosOf(db: Database, podFingerprint: string): number {
  const pod = db.query('SELECT id FROM pods WHERE fingerprint = ?').get(podFingerprint) as { id: number } | null
  if (!pod) return 0
  return db.query('DELETE FROM videos WHERE seq IN (SELECT rowid FROM videos_fts WHERE videos_fts MATCH ?)').run(podMatch(pod.id)).changes
}

/** Every video whose origin is the given pod, oldest first, with its renditions and streams (what a new friend is sent). */
export function videosOf(db: Database, podFingerprint: string): Video[] {
  const pod = db.query('SELECT id FROM pods WHERE fingerprint = ?').get(podFingerprint) as { id: number } | null
  if (!pod) return []
  return (
    db
      .query(`SELECT ${VIDEO_COLUMNS} FROM videos v JOIN pods p ON p.id = v.pod WHERE v.seq IN (SELECT rowid FROM videos_fts WHERE videos_fts MATCH ?) ORDER BY v.created_at, v.id`)
      .all(podMatch(pod.id)) as VideoRow[]
  ).map((r) => {
    const streams = streamsOf(db, r.id)
    return { ...videoOfRow(r), files: renditionsOf(db, r.id), ...(streams.length ? { streams } : {}) }
  })
}

/** One row of the index by id. */
export function videoRowById(db: Database, id: string): VideoRow | undefined {
  return (db.query(`SELECT ${VIDEO_COLUMNS} FROM videos v JOIN pods p ON p.id = v.pod WHERE v.id = ?`).get(id) as VideoRow | null) ?? undefined
}

/** Points a pod's videos at its new URL (after `pod.moved`). */
export function movePod(db: Database, podFingerprint: string, newUrl: string): void {
  db.query('UPDATE pods SET url = ? WHERE fingerprint = ?').run(newUrl, podFingerprint)
}
