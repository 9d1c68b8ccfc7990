/** The pod's HTTP app: every feature plugin behind one error shape. */
import { Elysia } from 'elysia'
import type { Pod } from '../context'
import { detailsRoutes } from './details'
import { errors } from './errors'
import { friendRoutes } from './friends'
import { pageRoutes } from './pages'
import { podInfo } from './pod'
import { users } from './users'
import { staticRoutes, videoRoutes } from './videos'
import { trackerRoutes } from '../tracker/routes'

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
