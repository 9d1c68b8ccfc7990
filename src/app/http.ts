/** The pod's HTTP app: every feature plugin behind one error shape. */
import { Elysia } from 'elysia'
import type { Pod } from './pod'
import { detailsRoutes } from '../details/routes'
import { errors } from '../shared/errors'
import { friendRoutes } from '../friends/routes'
import { pageRoutes } from '../pages/routes'
import { podInfo } from '../identity/routes'
import { users } from '../accounts/routes'
import { staticRoutes, videoRoutes } from '../videos/routes'
import { trackerRoutes } from '../torrents/tracker-routes'

/** Builds the Elysia app of one pod (not listening yet: tests call `app.handle`). */
export function buildApp(pod: Pod) {
  return new Elysia()
    .use(errors(pod.log))
    .use(podInfo(pod))
    .use(users(pod))
    .use(friendRoutes(pod))
    .use(videoRoutes(pod))
    .use(detailsRoutes(pod))
    .use(staticRoutes(pod))
    .use(trackerRoutes(pod.tracker))
    .use(pageRoutes(pod))
}

export type App = ReturnType<typeof buildApp>
