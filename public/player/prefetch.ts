/**
 * What is fetched for a source while WebTorrent's code loads (a few hundred milliseconds in a
 * fresh tab), so that the torrent can start the moment the client is there: the .torrent (a
 * few KB; with it the torrent is ready at once instead of waiting for metadata from peers),
 * the head start, and whether each web seed answers.
 */
import { headStartBytes } from '../../src/shared/playback'
import { plainWebSeed } from './governor'
import { inMemory } from './memory-store'
import { answers, fetchCached, fetchStart, firstTorrent, ownPodFirst } from './pods'
import type { QuickStartInfo } from './quick'
import { magnetParams, type Source } from './sources'

/** What is being fetched for a source before its torrent is added. */
export interface Prefetch {
  /** The .torrent file, from the first of its URLs that answers. */
  torrent: Promise<Uint8Array | undefined>
  /** The head start (see `startBytes`): from the first web seed, or the quick start's from the browser's cache. */
  start: Promise<Uint8Array | undefined> | undefined
  /** Whether the head start came from the browser's cache: the quick start's bytes, counted already. */
  startCached: Promise<boolean>
  /** Per web seed URL: whether it answered. */
  probes: Map<string, Promise<boolean>>
}

/**
 * Starts fetching a source's .torrent and head start and asking its web seeds. With a quick
 * start of the same file, the head start is the quick start's own URL: the browser has it in
 * its cache, having just played it.
 */
export function prefetch(source: Source, quick?: QuickStartInfo): Prefetch {
  const seeds = ownPodFirst(source.webseedUrls)
  const bytes = quick ? undefined : startBytes(source)
  const cachedHead = quick && inMemory(source) && seeds.includes(withoutQuery(quick.src)) ? fetchCached(quick.src) : undefined
  const start = cachedHead ? cachedHead.then((h) => h.body) : bytes && seeds[0] ? fetchStart(seeds[0], bytes) : undefined
  const probes = new Map<string, Promise<boolean>>()
  // The first web seed answered already if it sent the head start: no need to ask it again.
  seeds.forEach((url, i) => probes.set(url, i === 0 && start ? start.then((b) => !!b || answers(url)) : answers(url)))
  return { torrent: firstTorrent(torrentUrls(source), source.infoHash), start, startCached: cachedHead?.then((h) => h.cached) ?? Promise.resolve(false), probes }
}

/** The .torrent URLs of a source: its `torrentUrl` and every `xs` of its magnet (mirrors add theirs). */
export function torrentUrls(source: Source): string[] {
  const xs = magnetParams(source.magnetUri, 'xs')
  return ownPodFirst([...(source.torrentUrl ? [source.torrentUrl] : []), ...xs].filter((u) => /^https?:\/\//.test(u)))
}

/**
 * How many bytes at the start of the file to fetch from a web seed while WebTorrent is still
 * loading: the head start (src/shared/playback.ts), when the video is held in memory (the only
 * store that takes it) and the web seed is governed. It is what the governor would have the
 * web seed serve first anyway, fetched a few hundred milliseconds sooner. Undefined: no head
 * start (a short video waits for peers instead).
 */
function startBytes(source: Source): number | undefined {
  if (!source.webseedUrls.length || plainWebSeed()) return undefined
  if (!inMemory(source)) return undefined
  return headStartBytes(source.size, source.duration)
}

/** `url` without its query: the web seed a quick start's `?head=` URL belongs to. */
function withoutQuery(url: string): string {
  const u = new URL(url, location.href)
  u.search = ''
  return u.href
}
