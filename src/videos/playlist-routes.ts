/**
 * The HLS playlists of the streams this pod serves (src/videos/served-streams.ts: its own
 * videos', and those of the copies it keeps of friends' videos): a master playlist of every
 * stream of a video, and each stream's media playlist (byte ranges into its web seed file).
 * Native HLS players (Safari, VLC, mpv, ffmpeg, TVs) play `/static/hls/<id>/master.m3u8` as
 * it is; the watch page's player reads the media playlists and fetches the bytes from the
 * torrents. Public like the web seeds (CORS, no login).
 */
import { Elysia } from 'elysia'
import { errorResponse } from '../shared/error-response'
import type { PodStorage } from '../storage/service'
import { headRoutes } from '../torrents/head'
import { corsPreflight, serveFile } from '../torrents/webseed'
import { playlistKey } from '../storage/keys'
import { viewerPlaylist, type ServedStreams } from './served-streams'
import { masterPlaylist, renditionOfPlaylist } from './streams'

const PLAYLIST_TYPE = 'application/vnd.apple.mpegurl'

/** What the playlist routes serve from. */
export interface PlaylistRoutesDeps {
  fingerprint: string
  storage: PodStorage
  /** The streams this pod serves of a video (an own one's, or a copy's); undefined when none. */
  streams(id: string): ServedStreams | undefined
}

/** A playlist made per request; a HEAD gets its length, not its text. */
function playlist(request: Request, text: string, headers: Record<string, string>): Response {
  return new Response(request.method === 'HEAD' ? null : text, { headers: { ...headers, 'content-length': String(Buffer.byteLength(text)) } })
}

/** `GET`/`HEAD /static/hls/:id/master.m3u8`, `/static/hls/:id/<original|height>.m3u8`. */
export const playlistRoutes = ({ fingerprint, storage, streams }: PlaylistRoutesDeps) => {
  const serve = async (request: Request, id: string | null, name: string | null): Promise<Response> => {
    // Elysia gives null for a parameter whose escapes do not decode (`%C0%AF`): no such playlist.
    if (id === null || name === null) return errorResponse(404, 'not_found', 'no such playlist: its path does not decode')
    // Only a pod that has the files has their playlists.
    const served = streams(id)
    if (!served?.list.length) return errorResponse(404, 'not_found', `no video ${id} with streams on this pod`)
    if (name === 'master.m3u8') {
      const headers = { 'content-type': PLAYLIST_TYPE, 'access-control-allow-origin': '*', 'cache-control': 'no-cache' }
      return playlist(request, masterPlaylist(served.list), headers)
    }
    const rendition = renditionOfPlaylist(name.replace(/\.m3u8$/, ''))
    const file = name.endsWith('.m3u8') && rendition !== undefined && served.list.some((s) => s.rendition === rendition) ? served.file(rendition) : undefined
    if (!file || rendition === undefined) return errorResponse(404, 'not_found', `no playlist ${name} of video ${id}`)
    const source = storage.source(playlistKey(file.key))
    // A rendition made again (after a failed job) is a new file: the playlist may change, so ask again each hour.
    if (source.kind === 'file' && !storage.viewerUrl(file.key)) return serveFile(request, source.path, { contentType: PLAYLIST_TYPE, cacheControl: 'public, max-age=3600' })
    // In the bucket: made per request, naming the file by the bucket's (possibly presigned) URL.
    const text = await viewerPlaylist(storage, file, id, rendition)
    if (text === undefined) return errorResponse(503, 'storage_unavailable', `the playlist ${name} of video ${id} cannot be read from the pod's storage now`)
    const headers = { 'content-type': PLAYLIST_TYPE, 'access-control-allow-origin': '*', 'cache-control': 'private, max-age=600' }
    return playlist(request, text, headers)
  }
  return new Elysia({ name: 'playlists', prefix: '/static/hls', seed: fingerprint })
    // A native HLS player's HEAD gets the playlist's length (see src/torrents/head.ts).
    .use(headRoutes('playlists-head', fingerprint, { '/static/hls/:id/:file': (request, params) => serve(request, params.id!, params.file!) }))
    .get('/:id/:file', ({ request, params }) => serve(request, params.id as string | null, params.file as string | null))
    .options('/:id/:file', () => corsPreflight())
}
