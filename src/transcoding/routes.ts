/** Transcoding routes: re-queue an own video's renditions, and the admin's job list and re-packaging progress. */
import { Elysia } from 'elysia'
import type { AuthMacros } from '../accounts/auth'
import type { Transcoding } from './service'

/** `POST /api/v1/videos/:id/transcode`, `GET /api/v1/videos/transcoding/jobs`, `GET /api/v1/videos/repackaging`. */
export const transcodingRoutes = ({ fingerprint, transcoding, auth }: { fingerprint: string; transcoding: Transcoding; auth: AuthMacros }) =>
  new Elysia({ name: 'transcoding', prefix: '/api/v1/videos', seed: fingerprint })
    .use(auth)
    .post('/:id/transcode', ({ params, user }) => ({ jobs: transcoding.requeue(params.id, user) }), { auth: 'user' })
    .get('/transcoding/jobs', () => ({ jobs: transcoding.jobs() }), { auth: 'admin' })
    .get('/repackaging', () => transcoding.repackaging.progress(), { auth: 'admin' })
