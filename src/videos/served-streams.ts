/**
 * The streams a pod serves (src/videos/streams.ts): those of its own videos, and those of the
 * copies it keeps of friends' videos (src/redundancy/). Either way a stream is a file in the
 * pod's store with its media playlist stored beside it (`<file>.m3u8`, naming the file
 * relative to the playlist), served at the same paths (`/static/hls/<id>/...`).
 */
import { segmentsEnd } from '../media/hls'
import { playlistKey } from '../storage/keys'
import type { PodStorage } from '../storage/service'
import type { LocalFile } from './own-files'
import { segmentUri, type StreamIn } from './streams'

/** A video's streams as this pod serves them. */
export interface ServedStreams {
  /** The streams its master playlist lists, lowest first. */
  list: readonly StreamIn[]
  /** The file of one of them, by rendition; undefined for one this pod does not serve. */
  file(rendition: number): LocalFile | undefined
}

/** The media playlist of a served stream as it is stored (its file named relative to it). */
export async function storedPlaylist(storage: PodStorage, file: LocalFile): Promise<string | undefined> {
  const bytes = await storage.small(playlistKey(file.key))
  return bytes && new TextDecoder().decode(bytes)
}

/**
 * The media playlist of a served stream as viewers get it: a file in the bucket is named by
 * the URL viewers fetch it from (presigned URLs expire, so it is made per request from the
 * stored one).
 */
export async function viewerPlaylist(storage: PodStorage, file: LocalFile, id: string, rendition: number): Promise<string | undefined> {
  const text = await storedPlaylist(storage, file)
  const url = storage.viewerUrl(file.key)
  return text && url ? text.replaceAll(segmentUri(id, rendition), url) : text
}

/** The end of a served stream's first whole segments that hold `seconds` (from its media playlist). */
export async function streamHead(storage: PodStorage, file: LocalFile, seconds: number): Promise<number | undefined> {
  const text = await storedPlaylist(storage, file)
  return text === undefined ? undefined : segmentsEnd(text, seconds)
}
