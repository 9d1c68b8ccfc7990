/**
 * Renditions: the transcoded copies of a video at lower heights, each its own file, web seed
 * and torrent. The origin lists them in `video.add`/`video.update` (`files`), so every pod's
 * index knows them; URLs are derived from the origin's URL like the original's.
 */
import type { Database } from 'bun:sqlite'
import { t } from 'elysia'
import { magnetUri, torrentUrl, webseedUrl } from '../shared/urls'

/** A rendition as the protocol carries it (the URLs are derived by whoever reads it). */
export const RenditionIn = t.Object({
  resolution: t.Integer({ minimum: 1, maximum: 10_000 }),
  infoHash: t.String({ pattern: '^[0-9a-f]{40}$' }),
  size: t.Integer({ minimum: 0 }),
})
export type RenditionIn = typeof RenditionIn.static

/** A rendition as the API shows it. */
export interface Rendition extends RenditionIn {
  magnetUri: string
  torrentUrl: string
  webseedUrl: string
}

/** File name of a rendition at its origin: `<id>.<resolution>.mp4` (ids never contain dots). */
export const renditionFileName = (id: string, resolution: number) => `${id}.${resolution}.mp4`

/** The URLs of a rendition at its origin pod. */
export function renditionUrls(podUrl: string, id: string, resolution: number, infoHash: string, name: string): Omit<Rendition, keyof RenditionIn> {
  const file = renditionFileName(id, resolution)
  return { magnetUri: magnetUri(podUrl, file, infoHash, `${name} (${resolution}p)`), torrentUrl: torrentUrl(podUrl, infoHash), webseedUrl: webseedUrl(podUrl, file) }
}

/** Replaces the renditions the index knows of a video. */
export function saveRenditions(db: Database, videoId: string, files: readonly RenditionIn[]): void {
  db.query('DELETE FROM video_files WHERE video = ?').run(videoId)
  const insert = db.query("INSERT INTO video_files (video, resolution, info_hash, ext, size) VALUES (?, ?, ?, 'mp4', ?)")
  for (const f of files) insert.run(videoId, f.resolution, Buffer.from(f.infoHash, 'hex'), f.size)
}

/** The renditions of a video, lowest first. */
export function renditionsOf(db: Database, videoId: string): RenditionIn[] {
  return (db.query('SELECT resolution, info_hash, size FROM video_files WHERE video = ? ORDER BY resolution').all(videoId) as { resolution: number; info_hash: Uint8Array; size: number }[]).map(
    (r) => ({ resolution: r.resolution, infoHash: Buffer.from(r.info_hash).toString('hex'), size: r.size }),
  )
}
