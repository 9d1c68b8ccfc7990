/**
 * Streams: the files of a video that are packaged for HLS (src/media/hls.ts), each one
 * fragmented MP4 that is at once its torrent's content, its web seed and, with its media
 * playlist of byte ranges, an HLS stream. A video's original is rendition 0 (when its codecs
 * let it be remuxed into one), each transcoded rendition its height.
 *
 * Like renditions, streams travel in `video.add`/`video.update` (`streams`, optional: a pod
 * that does not know them ignores the field and plays the files as before) and every pod's
 * index keeps them; their URLs are derived from the origin's URL. The origin serves the
 * playlists (a master playlist of every stream, and one media playlist per stream), and so
 * does every pod that keeps a copy of the streams (src/redundancy/), at the same paths.
 */
import { t } from 'elysia'
import { torrentUrl, webseedUrl } from '../shared/urls'
import { streamFile } from '../storage/keys'

/** A stream as the protocol carries it (URLs are derived by whoever reads it). */
export const StreamIn = t.Object({
  /** 0: the video's original; else the height of the rendition (its entry in `files`). */
  rendition: t.Integer({ minimum: 0, maximum: 10_000 }),
  infoHash: t.String({ pattern: '^[0-9a-f]{40}$' }),
  size: t.Integer({ minimum: 0 }),
  width: t.Integer({ minimum: 1, maximum: 100_000 }),
  height: t.Integer({ minimum: 1, maximum: 100_000 }),
  /** Peak bit rate of a segment, bits per second. */
  bandwidth: t.Integer({ minimum: 1, maximum: 1e12 }),
  /** RFC 6381 codecs of the stream, when known; it goes into a playlist as it is, hence the narrow pattern. */
  codecs: t.Optional(t.String({ maxLength: 200, pattern: '^[A-Za-z0-9._-]+(,[A-Za-z0-9._-]+)*$' })),
  /**
   * Whether its segments start every 2 s like every rendition's. `false`: an original whose
   * keyframes fall elsewhere; a player switching to or from it automatically would skip, so
   * it is for a viewer's own choice only. Absent: not known (streams of earlier releases).
   */
  aligned: t.Optional(t.Boolean()),
})
export type StreamIn = typeof StreamIn.static

/**
 * Whether a video needs a rendition at its own height (src/transcoding/queue.ts
 * targetResolutions): its original is no stream, or one whose keyframes do not let Auto
 * switch to it, or one not every browser plays (its codecs are not H.264 with AAC, MP3 or
 * Opus). Then the top of the ladder is that rendition, aligned with the others.
 */
export const needsTopRendition = (original: Pick<StreamIn, 'codecs' | 'aligned'> | undefined) => !original || original.aligned === false || !original.codecs?.startsWith('avc1')

/** A stream as the API shows it. */
export interface Stream extends StreamIn {
  /** Its HLS media playlist at the origin (byte ranges into `webseedUrl`). */
  playlistUrl: string
  webseedUrl: string
  torrentUrl: string
  /**
   * The same at the origin (first) and at each pod known to keep a proven copy of the stream
   * (src/redundancy/listing.ts): item i of both lists is the same pod's, whose playlist names
   * its own file.
   */
  playlistUrls: string[]
  webseedUrls: string[]
  /**
   * The stream's .torrent at the origin (first), then at the pod the video is read at when it
   * serves it; never at another mirror (a .torrent's trackers and web seeds are outside its info hash).
   */
  torrentUrls: string[]
}

/** A stream's name in its video's playlist folder: `original` or the height. */
const playlistName = (rendition: number) => (rendition === 0 ? 'original' : String(rendition))

/**
 * Where a media playlist names its segments' file: the web seed, relative to the playlist
 * (`/static/hls/<id>/<name>.m3u8` -> `/static/webseed/<file>`), so it works behind any proxy.
 */
export const segmentUri = (id: string, rendition: number) => `../../webseed/${streamFile(id, rendition)}`

/** The playlists of a video at its origin: the master (every stream, for native HLS players) and one per stream. */
export const masterPlaylistUrl = (podUrl: string, id: string) => `${podUrl}/static/hls/${id}/master.m3u8`
export const mediaPlaylistUrl = (podUrl: string, id: string, rendition: number) => `${podUrl}/static/hls/${id}/${playlistName(rendition)}.m3u8`

/** The rendition a media playlist's name stands for (`original` 0, `480` 480), undefined for another name. */
export function renditionOfPlaylist(name: string): number | undefined {
  if (name === 'original') return 0
  return /^[1-9]\d{1,4}$/.test(name) ? Number(name) : undefined
}

/**
 * A stream with its URLs at its origin pod, then its playlists and web seeds at each pod of
 * `copies` (URLs of pods that keep a copy of it) and its .torrent at each of `torrents`.
 */
export function withStreamUrls(podUrl: string, id: string, s: StreamIn, copies: readonly string[] = [], torrents: readonly string[] = []): Stream {
  const pods = [podUrl, ...copies]
  const playlistUrls = pods.map((pod) => mediaPlaylistUrl(pod, id, s.rendition))
  const webseedUrls = pods.map((pod) => webseedUrl(pod, streamFile(id, s.rendition)))
  const torrentUrls = [podUrl, ...torrents].map((pod) => torrentUrl(pod, s.infoHash))
  return { ...s, playlistUrl: playlistUrls[0]!, webseedUrl: webseedUrls[0]!, torrentUrl: torrentUrls[0]!, playlistUrls, webseedUrls, torrentUrls }
}

/**
 * The master playlist of a video's streams, served at masterPlaylistUrl: one
 * `#EXT-X-STREAM-INF` per stream, lowest first, each naming its media playlist
 * relative to the master (beside it), so it works behind any proxy.
 */
export function masterPlaylist(streams: readonly StreamIn[]): string {
  const lines = ['#EXTM3U', '#EXT-X-VERSION:7', '#EXT-X-INDEPENDENT-SEGMENTS']
  for (const s of streams) {
    const codecs = s.codecs ? `,CODECS="${s.codecs}"` : ''
    lines.push(`#EXT-X-STREAM-INF:BANDWIDTH=${s.bandwidth},RESOLUTION=${s.width}x${s.height}${codecs}`, `${playlistName(s.rendition)}.m3u8`)
  }
  return `${lines.join('\n')}\n`
}
