/**
 * The torrents of a video's streams, read by ranges (segments.ts): one per stream, made on
 * the stream's first segment, with no piece selected, kept in the tab's bounded cache
 * (bounded-store.ts), and kept seeding what it holds while the tab is open (the last
 * KEEP_STREAM_TORRENTS of them).
 *
 * A stream's .torrent comes from the first of its URLs that answers with the expected info
 * hash (pods.ts); a torrent the tab holds already (played as a file before) is read as it is.
 * Its web seeds (the origin's, and for an original those of the pods that keep
 * a copy) are added as they answer, masked so that they serve only what the reader lets them.
 */
import { BoundedChunkStore } from './bounded-store'
import { debug } from './debug'
import { firstTorrent } from './pods'
import { torrentUrls } from './prefetch'
import { RangeReader } from './segments'
import { magnetParams, type Source } from './sources'
import { addWebSeeds, countersOf, whenReady } from './torrents'
import type { Torrent, WebTorrentClient } from './webtorrent'

/** Stream torrents kept per tab (each holds at most what the cache lets it). */
const KEEP_STREAM_TORRENTS = 12

const readers = new Map<string, Promise<RangeReader>>()

/** The reader of a stream's torrent, made (and its torrent added) on first call. */
export function readerOf(c: WebTorrentClient, source: Source): Promise<RangeReader> {
  const known = readers.get(source.infoHash)
  // A torrent destroyed since (the file player keeps its own number of torrents) is added again.
  if (known) return known.then((r) => (r.torrent.destroyed && readers.get(source.infoHash) === known ? (readers.delete(source.infoHash), readerOf(c, source)) : r))
  const r = open(c, source)
  readers.set(source.infoHash, r)
  // A stream whose .torrent failed is asked again next time.
  r.catch(() => readers.delete(source.infoHash))
  return r
}

async function open(c: WebTorrentClient, source: Source): Promise<RangeReader> {
  const held = await c.get(source.infoHash)
  if (held) return new RangeReader(held, () => undefined)
  // Streams are played where their playlists came from: a pod that also has the .torrent.
  // None answering (its pod went down since) is a failure the player retries, not a wait.
  const file = await firstTorrent(torrentUrls(source), source.infoHash)
  if (!file) throw new Error('no pod answers with the .torrent of this stream')
  let store: BoundedChunkStore | undefined
  const torrent: Torrent = c.add(file, {
    announce: magnetParams(source.magnetUri, 'tr'),
    deselect: true,
    store: BoundedChunkStore,
    // The bounded store is in memory already: no cache in front of it.
    storeCacheSlots: 0,
    storeOpts: {
      onStore: (s: BoundedChunkStore) => (store = s),
      onEvict: (i: number) => torrent.destroyed || torrent._markUnverified(i),
    },
  })
  countersOf(torrent)
  dropOld(c)
  await whenReady(torrent)
  debug('stream torrent ready', { infoHash: source.infoHash, pieces: torrent.pieces.length, pieceLength: torrent.pieceLength })
  const reader = new RangeReader(torrent, () => store)
  addWebSeeds(torrent, source, new Map())
  return reader
}

/** Destroys the oldest stream torrents beyond KEEP_STREAM_TORRENTS. */
function dropOld(c: WebTorrentClient): void {
  const hashes = [...readers.keys()]
  for (const hash of hashes.slice(0, Math.max(0, hashes.length - KEEP_STREAM_TORRENTS))) {
    readers.delete(hash)
    c.get(hash).then((t) => t?.destroy({ destroyStore: true }))
  }
}
