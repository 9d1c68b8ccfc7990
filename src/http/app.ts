/** The pod's HTTP app: every feature plugin behind one error shape. */
import { Elysia } from 'elysia'
import type { Pod } from '../context'
import { errors } from './errors'
import { friendRoutes } from './friends'
import { podInfo } from './pod'
import { users } from './users'

/** Builds the Elysia app of one pod (not listening yet: tests call `app.handle`). */
export function buildApp(pod: Pod) {
  return new Elysia().use(errors(pod.log)).use(podInfo(pod)).use(users(pod)).use(friendRoutes(pod))
}

export type App = ReturnType<typeof buildApp>
