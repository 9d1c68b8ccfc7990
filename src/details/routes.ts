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
import type { Pod } from '../app/pod'
import { optionalUser, requireUser } from '../accounts/auth'

/** Details routes under `/api/v1/videos`. */
export const detailsRoutes = (pod: Pod) => {
  const details = pod.details
  return new Elysia({ name: 'video-details', prefix: '/api/v1/videos', seed: pod.identity.fingerprint })
    .get('/:id/details', async ({ request, params }) => {
      if (pod.config.requireLoginToWatch) await requireUser(pod, request)
      return details.get(params.id)
    })
    .patch('/:id/details', async ({ request, params, body }) => details.update(params.id, await requireUser(pod, request), body))
    .post('/:id/views', async ({ request, params, set }) => {
      // Anyone who may watch may count a view; a bad token is still refused.
      if (pod.config.requireLoginToWatch) await requireUser(pod, request)
      else await optionalUser(pod, request)
      const counted = details.view(params.id)
      // A friend's video: the view is queued for its origin, not counted yet.
      set.status = counted.counted === 'origin' ? 202 : 200
      return counted
    })
}
