/**
 * The torrents of the tab's client: adding one for a source (held in memory with its head
 * start when small enough), counting where its bytes came from, adding its web seeds as they
 * answer under the governor that masks them, and keeping the tab's seeding bounded.
 *
 * What is kept per torrent (counters, governor, web seeds added) lives as long as the torrent:
 * a video played again in the same tab reuses its torrent, and all of that with it.
 */
import type { GovernorOptions } from '../../src/shared/playback'
import { debug } from './debug'
import { plainWebSeed, WebSeedGovernor } from './governor'
import { inMemory, MemoryChunkStore } from './memory-store'
import { answers, ownPodFirst } from './pods'
import type { Prefetch } from './prefetch'
import type { QuickStartInfo } from './quick'
import { magnetParams, type Source } from './sources'
import type { Torrent, WebTorrentClient, Wire } from './webtorrent'

/** Torrents kept seeding per tab, besides the one playing. */
const KEEP_SEEDING = 3

/** A web seed that did not answer is asked again this often (its pod may come back). */
const REPROBE_MS = 15_000

/** Bytes a torrent received, by where from; kept across playbacks of the same video. */
interface Counters {
  fromPeers: number
  fromWebSeed: number
}

const counters = new WeakMap<Torrent, Counters>()

/** One governor per torrent: it owns the web seed's mask for the torrent's life. */
const governors = new WeakMap<Torrent, WebSeedGovernor>()

/** Torrents whose web seeds are being added (once per torrent, as each answers). */
const seeded = new WeakSet<Torrent>()

/** The byte counters of a torrent, counting from its first call on (wires are watched as they come). */
export function countersOf(torrent: Torrent): Counters {
  let c = counters.get(torrent)
  if (c) return c
  const fresh: Counters = { fromPeers: 0, fromWebSeed: 0 }
  counters.set(torrent, fresh)
  const seen = new WeakSet<Wire>()
  const watch = (w: Wire) => {
    if (seen.has(w)) return
    seen.add(w)
    w.on('download', (n) => {
      if (w.type === 'webSeed') fresh.fromWebSeed += n
      else fresh.fromPeers += n
    })
  }
  for (const w of torrent.wires) watch(w)
  torrent.on('wire', watch)
  return fresh
}

/** Resolves once the torrent has its metadata (at once when added from a .torrent file). */
export function whenReady(t: Torrent): Promise<void> {
  return t.ready ? Promise.resolve() : new Promise((resolve) => t.once('ready', resolve))
}

/**
 * Adds `source`'s torrent to the client, from its .torrent `file` when one was fetched, else
 * from its magnet (peers then send the metadata). Bytes that came from the web seed before
 * the torrent existed (the quick start, the head start) are counted as web seed bytes. The
 * oldest torrents beyond KEEP_SEEDING are dropped.
 */
export async function addTorrent(c: WebTorrentClient, source: Source, file: Uint8Array | undefined, pre: Prefetch, quick?: QuickStartInfo): Promise<Torrent> {
  // The magnet without its web seeds (`ws`): the player adds those that answer, masked by
  // the governor. Its `xs` still let WebTorrent fetch the .torrent if the prefetch failed.
  const magnet = source.magnetUri.replace(/&ws=[^&]*/g, '')
  const start = await pre.start
  const startCached = await pre.startCached
  const torrent = c.add(file ?? magnet, {
    announce: magnetParams(source.magnetUri, 'tr'),
    ...(inMemory(source) ? { store: MemoryChunkStore, storeOpts: { preload: start } } : {}),
  })
  const counted = countersOf(torrent)
  // What the quick start played came from the web seed (the browser may have taken less).
  if (quick) counted.fromWebSeed += Math.min(quick.bytes, source.size ?? Infinity)
  // A head start from the browser's cache is the quick start's bytes, counted just above.
  if (start && !startCached) countHeadStart(torrent, start, counted)
  // Keep the tab's seeding bounded: drop the oldest torrents beyond KEEP_SEEDING.
  for (const old of c.torrents.slice(0, Math.max(0, c.torrents.length - KEEP_SEEDING - 1))) old.destroy({ destroyStore: true })
  return torrent
}

/**
 * Counts the head start's pieces that passed the hash check as web seed bytes, once the torrent
 * is ready: up to the first piece that is not whole in it or did not pass.
 */
function countHeadStart(t: Torrent, start: Uint8Array, counted: Counters): void {
  whenReady(t).then(() => {
    let pieces = 0
    for (let i = 0; i * t.pieceLength < start.length; i++) {
      const length = Math.min(t.pieceLength, t.length - i * t.pieceLength)
      if (i * t.pieceLength + length > start.length || !t.bitfield.get(i)) break
      counted.fromWebSeed += length
      pieces++
    }
    debug('head start', { bytes: start.length, pieces })
  })
}

/**
 * The governor of a torrent, made on first call; none for a complete torrent (nothing left to
 * govern) or with the web seed `plain` (plainWebSeed).
 */
export function governorOf(t: Torrent, source: Source, opts?: Partial<GovernorOptions>): WebSeedGovernor | undefined {
  let governor = governors.get(t)
  if (!governor && !t.done && !plainWebSeed()) {
    governor = new WebSeedGovernor(t, { duration: source.duration ?? undefined, ...opts })
    governors.set(t, governor)
  }
  return governor
}

/**
 * Adds each of the source's web seeds to the torrent once it answers (once per torrent). One
 * that does not (its pod is down) is not added: WebTorrent would hand it pieces whose requests
 * then fail or hang, holding up playback; it is asked again every REPROBE_MS while the torrent
 * is incomplete.
 */
export function addWebSeeds(t: Torrent, source: Source, probes: Map<string, Promise<boolean>>): void {
  if (seeded.has(t)) return
  seeded.add(t)
  for (const url of ownPodFirst(source.webseedUrls)) {
    const attempt = (probe: Promise<boolean>) =>
      probe.then((ok) => {
        if (t.destroyed || t.done) return
        debug('web seed', { url, ok })
        if (ok) t.addWebSeed(url)
        else setTimeout(() => attempt(answers(url)), REPROBE_MS)
      })
    attempt(probes.get(url) ?? answers(url))
  }
}
