/**
 * The HLS playlists of own videos (src/videos/streams.ts): a master playlist of every stream
 * of a video, and each stream's media playlist (byte ranges into its web seed file). Native HLS
 * players (Safari, VLC, mpv, ffmpeg, TVs) play `/static/hls/<id>/master.m3u8` as it is; the
 * watch page's player reads the media playlists and fetches the bytes from the torrents.
 * Public like the web seeds (CORS, no login).
 */
import { Elysia } from 'elysia'
import { errorResponse } from '../app/errors'
import { corsPreflight, serveFile } from '../torrents/webseed'
import type { Videos } from './service'
import { streamPlaylistKey } from '../storage/keys'
import { masterPlaylist, renditionOfPlaylist } from './streams'

const PLAYLIST_TYPE = 'application/vnd.apple.mpegurl'

/** `GET`/`HEAD /static/hls/:id/master.m3u8`, `/static/hls/:id/<original|height>.m3u8`. */
export const playlistRoutes = ({ fingerprint, videos }: { fingerprint: string; videos: Videos }) => {
  const serve = async (request: Request, id: string, file: string): Promise<Response> => {
    // Only the origin has the playlists (and the files they point into).
    const list = (videos.localFile(id) && videos.get(id)?.streams) || []
    if (!list.length) return errorResponse(404, 'not_found', `no video ${id} with streams on this pod`)
    if (file === 'master.m3u8') {
      const headers = { 'content-type': PLAYLIST_TYPE, 'access-control-allow-origin': '*', 'cache-control': 'no-cache' }
      return new Response(request.method === 'HEAD' ? null : masterPlaylist(list), { headers })
    }
    const rendition = renditionOfPlaylist(file.replace(/\.m3u8$/, ''))
    if (!file.endsWith('.m3u8') || rendition === undefined || !list.some((s) => s.rendition === rendition))
      return errorResponse(404, 'not_found', `no playlist ${file} of video ${id}`)
    const storage = videos.files.storage
    const source = storage.source(streamPlaylistKey(id, rendition))
    const stream = videos.localFile(id, rendition === 0 ? null : rendition)
    // A rendition made again (after a failed job) is a new file: the playlist may change, so ask again each hour.
    if (source.kind === 'file' && !(stream && storage.viewerUrl(stream.key))) return serveFile(request, source.path, { contentType: PLAYLIST_TYPE, cacheControl: 'public, max-age=3600' })
    // In the bucket: made per request, naming the file by the bucket's (possibly presigned) URL.
    const text = await videos.own.mediaPlaylist(id, rendition)
    if (text === undefined) return errorResponse(503, 'storage_unavailable', `the playlist ${file} of video ${id} cannot be read from the pod's storage now`)
    const headers = { 'content-type': PLAYLIST_TYPE, 'access-control-allow-origin': '*', 'cache-control': 'private, max-age=600' }
    return new Response(request.method === 'HEAD' ? null : text, { headers })
  }
  return new Elysia({ name: 'playlists', prefix: '/static/hls', seed: fingerprint })
    .get('/:id/:file', ({ request, params }) => serve(request, params.id, params.file))
    .head('/:id/:file', ({ request, params }) => serve(request, params.id, params.file))
    .options('/:id/:file', () => corsPreflight())
}
