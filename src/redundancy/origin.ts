/**
 * What a copy takes from a stream's origin before downloading it: the stream's .torrent and
 * its media playlist, both checked against what the index says of the stream (info hash,
 * size, file name; byte ranges inside the file), so a hostile origin can neither send this
 * pod's BitTorrent client elsewhere, nor overrun the budget, nor have it serve anything but
 * byte ranges of a file whose hashes it checked.
 */
import type { Database } from 'bun:sqlite'
import type { LoadedStream, StreamCandidate } from '../../actors/redundancy'
import { normalizedPlaylist } from '../media/hls'
import type { Outbound } from '../shared/outbound'
import { torrentUrl, trackerUrls, webseedUrl } from '../shared/urls'
import { retargetTorrent } from '../torrents/torrent-file'
import { videoRowById } from '../videos/model'
import { mediaPlaylistUrl, segmentUri, streamFileName } from '../videos/streams'

/** A .torrent file or a media playlist is small; a larger answer is not one (a playlist of 10 hours of 2 s segments is about 1.2 MB). */
const SMALL_MAX_BYTES = 4 * 1024 * 1024

/** Fetches a small file of the origin through the outbound client. */
async function fetchSmall(outbound: Outbound, url: string, accept: string, what: string): Promise<Uint8Array> {
  const res = await outbound.get(url, { maxBytes: SMALL_MAX_BYTES, accept })
  if (!res.ok) throw new Error(`the origin's ${what} could not be fetched: ${res.message}`)
  if (res.status !== 200) throw new Error(`the origin answered ${res.status} for the ${what}`)
  return res.body
}

/** Fetches and checks a stream's .torrent and media playlist at its origin, for a copy of it. */
export async function loadStream(db: Database, outbound: Outbound, id: string, stream: StreamCandidate): Promise<LoadedStream> {
  const row = videoRowById(db, id)
  if (!row) throw new Error('the video left the index')
  const name = streamFileName(id, stream.rendition)
  const torrentFile = await fetchSmall(outbound, torrentUrl(row.pod_url, stream.infoHash), 'application/x-bittorrent', 'torrent')
  // Only from the origin: its trackers and its web seed of this file, whatever the file said.
  const retargeted = await retargetTorrent(torrentFile, { announce: trackerUrls(row.pod_url), urlList: [webseedUrl(row.pod_url, name)] }).catch(() => {
    throw new Error('the origin served something that is not a torrent')
  })
  // The index said which info hash and size (what the budget reserved): a torrent of another
  // hash is not that stream, one of another length would overrun the budget, and one of
  // another name (or of several files) would be saved elsewhere than the copy's folder says.
  if (retargeted.infoHash !== stream.infoHash) throw new Error('the origin served a torrent of another info hash')
  if (retargeted.length !== stream.size) throw new Error(`the torrent has ${retargeted.length} bytes, not the ${stream.size} the origin declared`)
  if (retargeted.name !== name || retargeted.files !== 1) throw new Error(`the torrent is not the single file ${name}`)
  const text = await fetchSmall(outbound, mediaPlaylistUrl(row.pod_url, id, stream.rendition), 'application/vnd.apple.mpegurl', 'playlist')
  const playlist = normalizedPlaylist(new TextDecoder().decode(text), segmentUri(id, stream.rendition), stream.size)
  return { torrent: retargeted.torrent, torrentFile, playlist }
}
