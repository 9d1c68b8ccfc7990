/**
 * What viewers are given of a video's mirrors (src/videos/service.ts, `get`): only the mirrors
 * this pod proved (checks.ts; its own copies are), and of each only where a viewer fetches
 * bytes: its web seeds and, for a stream, its playlists. Never a friend's tracker, which would
 * learn the address of every viewer and could hand them peers of its choosing; nor a friend's
 * .torrent, whose trackers and web seeds lie outside the info hash a player checks. A viewer's
 * .torrent is the origin's, or this pod's (the same file: the one its copy keeps, or the one
 * its checks trust), and the trackers are the origin's, and this pod's when it keeps a copy.
 */
import { sourceParams, torrentUrl, webseedUrl } from '../shared/urls'
import type { Video } from '../videos/model'
import type { StreamIn } from '../videos/streams'
import type { KnownMirror, KnownMirrors } from './known-store'
import type { MirrorStore } from './store'

/** The pod a video is read at: its URL and fingerprint, and whether it serves a file's .torrent (src/torrents/routes.ts). */
export interface ReadingPod {
  url: string
  fingerprint: string
  servesTorrent(infoHash: string): boolean
}

/** This pod as the pod videos are read at: it serves the .torrent of a friend's file it keeps a copy of, or whose mirrors it checks. */
export function readingPod(self: { url: string; fingerprint: string }, copies: MirrorStore, known: KnownMirrors): ReadingPod {
  return { ...self, servesTorrent: (infoHash) => copies.byInfoHash(infoHash)?.state === 'ready' || known.hasTrustedTorrent(infoHash) }
}

/**
 * The pods listed as keeping a copy of each stream of a video (its playlist and file), by the
 * stream's info hash, and those keeping every one of its streams (whose master playlist is
 * the origin's); the origin itself is not one of them. `mirrors`: the listed ones.
 */
export function streamCopies(mirrors: readonly KnownMirror[], origin: string, streams: readonly StreamIn[]): { byInfoHash: Map<string, string[]>; complete: string[] } {
  const byInfoHash = new Map<string, string[]>()
  for (const s of streams) {
    const pods = mirrors.filter((m) => m.fingerprint !== origin && m.rendition === s.rendition && m.infoHash === s.infoHash).map((m) => m.podUrl)
    byInfoHash.set(s.infoHash, pods)
  }
  const complete = [...new Set(mirrors.map((m) => m.podUrl))].filter((url) => streams.length > 0 && streams.every((s) => byInfoHash.get(s.infoHash)!.includes(url)))
  return { byInfoHash, complete }
}

/** The pods besides the origin whose .torrent of a file a viewer may fetch: the reading pod, when it serves it. */
export function torrentPods(here: ReadingPod, origin: string, infoHash: string): string[] {
  return here.fingerprint !== origin && here.servesTorrent(infoHash) ? [here.url] : []
}

/**
 * A video with its listed mirrors of the original's file added as web seeds (`webseedUrls`
 * and `ws`), so that a viewer plays it from them when its origin is down; and, at a pod
 * that serves the file's .torrent, that .torrent (`xs`), with the pod's trackers (`tr`) when
 * it keeps a copy.
 */
export function withMirrors<V extends Video>(video: V, mirrors: readonly KnownMirror[], fileName: string, here: ReadingPod): V {
  const infoHash = video.infoHash
  if (!infoHash || here.fingerprint === video.podFingerprint) return withWebSeeds(video, mirrors, fileName)
  const keeps = mirrors.some((m) => m.infoHash === infoHash && m.fingerprint === here.fingerprint)
  const others = mirrors.filter((m) => m.fingerprint !== here.fingerprint)
  const seeded = withWebSeeds(video, others, fileName)
  if (keeps) return { ...seeded, webseedUrls: [...seeded.webseedUrls, webseedUrl(here.url, fileName)], magnetUri: seeded.magnetUri + sourceParams(here.url, fileName, infoHash) }
  if (!here.servesTorrent(infoHash)) return seeded
  return { ...seeded, magnetUri: `${seeded.magnetUri}&xs=${encodeURIComponent(torrentUrl(here.url, infoHash))}` }
}

/** A video with the web seeds of the mirrors of its original's file. */
function withWebSeeds<V extends Video>(video: V, mirrors: readonly KnownMirror[], fileName: string): V {
  const seeds = mirrors.filter((m) => m.infoHash === video.infoHash && m.fingerprint !== video.podFingerprint).map((m) => webseedUrl(m.podUrl, fileName))
  if (!seeds.length) return video
  return { ...video, webseedUrls: [...video.webseedUrls, ...seeds], magnetUri: video.magnetUri + seeds.map((s) => `&ws=${encodeURIComponent(s)}`).join('') }
}
