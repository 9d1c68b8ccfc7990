/** Accounts over HTTP: registration, login tokens, and who am I. */
import { Elysia, t } from 'elysia'
import type { Pod } from '../app/pod'
import { clientAddress, requireAdmin, requireUser } from './auth'
import { ApiError } from '../shared/errors'

/** Body of `POST /api/v1/users` and `POST /api/v1/auth/token`. */
export const Credentials = t.Object({
  username: t.String({ minLength: 1, maxLength: 64 }),
  password: t.String({ minLength: 1, maxLength: 1024 }),
})
export type Credentials = typeof Credentials.static

const STATUS = { invalid_username: 400, weak_password: 400, username_taken: 409 } as const

/**
 * Routes for accounts: `POST /api/v1/users` (register), `GET /api/v1/users` (admin: every
 * account), `GET /api/v1/users/me`, `POST /api/v1/auth/token` (log in).
 */
export const users = (pod: Pod) =>
  new Elysia({ name: 'users', prefix: '/api/v1', seed: pod.identity.fingerprint })
    .post(
      '/users',
      async ({ body, set }) => {
        if (pod.config.registrations !== 'open')
          throw new ApiError(403, 'registrations_closed', 'this pod does not take registrations; ask its admin for an account')
        const result = await pod.accounts.create(body.username, body.password)
        if ('code' in result) throw new ApiError(STATUS[result.code], result.code, result.message)
        pod.log.info('user.registered', { username: result.username })
        set.status = 201
        return result
      },
      { body: Credentials },
    )
    .post(
      '/auth/token',
      async ({ body, request, server, set }) => {
        const keys = [`ip:${clientAddress(pod, server, request)}`, `name:${body.username.toLowerCase()}`]
        const wait = Math.max(...keys.map((k) => pod.loginLimiter.retryAfter(k)))
        if (wait > 0) {
          set.headers['retry-after'] = String(wait)
          throw new ApiError(429, 'too_many_attempts', `too many login attempts; try again in ${wait} s`, { retryAfter: wait })
        }
        const user = await pod.accounts.verify(body.username, body.password)
        if (!user) {
          for (const k of keys) pod.loginLimiter.hit(k)
          pod.log.warn('user.login.failed', { username: body.username, client: keys[0] })
          throw new ApiError(401, 'invalid_credentials', 'wrong user name or password')
        }
        // Forget the failures for this name only: clearing the address too would let someone
        // with one account reset their count between guesses at other people's passwords.
        pod.loginLimiter.clear(keys[1]!)
        return pod.accounts.issueToken(user)
      },
      { body: Credentials },
    )
    .get('/users', async ({ request }) => {
      await requireAdmin(pod, request)
      return { total: pod.accounts.count(), data: pod.accounts.list() }
    })
    .get('/users/me', ({ request }) => requireUser(pod, request))
