/**
 * The network index: every video of this pod and of its friends, with the fields of
 * the protocol's `Video` (docs/protocol.md). Friends send `video.add`/`video.update`/`video.remove`; a friend may
 * only change videos whose origin it is.
 *
 * A row (store.ts) keeps what cannot be derived; the magnet URI, torrent, web seed and
 * thumbnail URLs are derived here from the origin's current URL.
 */
import { Value } from '@sinclair/typebox/value'
import { t } from 'elysia'
import { magnetUri, thumbnailUrl, torrentUrl, trackerUrls, webseedUrl } from '../shared/urls'
import { originalFile } from '../storage/keys'
import { RenditionIn } from './renditions'
import { StreamIn } from './streams'

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
  const file = originalFile(id, ext)
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

/** The file extension of a video's web seed (`mp4`, `webm`), from its URL. */
export function extOf(v: Video): string {
  const last = v.webseedUrls[0]?.split('/').pop() ?? ''
  const ext = last.includes('.') ? last.split('.').pop()!.toLowerCase() : ''
  return /^[a-z0-9]{1,5}$/.test(ext) ? ext : 'mp4'
}

/** A stream's file: which stream, its info hash and its bytes. */
export type StreamFile = Pick<StreamIn, 'rendition' | 'infoHash' | 'size'>

/** An own video's row, with its file's content type. */
export type OwnRow = VideoRow & { mime: string }

/** What was probed of an own video's original at upload (null: a video of an earlier release). */
export interface OwnMedia {
  duration: number | null
  width: number | null
  height: number | null
  audio: string | null
}
