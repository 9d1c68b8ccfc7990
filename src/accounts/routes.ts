/** Accounts over HTTP: registration, login tokens, and who am I. */
import { Elysia, t } from 'elysia'
import { clientAddress } from '../shared/client-address'
import type { Config } from '../shared/config'
import { DomainError } from '../shared/errors'
import type { Logger } from '../shared/log'
import type { AuthMacros } from './auth'
import type { Accounts, AttemptLimiter } from './service'

/** Body of `POST /api/v1/users` and `POST /api/v1/auth/token`. */
export const Credentials = t.Object({
  username: t.String({ minLength: 1, maxLength: 64 }),
  password: t.String({ minLength: 1, maxLength: 1024 }),
})
export type Credentials = typeof Credentials.static

const KIND = { invalid_username: 'invalid', weak_password: 'invalid', username_taken: 'conflict', too_many_registrations: 'rate_limited' } as const

/** What an admin may set of an account: accept a pending one, disable or enable one. */
const StatusChange = t.Object({ status: t.Union([t.Literal('active'), t.Literal('disabled')]) })

/** Why a correct password does not log in. */
const NOT_ACTIVE = {
  pending: 'this account waits for an admin of the pod to accept it',
  disabled: 'this account was disabled by an admin of the pod',
} as const

/** What the account routes use. */
export interface AccountRoutesDeps {
  fingerprint: string
  config: Config
  accounts: Accounts
  loginLimiter: AttemptLimiter
  log: Logger
  auth: AuthMacros
}

/**
 * Routes for accounts: `POST /api/v1/users` (register), `GET /api/v1/users` (admin: every
 * account, or `?status=pending`), `PATCH /api/v1/users/:id` (admin: accept, disable, enable),
 * `DELETE /api/v1/users/:id` (admin: refuse or delete), `GET /api/v1/users/me`,
 * `POST /api/v1/auth/token` (log in).
 */
export const users = ({ fingerprint, config, accounts, loginLimiter, log, auth }: AccountRoutesDeps) =>
  new Elysia({ name: 'users', prefix: '/api/v1', seed: fingerprint })
    .use(auth)
    .post(
      '/users',
      async ({ body, set, request, server }) => {
        if (config.registrations === 'closed')
          throw new DomainError('forbidden', 'registrations_closed', 'this pod does not take registrations; ask its admin for an account')
        const client = clientAddress(config.trustProxy, request.headers.get('x-forwarded-for'), server?.requestIP(request)?.address)
        const made = await accounts.register(body.username, body.password, client)
        // The error layer sends `Retry-After` from `retryAfter`.
        if (!made.ok) throw new DomainError(KIND[made.error.code], made.error.code, made.error.message, 'retryAfter' in made.error ? { retryAfter: made.error.retryAfter } : undefined)
        log.info('user.registered', { username: made.value.username, status: made.value.status })
        set.status = 201
        return made.value
      },
      { body: Credentials },
    )
    .post(
      '/auth/token',
      async ({ body, request, server }) => {
        const client = clientAddress(config.trustProxy, request.headers.get('x-forwarded-for'), server?.requestIP(request)?.address)
        // Counted before the (slow) password check, so that a flood cannot outrun the count.
        const attempt = loginLimiter.admit(client, body.username)
        if (!attempt.ok) {
          // The error layer sends `Retry-After` from `retryAfter`.
          const wait = attempt.error.retryAfter
          throw new DomainError('rate_limited', 'too_many_attempts', `too many login attempts; try again in ${wait} s`, { retryAfter: wait })
        }
        const user = await accounts.verify(body.username, body.password)
        if (!user) {
          log.warn('user.login.failed', { username: body.username, client })
          throw new DomainError('unauthenticated', 'invalid_credentials', 'wrong user name or password')
        }
        attempt.value.succeeded()
        if (user.status !== 'active') throw new DomainError('forbidden', `account_${user.status}`, NOT_ACTIVE[user.status])
        return accounts.issueToken(user)
      },
      { body: Credentials },
    )
    .get(
      '/users',
      ({ query }) => {
        const data = accounts.list(query.status)
        return { total: query.status ? data.length : accounts.count(), data }
      },
      { auth: 'admin', query: t.Object({ status: t.Optional(t.Union([t.Literal('active'), t.Literal('pending'), t.Literal('disabled')])) }) },
    )
    .patch(
      '/users/:id',
      ({ params, body, user }) => {
        const changed = accounts.setStatus(params.id, body.status, user)
        if (!changed.ok) throw DomainError.of(changed.error)
        log.info('user.status', { username: changed.value.username, status: changed.value.status, by: user.username })
        return changed.value
      },
      { auth: 'admin', params: t.Object({ id: t.Numeric() }), body: StatusChange },
    )
    .delete(
      '/users/:id',
      ({ params, user, set }) => {
        const gone = accounts.remove(params.id, user)
        if (!gone.ok) throw DomainError.of(gone.error)
        log.info('user.deleted', { username: gone.value.username, by: user.username })
        set.status = 204
      },
      { auth: 'admin', params: t.Object({ id: t.Numeric() }) },
    )
    .get('/users/me', ({ user }) => user, { auth: 'user' })
