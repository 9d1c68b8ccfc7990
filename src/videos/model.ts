/**
 * The network index: every video of this pod and of its friends, with the fields of
 * PROTOCOL.md's `Video`. Friends send `video.add`/`video.update`/`video.remove`; a friend may
 * only change videos whose origin it is.
 *
 * A row keeps what cannot be derived (id, texts, info hash, file extension, sizes, dates)
 * and its origin pod; the magnet URI, torrent, web seed and thumbnail URLs are derived from
 * the origin's current URL, so a million videos stay small and `pod.moved` moves them all.
 */
import type { Database } from 'bun:sqlite'
import { Value } from '@sinclair/typebox/value'
import { t } from 'elysia'
import { RenditionIn, renditionsOf } from './renditions'

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
})
export type Video = typeof Video.static

/** Whether a value is a well-formed Video (for data arriving from friends). */
export function isVideo(v: unknown): v is Video {
  return Value.Check(Video, v) && !Number.isNaN(Date.parse(v.createdAt))
}

/** The URLs of a video at its origin pod. */
export function videoUrls(podUrl: string, id: string, infoHash: string, ext: string, name: string) {
  const webseed = `${podUrl}/static/webseed/${id}.${ext}`
  const torrentUrl = `${podUrl}/static/torrents/${infoHash}.torrent`
  const trackers = [`${podUrl.replace(/^http/, 'ws')}/tracker/socket`, `${podUrl}/tracker/announce`]
  const e = encodeURIComponent
  const magnetUri = `magnet:?xt=urn:btih:${infoHash}&dn=${e(name)}${trackers.map((t) => `&tr=${e(t)}`).join('')}&ws=${e(webseed)}&xs=${e(torrentUrl)}`
  return { webseed, torrentUrl, trackers, magnetUri }
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

/** Columns of `VideoRow`, for queries that join videos (v) with pods (p). */
export const VIDEO_COLUMNS = 'v.seq, v.id, v.name, v.description, v.uploader, v.info_hash, v.ext, v.duration, v.size, v.created_at, v.updated_at, p.url AS pod_url, p.fingerprint AS pod_fingerprint'

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
    thumbnailUrl: `${thumbnailBase}/static/thumbnails/${r.id}.jpg`,
    duration: r.duration,
    size: r.size,
    createdAt: new Date(r.created_at).toISOString(),
    updatedAt: new Date(r.updated_at).toISOString(),
  }
}

/** The id of a pod in the index, adding it (or refreshing its URL). */
export function podRow(db: Database, fingerprint: string, url: string): number {
  return (
    db.query('INSERT INTO pods (fingerprint, url) VALUES (?, ?) ON CONFLICT (fingerprint) DO UPDATE SET url = excluded.url RETURNING id').get(fingerprint, url) as {
      id: number
    }
  ).id
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
 */
export function upsertVideo(db: Database, v: Video, podUrl: string, now: number): boolean {
  const pod = podRow(db, v.podFingerprint, podUrl)
  const infoHash = Buffer.from(/xt=urn:btih:([0-9a-fA-F]{40})/.exec(v.magnetUri)![1]!, 'hex')
  const res = db
    .query(
      `INSERT INTO videos (id, pod, name, description, uploader, info_hash, ext, duration, size, created_at, updated_at)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
       ON CONFLICT (id) DO UPDATE SET name = ?3, description = ?4, uploader = ?5, info_hash = ?6, ext = ?7,
         duration = ?8, size = ?9, updated_at = ?11
       WHERE videos.pod = ?2`,
    )
    .run(v.id, pod, v.name, v.description, v.uploader, infoHash, extOf(v), v.duration, v.size, Date.parse(v.createdAt), now)
  return res.changes > 0
}

/** Removes one video of an origin pod; returns whether it existed. */
export function removeVideo(db: Database, id: string, podFingerprint: string): boolean {
  return db.query('DELETE FROM videos WHERE id = ? AND pod = (SELECT id FROM pods WHERE fingerprint = ?)').run(id, podFingerprint).changes > 0
}

/** Removes every video of an origin pod (a friendship ended); returns how many. */
export function removeVideosOf(db: Database, podFingerprint: string): number {
  return db.query('DELETE FROM videos WHERE pod = (SELECT id FROM pods WHERE fingerprint = ?)').run(podFingerprint).changes
}

/** Every video whose origin is the given pod, oldest first, with its renditions (what a new friend is sent). */
export function videosOf(db: Database, podFingerprint: string): Video[] {
  return (
    db.query(`SELECT ${VIDEO_COLUMNS} FROM videos v JOIN pods p ON p.id = v.pod WHERE p.fingerprint = ? ORDER BY v.created_at, v.id`).all(podFingerprint) as VideoRow[]
  ).map((r) => ({ ...videoOfRow(r), files: renditionsOf(db, r.id) }))
}

/** One row of the index by id. */
export function videoRowById(db: Database, id: string): VideoRow | undefined {
  return (db.query(`SELECT ${VIDEO_COLUMNS} FROM videos v JOIN pods p ON p.id = v.pod WHERE v.id = ?`).get(id) as VideoRow | null) ?? undefined
}

/** Points a pod's videos at its new URL (after `pod.moved`). */
export function movePod(db: Database, podFingerprint: string, newUrl: string): void {
  db.query('UPDATE pods SET url = ? WHERE fingerprint = ?').run(newUrl, podFingerprint)
}
