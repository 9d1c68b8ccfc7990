/**
 * The files BitTorrent clients and browsers fetch: web seeds (BEP 19, byte ranges, CORS) of
 * own videos, their renditions and the copies this pod keeps of friends' videos' streams,
 * and the stored .torrent files. Files in a bucket (src/storage/) are not served through the pod: the
 * web seed redirects to the bucket's URL (but for a quick start's head, read through), and a
 * .torrent names the bucket's URL as its web seed, made per request (presigned URLs expire).
 */
import { existsSync } from 'node:fs'
import { Elysia } from 'elysia'
import { errorResponse } from '../shared/error-response'
import { headRoutes } from './head'
import { parseTorrentFile, parseVideoFile, torrentKey } from '../storage/keys'
import type { PodStorage } from '../storage/service'
import type { LocalFile } from '../videos/service'
import { withUrlList } from './torrent-file'
import { CORS_HEADERS, corsPreflight, redirectTo, serveFile, serveObject } from './webseed'

/** How long a browser may keep an answer naming a bucket's URL (presigned ones live an hour at least). */
const BUCKET_URL_CACHE_SECONDS = 600

const storageDown = () => errorResponse(503, 'storage_unavailable', "the pod's storage cannot be reached; try again later")

/** Where the web seed finds files. */
export interface TorrentRoutesDeps {
  fingerprint: string
  /** An own video's file (original, or the rendition of `resolution`), or this pod's copy of a stream of a friend's video (`resolution` null: the original's). */
  file(id: string, resolution: number | null): LocalFile | undefined
  /** The own file or copy with this info hash. */
  byInfoHash(infoHash: string): LocalFile | undefined
  /** The .torrent of a friend's file that this pod's checks of its mirrors trust (src/redundancy/proof.ts), for a file it keeps no copy of. */
  trustedTorrent(infoHash: string): Uint8Array | undefined
  storage: PodStorage
}

/** Serves a file as a web seed: byte ranges, CORS, `?head=N`. */
async function serveWebseed(deps: TorrentRoutesDeps, request: Request, name: string): Promise<Response> {
  const parsed = parseVideoFile(name)
  const file = parsed && deps.file(parsed.id, parsed.height)
  if (!file || !file.key.endsWith(`.${parsed!.ext}`)) return errorResponse(404, 'not_found', `no video file ${name} on this pod`)
  // `?head=N`: the file's first N bytes, as a resource of their own: what a watch page plays
  // while WebTorrent gets ready (src/pages/shell.ts), the browser asking no further than that.
  const head = new URL(request.url).searchParams.get('head')
  if (head !== null && !/^[1-9]\d{0,15}$/.test(head)) return errorResponse(400, 'invalid_request', `head must be a positive number of bytes, not ${JSON.stringify(head)}`)
  const opts = { contentType: file.mime, cacheControl: 'public, max-age=31536000, immutable', ...(head === null ? {} : { head: Number(head) }) }
  const source = deps.storage.source(file.key)
  if (source.kind === 'file') return serveFile(request, source.path, opts)
  // Not a redirect to a bucket that does not answer: a clear error, which players retry.
  if (!deps.storage.available()) return storageDown()
  // HEAD (a player's probe) and preflights are answered here: a presigned URL is for GET only,
  // and a browser does not follow a redirect of a preflight.
  if (head !== null || request.method !== 'GET') return serveObject(request, deps.storage, file.key, opts)
  // An object elsewhere has the URL viewers fetch it from.
  return redirectTo(deps.storage.viewerUrl(file.key)!)
}

/** Serves a stored .torrent; for a file in the bucket, with the bucket's URL as its web seed. */
async function serveTorrent(deps: TorrentRoutesDeps, request: Request, name: string): Promise<Response> {
  const infoHash = parseTorrentFile(name)
  if (!infoHash) return errorResponse(404, 'not_found', `no torrent ${name} on this pod`)
  const key = torrentKey(infoHash)
  const file = deps.byInfoHash(infoHash)
  const trusted = file ? undefined : deps.trustedTorrent(infoHash)
  if (trusted) return torrentResponse(request, trusted, 'public, max-age=3600')
  const seedUrl = file && deps.storage.viewerUrl(file.key)
  const source = deps.storage.source(key)
  if (source.kind === 'file' && !seedUrl) {
    if (!existsSync(source.path)) return errorResponse(404, 'not_found', `no torrent ${name} on this pod`)
    return serveFile(request, source.path, { contentType: 'application/x-bittorrent', cacheControl: 'public, max-age=3600' })
  }
  const stored = await deps.storage.small(key)
  if (!stored) return deps.storage.available() ? errorResponse(404, 'not_found', `no torrent ${name} on this pod`) : storageDown()
  const body = seedUrl ? await withUrlList(stored, [seedUrl]) : stored
  return torrentResponse(request, body, `private, max-age=${BUCKET_URL_CACHE_SECONDS}`)
}

/** A .torrent's bytes as an answer. */
function torrentResponse(request: Request, body: Uint8Array, cacheControl: string): Response {
  const headers = { ...CORS_HEADERS, 'Content-Type': 'application/x-bittorrent', 'Cache-Control': cacheControl, 'Content-Length': String(body.length) }
  return new Response(request.method === 'HEAD' ? null : (body as Uint8Array<ArrayBuffer>), { headers })
}

/** `/static/webseed/:file`, `/static/torrents/:infoHash.torrent`. */
export const torrentRoutes = (deps: TorrentRoutesDeps) =>
  new Elysia({ name: 'torrent-files', prefix: '/static', seed: deps.fingerprint })
    // A player's or a web seed client's HEAD gets the file's length (see head.ts).
    .use(
      headRoutes('torrent-files-head', deps.fingerprint, {
        '/static/webseed/:file': (request, params) => serveWebseed(deps, request, params.file!),
        '/static/torrents/:file': (request, params) => serveTorrent(deps, request, params.file!),
      }),
    )
    .get('/webseed/:file', ({ request, params }) => serveWebseed(deps, request, params.file))
    // Browsers ask before a cross-origin range request with WebTorrent's headers (a video of
    // another pod, or a mirror's copy): without this answer they never send the GET.
    .options('/webseed/:file', () => corsPreflight())
    .options('/torrents/:file', () => corsPreflight())
    .get('/torrents/:file', ({ request, params }) => serveTorrent(deps, request, params.file))
