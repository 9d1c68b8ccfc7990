/**
 * What a video offers the player, as the API shows it (`GET /api/v1/videos/:id`): its streams
 * (src/videos/streams.ts) as levels, each with every pod that serves it (its origin first,
 * then the pods that keep a copy), and for a video without streams its file.
 *
 * A stream lists its mirrors in `playlistUrls`, `webseedUrls` and `torrentUrls`; a pod of an
 * earlier release gives only `playlistUrl`, `webseedUrl` and `torrentUrl` (its origin's),
 * which then stand alone. The stream of the original is the original's own file, so the
 * copies the video lists for its original (its `webseedUrls` beyond the first, the `xs` of its
 * magnet) serve it too.
 */
import type { Video } from '../lib/types'
import type { Stream, StreamIn } from '../../src/videos/streams'
import type { Choosable } from './buffer/rendition'

/** A stream as the API shows it: the URLs are there by the fields of the pod's release (module doc). */
type StreamOut = StreamIn & Partial<Pick<Stream, 'playlistUrl' | 'webseedUrl' | 'torrentUrl' | 'playlistUrls' | 'webseedUrls' | 'torrentUrls'>>

/** One stream of a video, as the player plays it: a level of hls.js. */
export interface Level extends Choosable {
  /** What the Quality menu says: `Original (720p)`, `480p`. */
  label: string
  width: number
  bandwidth: number
  codecs?: string
  infoHash: string
  size: number
  /** Its media playlist, web seeds and .torrent at every pod that serves it, its origin first. */
  playlistUrls: string[]
  webseedUrls: string[]
  torrentUrls: string[]
  /** The trackers to announce to: the video's (its origin's, and those of pods that keep a copy). */
  trackers: string[]
}

/**
 * Every value of parameter `key` of a magnet URI, in order: `xs` (.torrent URLs), `tr`
 * (trackers), `ws` (web seeds) may each occur several times.
 */
function magnetParams(magnetUri: string, key: string): string[] {
  return new URLSearchParams(magnetUri.slice(magnetUri.indexOf('?') + 1)).getAll(key)
}

/** A web URL as browsers (and hls.js) write it; undefined for anything else. */
function webUrl(u: string): string | undefined {
  try {
    const url = new URL(u)
    return /^https?:$/.test(url.protocol) ? url.href : undefined
  } catch {
    return undefined
  }
}

/** The plural field, else the singular one, else none; web URLs only, each once. */
function urls(many: string[] | undefined, one: string | null | undefined, more: readonly string[] = []): string[] {
  return [...new Set([...(many ?? (one ? [one] : [])), ...more].flatMap((u) => webUrl(u) ?? []))]
}

/** The info hash of the video's original (lower case hex). */
function originalHash(video: Video): string {
  return video.infoHash ?? /xt=urn:btih:([0-9a-fA-F]{40})/.exec(video.magnetUri)?.[1]?.toLowerCase() ?? ''
}

/** The streams of a video as levels, in the API's order (lowest first); none for a video without streams. */
export function levelsOf(video: Video): Level[] {
  const original = originalHash(video)
  const trackers = magnetParams(video.magnetUri, 'tr')
  return ((video.streams ?? []) as StreamOut[]).flatMap((s) => {
    const same = s.infoHash === original
    const level: Level = {
      label: s.rendition === 0 ? `Original (${s.height}p)` : `${s.height}p`,
      height: s.height,
      width: s.width,
      bandwidth: s.bandwidth,
      ...(s.codecs ? { codecs: s.codecs } : {}),
      aligned: s.aligned !== false,
      infoHash: s.infoHash,
      size: s.size,
      playlistUrls: urls(s.playlistUrls, s.playlistUrl),
      webseedUrls: urls(s.webseedUrls, s.webseedUrl, same ? video.webseedUrls : []),
      torrentUrls: urls(s.torrentUrls, s.torrentUrl, same ? [...(video.torrentUrl ? [video.torrentUrl] : []), ...magnetParams(video.magnetUri, 'xs')] : []),
      trackers,
    }
    return level.playlistUrls.length ? [level] : []
  })
}

/** The video's master playlists (for browsers that play HLS themselves), its origin's first. */
export function masterUrlsOf(video: Video): string[] {
  return urls(video.masterPlaylistUrls, video.masterPlaylistUrl)
}

/**
 * The URLs whose bytes may be played as they come, unchecked by any piece hash (a plain `src`):
 * the first (the video's origin, whatever its host: an own file may be in a bucket) and those
 * on the pod that serves this page, which the viewer trusts already. A copy at a third pod is
 * used only through the torrent's hashes (the streams).
 */
export function trusted(all: readonly string[]): string[] {
  const here = (u: string) => {
    try {
      return new URL(u).origin === location.origin
    } catch {
      return false
    }
  }
  return all.filter((u, i) => i === 0 || here(u))
}
