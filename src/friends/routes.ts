/**
 * Friendship routes: the public friend list, and the admin's
 * view and actions (make friends, quit, unfriend, retry, blacklist).
 */
import { Elysia, t } from 'elysia'
import type { AuthMacros } from '../accounts/auth'
import { DomainError } from '../shared/errors'
import type { FriendMaking } from './making'
import type { Friends } from './service'

/** Body of `POST /api/v1/friends/make`. */
export const MakeFriends = t.Object({ pods: t.Array(t.String({ format: 'uri', maxLength: 2048 }), { minItems: 1, maxItems: 100 }) })
export type MakeFriends = typeof MakeFriends.static

/** What the friendship routes use. */
export interface FriendRoutesDeps {
  fingerprint: string
  friends: Friends
  making: FriendMaking
  auth: AuthMacros
}

/** `/api/v1/pod/friends`, `/api/v1/friends...`, `/api/v1/blacklist...`. */
export const friendRoutes = ({ fingerprint, friends, making, auth }: FriendRoutesDeps) =>
  new Elysia({ name: 'friends', prefix: '/api/v1', seed: fingerprint })
    .use(auth)
    .get('/pod/friends', () => ({ friends: friends.all().map((f) => ({ url: f.url, fingerprint: f.fingerprint })) }))
    // The friend list shows everyone each friend's state; what went wrong (which may quote
    // another server) only to admins.
    .get(
      '/friends',
      ({ viewer }) => ({
        friends: friends.all().map((f) => ({
          url: f.url,
          name: f.name,
          fingerprint: f.fingerprint,
          score: f.score,
          state: f.state,
          nextRetryAt: f.nextRetryAt === null ? null : new Date(f.nextRetryAt).toISOString(),
          queued: f.queued,
          ...(viewer?.role === 'admin' ? { lastError: f.lastError } : {}),
          attempts: f.attempts,
          since: new Date(f.createdAt).toISOString(),
        })),
      }),
      { identify: true },
    )
    // The admin page's chart: the friend's score over time (the current score if it never changed).
    .get(
      '/friends/:fingerprint/scores',
      ({ params }) => {
        const scores = friends.scoreHistory(params.fingerprint)
        if (!scores) throw new DomainError('not_found', 'not_found', `no friend with fingerprint ${params.fingerprint}`)
        return { fingerprint: params.fingerprint, scores: scores.map((p) => ({ at: new Date(p.at).toISOString(), score: p.score })) }
      },
      { auth: 'admin' },
    )
    .post('/friends/make', async ({ body }) => ({ results: await making.makeFriends(body.pods) }), { body: MakeFriends, auth: 'admin' })
    .post('/friends/quit', async () => ({ left: await friends.quit() }), { auth: 'admin' })
    .delete(
      '/friends/:fingerprint',
      async ({ params }) => {
        const r = await friends.unfriend(params.fingerprint)
        if (!r) throw new DomainError('not_found', 'not_found', `no friend with fingerprint ${params.fingerprint}`)
        return { removed: params.fingerprint, told: r.told }
      },
      { auth: 'admin' },
    )
    .post(
      '/friends/:fingerprint/retry',
      ({ params }) => {
        if (!friends.retryNow(params.fingerprint)) throw new DomainError('not_found', 'not_found', `no friend with fingerprint ${params.fingerprint}`)
        return { retrying: params.fingerprint }
      },
      { auth: 'admin' },
    )
    // Friend requests waiting for an admin (friends.admission = "approval").
    .get(
      '/friends/requests',
      () => ({ requests: friends.requests().map(({ publicKey: _key, createdAt, ...r }) => ({ ...r, since: new Date(createdAt).toISOString() })) }),
      { auth: 'admin' },
    )
    .post(
      '/friends/requests/:fingerprint/accept',
      async ({ params }) => {
        const r = await making.accept(params.fingerprint)
        if (!r) throw new DomainError('not_found', 'not_found', `no friend request from ${params.fingerprint}`)
        return r
      },
      { auth: 'admin' },
    )
    .delete(
      '/friends/requests/:fingerprint',
      ({ params }) => {
        if (!friends.refuseRequest(params.fingerprint)) throw new DomainError('not_found', 'not_found', `no friend request from ${params.fingerprint}`)
        return { refused: params.fingerprint }
      },
      { auth: 'admin' },
    )
    .get('/blacklist', () => ({ blacklist: friends.blacklist() }), { auth: 'admin' })
    .delete(
      '/blacklist/:fingerprint',
      ({ params }) => {
        if (!friends.unblacklist(params.fingerprint)) throw new DomainError('not_found', 'not_found', `${params.fingerprint} is not blacklisted`)
        return { lifted: params.fingerprint }
      },
      { auth: 'admin' },
    )
