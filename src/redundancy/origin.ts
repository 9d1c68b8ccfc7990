/**
 * What a copy takes from a stream's origin before downloading it: the stream's .torrent and
 * its media playlist, both checked against what the index says of the stream (info hash,
 * size, file name; byte ranges inside the file), so a hostile origin can neither send this
 * pod's BitTorrent client elsewhere, nor overrun the budget, nor have it serve anything but
 * byte ranges of a file whose hashes it checked.
 */
import type { LoadedStream, StreamCandidate } from '../../actors/redundancy'
import { normalizedPlaylist } from '../media/hls'
import { DomainError } from '../shared/errors'
import type { Outbound } from '../shared/outbound'
import { torrentUrl, trackerUrls, webseedUrl } from '../shared/urls'
import { streamFile } from '../storage/keys'
import { retargetTorrent } from '../torrents/torrent-file'
import type { VideoStore } from '../videos/store'
import { mediaPlaylistUrl, segmentUri } from '../videos/streams'

/** A .torrent file or a media playlist is small; a larger answer is not one (a playlist of 10 hours of 2 s segments is about 1.2 MB). */
const SMALL_MAX_BYTES = 4 * 1024 * 1024

/** Fetches a small file of the origin through the outbound client. */
async function fetchSmall(outbound: Outbound, url: string, accept: string, what: 'torrent' | 'playlist'): Promise<Uint8Array> {
  const res = await outbound.get(url, { maxBytes: SMALL_MAX_BYTES, accept })
  if (!res.ok) throw new DomainError('upstream_failed', `${what}_unreachable`, `the origin's ${what} could not be fetched: ${res.error.message}`)
  if (res.value.status !== 200) throw new DomainError('upstream_failed', `${what}_refused`, `the origin answered ${res.value.status} for the ${what}`)
  return res.value.body
}

/** Fetches and checks a stream's .torrent and media playlist at its origin, for a copy of it. */
export async function loadStream(videoRows: VideoStore, outbound: Outbound, id: string, stream: StreamCandidate): Promise<LoadedStream> {
  const row = videoRows.row(id)
  if (!row) throw new DomainError('not_found', 'video_gone', 'the video left the index')
  const name = streamFile(id, stream.rendition)
  const torrentFile = await fetchSmall(outbound, torrentUrl(row.pod_url, stream.infoHash), 'application/x-bittorrent', 'torrent')
  // Only from the origin: its trackers and its web seed of this file, whatever the file said.
  const retargeted = await retargetTorrent(torrentFile, { announce: trackerUrls(row.pod_url), urlList: [webseedUrl(row.pod_url, name)] }).catch((cause) => {
    throw new DomainError('upstream_failed', 'not_a_torrent', 'the origin served something that is not a torrent', undefined, { cause })
  })
  // The index said which info hash and size (what the budget reserved): a torrent of another
  // hash is not that stream, one of another length would overrun the budget, and one of
  // another name (or of several files) would be saved elsewhere than the copy's folder says.
  const refused = (code: string, message: string) => new DomainError('upstream_failed', code, message)
  if (retargeted.infoHash !== stream.infoHash) throw refused('torrent_mismatch', 'the origin served a torrent of another info hash')
  if (retargeted.length !== stream.size) throw refused('torrent_mismatch', `the torrent has ${retargeted.length} bytes, not the ${stream.size} the origin declared`)
  if (retargeted.name !== name || retargeted.files !== 1) throw refused('torrent_mismatch', `the torrent is not the single file ${name}`)
  const text = await fetchSmall(outbound, mediaPlaylistUrl(row.pod_url, id, stream.rendition), 'application/vnd.apple.mpegurl', 'playlist')
  const playlist = normalizedPlaylist(new TextDecoder().decode(text), segmentUri(id, stream.rendition), stream.size)
  if (!playlist.ok) throw DomainError.of(playlist.error)
  return { torrent: retargeted.torrent, torrentFile, playlist: playlist.value }
}
