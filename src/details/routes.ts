/**
 * A video's details (full description, tags, license, language, views), kept by its origin
 * pod and cached by the others: see src/details/service.ts.
 *
 * - `GET /api/v1/videos/:id/details`: any video of the index; a friend's is asked of its origin
 *   through this pod (never by the browser), served from the cache while fresh or the origin is down.
 * - `PATCH /api/v1/videos/:id/details`: the uploader or an admin changes an own video's details.
 * - `POST /api/v1/videos/:id/views`: counts one view (at the origin).
 */
import { Elysia } from 'elysia'
import type { AuthMacros } from '../accounts/auth'
import type { VideoDetails } from './service'

/** Details routes under `/api/v1/videos`. */
export const detailsRoutes = ({ fingerprint, details, auth }: { fingerprint: string; details: VideoDetails; auth: AuthMacros }) =>
  new Elysia({ name: 'video-details', prefix: '/api/v1/videos', seed: fingerprint })
    .use(auth)
    .get('/:id/details', ({ params }) => details.get(params.id), { watch: true })
    .patch('/:id/details', ({ params, body, user }) => details.update(params.id, user, body), { auth: 'user' })
    .post(
      '/:id/views',
      ({ params, set }) => {
        const counted = details.view(params.id)
        // A friend's video: the view is queued for its origin, not counted yet.
        set.status = counted.counted === 'origin' ? 202 : 200
        return counted
      },
      // Anyone who may watch may count a view; a bad token is still refused.
      { watch: true },
    )
