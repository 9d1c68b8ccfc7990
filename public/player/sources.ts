/**
 * What a viewer can play of a video: its original file and each transcoded rendition, each
 * its own torrent with its own web seeds; and which one fits the screen.
 */
import type { Video } from '../lib/types'

/** One playable file: a video's original, or one of its renditions. */
export interface Source {
  /** The torrent's info hash (hex, lower case): what the player finds the torrent by. */
  infoHash: string
  magnetUri: string
  torrentUrl: string | null
  /** Every web seed: the origin's, and for an original those of the pods that mirror it. */
  webseedUrls: readonly string[]
  size: number | null
  duration: number | null
}

/** One entry of the quality menu. */
interface Choice {
  /** `original`, or the rendition's height (`240`): stable across reloads of the video. */
  key: string
  /** What the menu says: `Original (720p)` (`Original` while its height is unknown), `480p`. */
  label: string
  /** Height in pixels; undefined for an original of unknown height (a friend's video from an older pod). */
  height: number | undefined
  source: Source
}

/** The info hash of a magnet URI (lower case), or '' if it has none. */
function infoHashOf(magnetUri: string): string {
  return /xt=urn:btih:([0-9a-fA-F]{40})/.exec(magnetUri)?.[1]?.toLowerCase() ?? ''
}

/**
 * Every value of parameter `key` of a magnet URI, in order: `xs` (.torrent URLs), `tr`
 * (trackers), `ws` (web seeds) may each occur several times.
 */
export function magnetParams(magnetUri: string, key: string): string[] {
  return new URLSearchParams(magnetUri.slice(magnetUri.indexOf('?') + 1)).getAll(key)
}

/** A video's original file as a Source. */
function originalSource(video: Video): Source {
  return {
    infoHash: video.infoHash ?? infoHashOf(video.magnetUri),
    magnetUri: video.magnetUri,
    torrentUrl: video.torrentUrl,
    webseedUrls: video.webseedUrls,
    size: video.size,
    duration: video.duration,
  }
}

/** A rendition as the API shows it (`GET /api/v1/videos/:id`, `files`). */
interface RenditionOut {
  resolution: number
  infoHash: string
  size: number
  magnetUri?: string
  torrentUrl?: string
  webseedUrl?: string
}

/**
 * The menu of a video, best first: the original (labelled with its height when known, from
 * `height` or from the player once it has read the file: `knownHeight`), then every rendition
 * the API lists with its URLs, highest first.
 */
export function choicesOf(video: Video, knownHeight?: number): Choice[] {
  const height = video.height ?? knownHeight
  const original: Choice = { key: 'original', label: height ? `Original (${height}p)` : 'Original', height, source: originalSource(video) }
  const renditions = ((video.files ?? []) as RenditionOut[])
    .filter((f) => f.magnetUri && f.webseedUrl)
    .sort((a, b) => b.resolution - a.resolution)
    .map(
      (f): Choice => ({
        key: String(f.resolution),
        label: `${f.resolution}p`,
        height: f.resolution,
        source: { infoHash: f.infoHash, magnetUri: f.magnetUri!, torrentUrl: f.torrentUrl ?? null, webseedUrls: [f.webseedUrl!], size: f.size, duration: video.duration },
      }),
    )
  return [original, ...renditions]
}

/** A stream of the video (src/videos/streams.ts) as the stream player plays it: a level of its master playlist. */
export interface StreamChoice {
  /** What the menu says: `Original (720p)`, `480p`. */
  label: string
  height: number
  playlistUrl: string
  /** Its torrent and web seeds: the original's (with its mirrors) or its rendition's. */
  source: Source
}

/** The streams of a video, each with the Source of its file; none for a video without streams (an older pod's, or an older file). */
export function streamSources(video: Video): StreamChoice[] {
  const sources = new Map(choicesOf(video).map((c) => [c.key, c.source]))
  return (video.streams ?? []).flatMap((s) => {
    const source = sources.get(s.rendition === 0 ? 'original' : String(s.rendition))
    const playlistUrl = (s as { playlistUrl?: string }).playlistUrl
    if (!source || !playlistUrl) return []
    return [{ label: s.rendition === 0 ? `Original (${s.height}p)` : `${s.height}p`, height: s.height, playlistUrl, source: { ...source, size: s.size } }]
  })
}

/**
 * The choice that fits a player `neededPx` device pixels high (its CSS height times
 * devicePixelRatio): the smallest rendition at least that high, else the original. Renditions
 * are always below the original's height, so the original is the one to fall back to, known
 * height or not; and a rendition just big enough costs viewers and peers fewer bytes than
 * anything above it while looking the same on that screen.
 */
export function defaultChoice(choices: readonly Choice[], neededPx: number): Choice {
  const fitting = choices.filter((c) => c.key !== 'original' && c.height !== undefined && c.height >= neededPx)
  fitting.sort((a, b) => a.height! - b.height!)
  return fitting[0] ?? choices.find((c) => c.key === 'original') ?? choices[0]!
}
