/**
 * The network index: every video of this pod and of its friends, with the fields of
 * PROTOCOL.md's `Video`. Friends send `video.add`/`video.update`/`video.remove`; a friend may
 * only change videos whose origin it is.
 */
import type { Database } from 'bun:sqlite'
import { t } from 'elysia'
import { Value } from '@sinclair/typebox/value'

/** A video as the API and the protocol carry it. */
export const Video = t.Object({
  id: t.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' }),
  name: t.String({ minLength: 1, maxLength: 120 }),
  description: t.String({ maxLength: 10_000 }),
  uploader: t.String({ minLength: 1, maxLength: 64 }),
  podUrl: t.String({ maxLength: 2048 }),
  podFingerprint: t.String({ minLength: 1, maxLength: 100 }),
  magnetUri: t.String({ maxLength: 8192 }),
  torrentUrl: t.Union([t.String({ maxLength: 2048 }), t.Null()]),
  webseedUrls: t.Array(t.String({ maxLength: 2048 }), { maxItems: 32 }),
  thumbnailUrl: t.Optional(t.Union([t.String({ maxLength: 2048 }), t.Null()])),
  duration: t.Union([t.Number({ minimum: 0 }), t.Null()]),
  size: t.Union([t.Integer({ minimum: 0 }), t.Null()]),
  createdAt: t.String({ maxLength: 40 }),
  updatedAt: t.Optional(t.String({ maxLength: 40 })),
})
export type Video = typeof Video.static

/** `video.remove` data. */
export const VideoRef = t.Object({ id: Video.properties.id })
export type VideoRef = typeof VideoRef.static

/** Whether a value is a well-formed Video (for data arriving from friends). */
export function isVideo(v: unknown): v is Video {
  return Value.Check(Video, v) && !Number.isNaN(Date.parse(v.createdAt))
}

interface VideoRow {
  id: string
  pod_fingerprint: string
  pod_url: string
  name: string
  description: string
  uploader: string
  magnet_uri: string
  torrent_url: string | null
  webseed_urls: string
  thumbnail_url: string | null
  duration: number | null
  size: number | null
  created_at: number
  updated_at: number
}

/** Turns a row into the API's Video. */
export function videoOfRow(r: VideoRow): Video {
  return {
    id: r.id,
    name: r.name,
    description: r.description,
    uploader: r.uploader,
    podUrl: r.pod_url,
    podFingerprint: r.pod_fingerprint,
    magnetUri: r.magnet_uri,
    torrentUrl: r.torrent_url,
    webseedUrls: JSON.parse(r.webseed_urls),
    thumbnailUrl: r.thumbnail_url,
    duration: r.duration,
    size: r.size,
    createdAt: new Date(r.created_at).toISOString(),
    updatedAt: new Date(r.updated_at).toISOString(),
  }
}

/**
 * Inserts or updates a video of the index. An existing row of another origin is left alone
 * (returns false): a pod cannot overwrite another pod's video by reusing its id.
 */
export function upsertVideo(db: Database, v: Video, now: number): boolean {
  const res = db
    .query(
      `INSERT INTO videos (id, pod_fingerprint, pod_url, name, description, uploader, magnet_uri, torrent_url,
         webseed_urls, thumbnail_url, duration, size, created_at, updated_at)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
       ON CONFLICT (id) DO UPDATE SET pod_url = ?3, name = ?4, description = ?5, uploader = ?6, magnet_uri = ?7,
         torrent_url = ?8, webseed_urls = ?9, thumbnail_url = ?10, duration = ?11, size = ?12, updated_at = ?14
       WHERE videos.pod_fingerprint = ?2`,
    )
    .run(
      v.id, v.podFingerprint, v.podUrl, v.name, v.description, v.uploader, v.magnetUri, v.torrentUrl,
      JSON.stringify(v.webseedUrls), v.thumbnailUrl ?? null, v.duration, v.size, Date.parse(v.createdAt), now,
    )
  return res.changes > 0
}

/** Removes one video of an origin pod; returns whether it existed. */
export function removeVideo(db: Database, id: string, podFingerprint: string): boolean {
  return db.query('DELETE FROM videos WHERE id = ? AND pod_fingerprint = ?').run(id, podFingerprint).changes > 0
}

/** Removes every video of an origin pod (a friendship ended); returns how many. */
export function removeVideosOf(db: Database, podFingerprint: string): number {
  return db.query('DELETE FROM videos WHERE pod_fingerprint = ?').run(podFingerprint).changes
}

/** Every video whose origin is the given pod, oldest first. */
export function videosOf(db: Database, podFingerprint: string): Video[] {
  return (db.query('SELECT * FROM videos WHERE pod_fingerprint = ? ORDER BY created_at, id').all(podFingerprint) as VideoRow[]).map(videoOfRow)
}

/** One video of the index by id. */
export function videoById(db: Database, id: string): Video | undefined {
  const row = db.query('SELECT * FROM videos WHERE id = ?').get(id) as VideoRow | null
  return row ? videoOfRow(row) : undefined
}

/** Points a pod's videos at its new URL (after `pod.moved`), keeping paths: web and tracker URLs, plain and percent-encoded. */
export function moveVideosOf(db: Database, podFingerprint: string, oldUrl: string, newUrl: string): void {
  const ws = (u: string) => u.replace(/^http/, 'ws')
  const pairs = [[oldUrl, newUrl], [ws(oldUrl), ws(newUrl)]].flatMap(([a, b]) => [
    [`${a}/`, `${b}/`],
    [encodeURIComponent(`${a}/`), encodeURIComponent(`${b}/`)],
  ]) as [string, string][]
  const swap = (s: string | null) => (s === null ? null : pairs.reduce((acc, [a, b]) => acc.split(a).join(b), s))
  const rows = db.query('SELECT * FROM videos WHERE pod_fingerprint = ?').all(podFingerprint) as VideoRow[]
  const update = db.query('UPDATE videos SET pod_url = ?, magnet_uri = ?, torrent_url = ?, webseed_urls = ?, thumbnail_url = ? WHERE id = ?')
  for (const r of rows) update.run(newUrl, swap(r.magnet_uri), swap(r.torrent_url), swap(r.webseed_urls), swap(r.thumbnail_url), r.id)
}
