/**
 * The torrents of a video's streams, read by ranges (segments.ts): one per stream, made on
 * the stream's first segment, with no piece selected, kept in the tab's bounded piece cache
 * (store.ts), and kept seeding what it holds while the tab is open (the last KEEP_TORRENTS).
 *
 * A stream's .torrent comes from the first of its URLs that answers with the expected info
 * hash (pods.ts). Its web seeds (every pod that serves the stream) are added as they answer,
 * masked so that they serve only what the governor lets them (governor.ts); one that does not
 * answer (its pod is down) is not added: WebTorrent would hand it pieces whose requests then
 * fail or hang, holding up playback. It is asked again every REPROBE_MS.
 */
import { debug } from '../debug'
import { answers, firstTorrent, ownPodFirst } from '../pods'
import type { Level } from '../video'
import { RangeReader } from './segments'
import { BoundedChunkStore, PieceBudget } from './store'
import type { Torrent, WebTorrentClient, Wire } from './webtorrent'

/** Stream torrents kept per tab (each holds at most what the cache lets it). */
const KEEP_TORRENTS = 12

/** A web seed that did not answer is asked again this often (its pod may come back). */
const REPROBE_MS = 15_000

/** Bytes a torrent received, by where from. */
export interface Counters {
  fromPeers: number
  fromWebSeed: number
}

const counters = new WeakMap<Torrent, Counters>()

const readers = new Map<string, Promise<RangeReader>>()

/** The tab's piece cache, shared by every stream torrent (its cap: config `player.cacheBytes`, set by the player). */
export const pieceCache = new PieceBudget(64 * 1024 * 1024)

/** The byte counters of a torrent (wires are watched as they come); zeros for one not counted. */
export function countersOf(torrent: Torrent): Counters {
  return counters.get(torrent) ?? { fromPeers: 0, fromWebSeed: 0 }
}

/** Counts where a torrent's bytes come from, from now on. */
function count(torrent: Torrent): void {
  const c: Counters = { fromPeers: 0, fromWebSeed: 0 }
  counters.set(torrent, c)
  const watch = (w: Wire) =>
    w.on('download', (n) => {
      if (w.type === 'webSeed') c.fromWebSeed += n
      else c.fromPeers += n
    })
  for (const w of torrent.wires) watch(w)
  torrent.on('wire', watch)
}

/** The reader of a stream's torrent, made (and its torrent added) on first call. */
export function readerOf(c: WebTorrentClient, level: Level): Promise<RangeReader> {
  const known = readers.get(level.infoHash)
  if (known) return known
  const r = open(c, level)
  readers.set(level.infoHash, r)
  // A stream whose .torrent failed is asked again next time.
  r.catch(() => readers.delete(level.infoHash))
  return r
}

async function open(c: WebTorrentClient, level: Level): Promise<RangeReader> {
  // None answering (every pod that serves it went down since its playlist came) is a
  // failure the player retries, not a wait.
  const file = await firstTorrent(ownPodFirst(level.torrentUrls), level.infoHash)
  if (!file) throw new Error('no pod answers with the .torrent of this stream')
  let store: BoundedChunkStore | undefined
  const torrent: Torrent = c.add(file, {
    announce: level.trackers,
    deselect: true,
    store: BoundedChunkStore,
    // The bounded store is in memory already: no cache in front of it.
    storeCacheSlots: 0,
    storeOpts: {
      budget: pieceCache,
      onStore: (s: BoundedChunkStore) => (store = s),
      onEvict: (i: number) => torrent.destroyed || torrent._markUnverified(i),
    },
  })
  count(torrent)
  dropOld(c)
  if (!torrent.ready) await new Promise<void>((resolve) => torrent.once('ready', resolve))
  debug('stream torrent ready', { infoHash: level.infoHash, pieces: torrent.pieces.length, pieceLength: torrent.pieceLength })
  const reader = new RangeReader(torrent, () => store)
  addWebSeeds(torrent, level.webseedUrls)
  return reader
}

/** Adds each web seed to the torrent once it answers (see module doc). */
function addWebSeeds(t: Torrent, urls: readonly string[]): void {
  for (const url of ownPodFirst(urls)) {
    const attempt = () =>
      answers(url).then((ok) => {
        if (t.destroyed || t.done) return
        debug('web seed', { url, ok })
        if (ok) t.addWebSeed(url)
        else setTimeout(attempt, REPROBE_MS)
      })
    attempt()
  }
}

/** Destroys the oldest stream torrents beyond KEEP_TORRENTS. */
function dropOld(c: WebTorrentClient): void {
  const hashes = [...readers.keys()]
  for (const hash of hashes.slice(0, Math.max(0, hashes.length - KEEP_TORRENTS))) {
    readers.delete(hash)
    c.get(hash).then((t) => t?.destroy({ destroyStore: true }))
  }
}
