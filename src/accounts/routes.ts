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

const KIND = { invalid_username: 'invalid', weak_password: 'invalid', username_taken: 'conflict' } as const

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
 * account), `GET /api/v1/users/me`, `POST /api/v1/auth/token` (log in).
 */
export const users = ({ fingerprint, config, accounts, loginLimiter, log, auth }: AccountRoutesDeps) =>
  new Elysia({ name: 'users', prefix: '/api/v1', seed: fingerprint })
    .use(auth)
    .post(
      '/users',
      async ({ body, set }) => {
        if (config.registrations !== 'open')
          throw new DomainError('forbidden', 'registrations_closed', 'this pod does not take registrations; ask its admin for an account')
        const made = await accounts.create(body.username, body.password)
        if (!made.ok) throw new DomainError(KIND[made.error.code], made.error.code, made.error.message)
        log.info('user.registered', { username: made.value.username })
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
        return accounts.issueToken(user)
      },
      { body: Credentials },
    )
    .get('/users', () => ({ total: accounts.count(), data: accounts.list() }), { auth: 'admin' })
    .get('/users/me', ({ user }) => user, { auth: 'user' })
