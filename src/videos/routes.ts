/**
 * Video routes: the network index (list, search, one video), uploads, edits and deletions
 * of own videos, and thumbnails (a friend's fetched from its origin once, then served from
 * this pod's cache).
 */
import { Elysia, t } from 'elysia'
import type { AuthMacros } from '../accounts/auth'
import { errorResponse } from '../shared/error-response'
import type { MediaTools } from '../media/tools'
import type { Config } from '../shared/config'
import { DomainError } from '../shared/errors'
import { parseThumbnailFile } from '../storage/keys'
import { redirectTo, serveFile } from '../torrents/webseed'
import { VideoQuery } from './search'
import type { Videos } from './service'
import { receiveUpload } from './upload'

/** Body of `PATCH`/`PUT /api/v1/videos/:id`. */
export const VideoEdit = t.Object({
  name: t.Optional(t.String()),
  description: t.Optional(t.String()),
})
export type VideoEdit = typeof VideoEdit.static


/** What the video routes use. */
export interface VideoRoutesDeps {
  config: Config
  fingerprint: string
  videos: Videos
  /** ffmpeg and ffprobe: without them, uploads are refused (503 media_tools_missing). */
  media: Pick<MediaTools, 'mustBeAvailable'>
  auth: AuthMacros
}

/** Index and upload routes under `/api/v1/videos`. */
export const videoRoutes = ({ config, fingerprint, videos, media, auth }: VideoRoutesDeps) =>
  new Elysia({ name: 'videos', prefix: '/api/v1/videos', seed: fingerprint })
    .use(auth)
    .get('/', ({ query }) => videos.search(query), { query: VideoQuery, watch: true })
    .get(
      '/:id',
      ({ params }) => {
        const video = videos.get(params.id)
        if (!video) throw new DomainError('not_found', 'not_found', `no video with id ${params.id}`)
        videos.watched(params.id)
        return videos.own.forViewers(video)
      },
      { watch: true },
    )
    .post(
      '/',
      async ({ request, set, user }) => {
        // Nothing is received while it could not be probed and packaged, or the files could not be kept.
        media.mustBeAvailable()
        videos.files.storage.mustBeAvailable()
        // Nor beyond the user's share of the queue, or the pod's (429, 503: src/videos/ingest-queue.ts).
        const admitted = videos.uploads.admit(user.id)
        if (!admitted.ok) throw DomainError.of(admitted.error)
        try {
          const upload = await receiveUpload(request, { tmpDir: videos.files.tmp, maxBytes: config.maxUploadBytes, disk: videos.files.disk })
          const video = await admitted.value.turn(() => videos.ingest(user, upload))
          set.status = 201
          set.headers.location = `/api/v1/videos/${video.id}`
          return videos.own.forViewers(video)
        } finally {
          admitted.value.release()
        }
      },
      // The upload is streamed to disk by receiveUpload, never parsed into memory.
      { parse: 'none', auth: 'user' },
    )
    .patch('/:id', ({ params, body, user }) => videos.update(params.id, user, body), { body: VideoEdit, auth: 'user' })
    .put('/:id', ({ params, body, user }) => videos.update(params.id, user, body), { body: VideoEdit, auth: 'user' })
    .delete(
      '/:id',
      ({ params, set, user }) => {
        videos.remove(params.id, user)
        set.status = 204
        return undefined
      },
      { auth: 'user' },
    )

/** `/static/thumbnails/:id.jpg`: a video's thumbnail, for whoever may watch it. */
export const thumbnailRoutes = ({ fingerprint, videos, auth }: Pick<VideoRoutesDeps, 'fingerprint' | 'videos' | 'auth'>) =>
  new Elysia({ name: 'thumbnails', prefix: '/static', seed: fingerprint }).use(auth).get(
    '/thumbnails/:file',
    async ({ request, params }) => {
      const id = parseThumbnailFile(params.file)
      if (!id) return errorResponse(404, 'not_found', 'no such thumbnail')
      const thumbnail = await videos.thumbnail(id)
      if (!thumbnail) return errorResponse(404, 'not_found', 'no thumbnail for this video')
      // One in the bucket is fetched from there.
      if ('url' in thumbnail) return redirectTo(thumbnail.url)
      if ('bytes' in thumbnail) return new Response(new Uint8Array(thumbnail.bytes), { headers: { 'content-type': 'image/jpeg', 'cache-control': 'no-cache' } })
      return serveFile(request, thumbnail.path, { contentType: 'image/jpeg', cacheControl: 'public, max-age=86400' })
    },
    { watch: true },
  )
