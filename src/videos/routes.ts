/**
 * Video routes: the network index (list, search, one video), uploads, edits and deletions
 * of own videos, and the static files peers and browsers fetch: web seeds (BEP 19, byte
 * ranges), .torrent files and thumbnails (a friend's fetched from its origin once, then
 * served from this pod's cache).
 */
import { existsSync, statSync } from 'node:fs'
import { Elysia, t } from 'elysia'
import type { Pod } from '../app/pod'
import { writeSecretFile } from '../identity/keys'
import { corsPreflight, serveFile } from '../torrents/webseed'
import { searchVideos, VideoQuery } from './search'
import { receiveUpload } from './upload'
import { optionalUser, requireAdmin, requireUser } from '../accounts/auth'
import { ApiError, errorResponse } from '../shared/errors'

/** Body of `PATCH`/`PUT /api/v1/videos/:id`. */
export const VideoEdit = t.Object({
  name: t.Optional(t.String()),
  description: t.Optional(t.String()),
})
export type VideoEdit = typeof VideoEdit.static

const THUMBNAIL_MAX_BYTES = 2 * 1024 * 1024
/** `<id>.<ext>` (an original) or `<id>.<height>.mp4` (a rendition). */
const FILE = /^([A-Za-z0-9_-]{1,64})(?:\.(\d{2,5}))?\.([a-z0-9]{1,5})$/
const TORRENT = /^([0-9a-f]{40})\.torrent$/

/** Index and upload routes under `/api/v1/videos`. */
export const videoRoutes = (pod: Pod) =>
  new Elysia({ name: 'videos', prefix: '/api/v1/videos', seed: pod.identity.fingerprint })
    .onBeforeHandle(async ({ request }) => {
      if (pod.config.requireLoginToWatch && request.method === 'GET') await requireUser(pod, request)
    })
    .get('/', ({ query }) => searchVideos(pod.db, query, pod.identity.fingerprint, pod.config.url), { query: VideoQuery })
    .get('/:id', ({ params }) => {
      const video = pod.videos.get(params.id)
      if (!video) throw new ApiError(404, 'not_found', `no video with id ${params.id}`)
      pod.videos.watched(params.id)
      return video
    })
    .post(
      '/',
      async ({ request, set }) => {
        const user = await requireUser(pod, request)
        const upload = await receiveUpload(request, { tmpDir: pod.videos.files.tmp, maxBytes: pod.config.maxUploadBytes })
        const video = await pod.videos.ingest(user, upload)
        set.status = 201
        set.headers.location = `/api/v1/videos/${video.id}`
        return video
      },
      // The upload is streamed to disk by receiveUpload, never parsed into memory.
      { parse: 'none' },
    )
    .patch('/:id', async ({ request, params, body }) => pod.videos.update(params.id, await requireUser(pod, request), body), { body: VideoEdit })
    .put('/:id', async ({ request, params, body }) => pod.videos.update(params.id, await requireUser(pod, request), body), { body: VideoEdit })
    .post('/:id/transcode', async ({ request, params }) => ({ jobs: pod.videos.transcode(params.id, await requireUser(pod, request)) }))
    .get('/mirrors', async ({ request }) => {
      await requireAdmin(pod, request)
      const { enabled, budgetBytes, strategy } = pod.config.redundancy
      return { enabled, budgetBytes, strategy, usedBytes: pod.videos.mirrors.used(), mirrors: pod.videos.mirrors.own() }
    })
    .get('/transcoding/jobs', async ({ request }) => {
      await requireAdmin(pod, request)
      return { jobs: pod.videos.jobs() }
    })
    .delete('/:id', async ({ request, params, set }) => {
      pod.videos.remove(params.id, await requireUser(pod, request))
      set.status = 204
      return undefined
    })

/** Fetches a friend's thumbnail from its origin into this pod's cache; false if it cannot. */
async function cacheRemoteThumbnail(pod: Pod, id: string, path: string): Promise<boolean> {
  const video = pod.videos.get(id)
  if (!video) return false
  try {
    const res = await fetch(`${video.podUrl}/static/thumbnails/${id}.jpg`, { signal: AbortSignal.timeout(10_000) })
    if (!res.ok) return false
    const bytes = new Uint8Array(await res.arrayBuffer())
    // Only a JPEG of sane size is kept: the origin is a friend, not a trusted file source.
    if (bytes.length > THUMBNAIL_MAX_BYTES || bytes[0] !== 0xff || bytes[1] !== 0xd8) return false
    writeSecretFile(path, bytes)
    return true
  } catch {
    return false
  }
}

/** Serves an own video's file (original or rendition), or a copy of a friend's, as a web seed: byte ranges, CORS. */
function serveWebseed(pod: Pod, request: Request, name: string): Response {
  const m = FILE.exec(name)
  const id = m?.[1]
  const resolution = m?.[2] ? Number(m[2]) : null
  // An own file, or this pod's copy of a friend's video (redundancy).
  const copy = id && resolution === null ? pod.videos.mirrors.ownOf(id) : undefined
  const file = id ? (pod.videos.localFile(id, resolution) ?? (copy && pod.videos.mirrorFile(copy.infoHash))) : undefined
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

/** `/static/webseed/:file`, `/static/torrents/:infoHash.torrent`, `/static/thumbnails/:id.jpg`. */
export const staticRoutes = (pod: Pod) =>
  new Elysia({ name: 'static', prefix: '/static', seed: pod.identity.fingerprint })
    .get('/webseed/:file', ({ request, params }) => serveWebseed(pod, request, params.file))
    .head('/webseed/:file', ({ request, params }) => serveWebseed(pod, request, params.file))
    // Browsers ask before a cross-origin range request with WebTorrent's headers (a video of
    // another pod, or a mirror's copy): without this answer they never send the GET.
    .options('/webseed/:file', () => corsPreflight())
    .options('/torrents/:file', () => corsPreflight())
    .get('/torrents/:file', ({ request, params }) => {
      const m = TORRENT.exec(params.file)
      const path = m ? pod.videos.files.torrent(m[1]!) : undefined
      if (!path || !existsSync(path)) return errorResponse(404, 'not_found', `no torrent ${params.file} on this pod`)
      return serveFile(request, path, { contentType: 'application/x-bittorrent', cacheControl: 'public, max-age=3600' })
    })
    .get('/thumbnails/:file', async ({ request, params }) => {
      const m = /^([A-Za-z0-9_-]{1,64})\.jpg$/.exec(params.file)
      if (!m) return errorResponse(404, 'not_found', 'no such thumbnail')
      if (pod.config.requireLoginToWatch) await optionalUser(pod, request)
      const path = pod.videos.files.thumbnail(m[1]!)
      if (!existsSync(path) || !statSync(path).isFile()) {
        if (!(await cacheRemoteThumbnail(pod, m[1]!, path))) return errorResponse(404, 'not_found', 'no thumbnail for this video')
      }
      return serveFile(request, path, { contentType: 'image/jpeg', cacheControl: 'public, max-age=86400' })
    })
