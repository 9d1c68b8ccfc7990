/**
 * Who is asking, as an Elysia macro: a route says `{ auth: 'user' }` or `{ auth: 'admin' }`
 * and gets the logged-in `user`, or `{ watch: true }` for a route that shows a video (the
 * pod's `requireLoginToWatch` is checked here and nowhere else) and gets `viewer`, the user
 * or undefined. A bad token is refused on every route that reads one.
 */
import { Elysia } from 'elysia'
import type { Config } from '../shared/config'
import { DomainError } from '../shared/errors'
import type { Accounts, User } from './service'

/** The bearer token of a request (RFC 6750 header), if any. */
function bearerToken(request: Request): string | undefined {
  const h = request.headers.get('authorization')
  const m = h?.match(/^Bearer\s+(\S+)$/i)
  return m?.[1]
}

/** The logged-in user, or undefined for an anonymous request. A bad token is refused. */
async function userOf(accounts: Accounts, request: Request): Promise<User | undefined> {
  const token = bearerToken(request)
  if (!token) return undefined
  const user = await accounts.userOfToken(token)
  if (!user) throw new DomainError('unauthenticated', 'invalid_token', 'the access token is invalid or expired; log in again')
  return user
}

const mustLogIn = () => new DomainError('unauthenticated', 'unauthenticated', 'log in first: send Authorization: Bearer <token> from POST /api/v1/auth/token')

/** Whether an anonymous visitor may see this pod's videos. */
export const anonymousMayWatch = (config: Config) => !config.requireLoginToWatch

/** The auth macros of one pod's routes. */
export const auth = (accounts: Accounts, config: Config, seed: string) =>
  new Elysia({ name: 'auth', seed }).macro({
    /** A logged-in user (`'user'`) or an admin (`'admin'`). */
    auth: (role: 'user' | 'admin') => ({
      async resolve({ request }) {
        const user = await userOf(accounts, request)
        if (!user) throw mustLogIn()
        if (role === 'admin' && user.role !== 'admin') throw new DomainError('forbidden', 'forbidden', 'this action is for admins only')
        return { user }
      },
    }),
    /** Anyone, known by name when logged in: for routes that show admins more. */
    identify: {
      async resolve({ request }) {
        return { viewer: await userOf(accounts, request) }
      },
    },
    /** Anyone who may watch this pod's videos: anyone, or with `requireLoginToWatch` a logged-in user. */
    watch: {
      async resolve({ request }) {
        const viewer = await userOf(accounts, request)
        if (!viewer && !anonymousMayWatch(config)) throw mustLogIn()
        return { viewer }
      },
    },
  })

/** The auth plugin, as the feature routes `.use` it. */
export type AuthMacros = ReturnType<typeof auth>
