/**
 * The files BitTorrent clients and browsers fetch: web seeds (BEP 19, byte ranges, CORS) of
 * own videos, their renditions and the copies this pod keeps of friends' videos, and the
 * stored .torrent files.
 */
import { existsSync } from 'node:fs'
import { Elysia } from 'elysia'
import { errorResponse } from '../app/errors'
import type { LocalFile } from '../videos/service'
import { corsPreflight, serveFile } from './webseed'

/** `<id>.<ext>` (an original) or `<id>.<height>.mp4` (a rendition). */
const FILE = /^([A-Za-z0-9_-]{1,64})(?:\.(\d{2,5}))?\.([a-z0-9]{1,5})$/
const TORRENT = /^([0-9a-f]{40})\.torrent$/

/** Where the web seed finds files. */
export interface TorrentRoutesDeps {
  fingerprint: string
  /** An own video's file (original, or the rendition of `resolution`), or this pod's copy of a friend's video (`resolution` null). */
  file(id: string, resolution: number | null): LocalFile | undefined
  /** The stored .torrent of an info hash. */
  torrentPath(infoHash: string): string
}

/** Serves a file as a web seed: byte ranges, CORS, `?head=N`. */
function serveWebseed(deps: TorrentRoutesDeps, request: Request, name: string): Response {
  const m = FILE.exec(name)
  const file = m ? deps.file(m[1]!, m[2] ? Number(m[2]) : null) : undefined
  if (!file || !file.path.endsWith(`.${m![3]}`)) return errorResponse(404, 'not_found', `no video file ${name} on this pod`)
  // `?head=N`: the file's first N bytes, as a resource of their own: what a watch page plays
  // while WebTorrent gets ready (src/pages/routes.ts), the browser asking no further than that.
  const head = new URL(request.url).searchParams.get('head')
  if (head !== null && !/^[1-9]\d{0,15}$/.test(head)) return errorResponse(400, 'invalid_request', `head must be a positive number of bytes, not ${JSON.stringify(head)}`)
  return serveFile(request, file.path, {
    contentType: file.mime,
    cacheControl: 'public, max-age=31536000, immutable',
    ...(head === null ? {} : { head: Number(head) }),
  })
}

/** `/static/webseed/:file`, `/static/torrents/:infoHash.torrent`. */
export const torrentRoutes = (deps: TorrentRoutesDeps) =>
  new Elysia({ name: 'torrent-files', prefix: '/static', seed: deps.fingerprint })
    .get('/webseed/:file', ({ request, params }) => serveWebseed(deps, request, params.file))
    .head('/webseed/:file', ({ request, params }) => serveWebseed(deps, request, params.file))
    // Browsers ask before a cross-origin range request with WebTorrent's headers (a video of
    // another pod, or a mirror's copy): without this answer they never send the GET.
    .options('/webseed/:file', () => corsPreflight())
    .options('/torrents/:file', () => corsPreflight())
    .get('/torrents/:file', ({ request, params }) => {
      const m = TORRENT.exec(params.file)
      const path = m ? deps.torrentPath(m[1]!) : undefined
      if (!path || !existsSync(path)) return errorResponse(404, 'not_found', `no torrent ${params.file} on this pod`)
      return serveFile(request, path, { contentType: 'application/x-bittorrent', cacheControl: 'public, max-age=3600' })
    })
