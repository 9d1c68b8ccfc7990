/**
 * Friendship routes: the inbox other pods post to, the public friend list, and the admin's
 * view and actions (make friends, quit, unfriend, retry, blacklist).
 */
import { Elysia, t } from 'elysia'
import type { Pod } from '../app/pod'
import { requireAdmin } from '../accounts/auth'
import { ApiError } from '../shared/errors'

/** Body of `POST /api/v1/friends/make`. */
export const MakeFriends = t.Object({ pods: t.Array(t.String({ format: 'uri', maxLength: 2048 }), { minItems: 1, maxItems: 100 }) })
export type MakeFriends = typeof MakeFriends.static

/** Reads a request body up to `limit` bytes; undefined if it is larger. */
async function readLimited(request: Request, limit: number): Promise<string | undefined> {
  const declared = Number(request.headers.get('content-length') ?? NaN)
  if (declared > limit) return undefined
  if (!request.body) return ''
  const chunks: Uint8Array[] = []
  let size = 0
  for await (const chunk of request.body) {
    size += chunk.byteLength
    if (size > limit) return undefined
    chunks.push(chunk)
  }
  return Buffer.concat(chunks).toString('utf8')
}

/** `/api/v1/pod/inbox`, `/api/v1/pod/friends`, `/api/v1/friends...`, `/api/v1/blacklist...`. */
export const friendRoutes = (pod: Pod) =>
  new Elysia({ name: 'friends', prefix: '/api/v1', seed: pod.identity.fingerprint })
    .post(
      '/pod/inbox',
      async ({ request }) => {
        const type = request.headers.get('content-type')?.split(';')[0]?.trim().toLowerCase()
        if (type !== 'application/jose') throw new ApiError(415, 'unsupported_media_type', 'the inbox takes one compact JWE as application/jose')
        const body = await readLimited(request, pod.config.maxMessageBytes)
        if (body === undefined) throw new ApiError(413, 'too_large', `a message may have at most ${pod.config.maxMessageBytes} bytes`)
        const answer = await pod.friends.receive(body.trim())
        if ('jose' in answer) return new Response(answer.jose, { headers: { 'content-type': 'application/jose' } })
        if (answer.status !== 200) pod.log.warn('inbox.refused', { status: answer.status, error: (answer.json as { error?: { code?: string } }).error?.code })
        return Response.json(answer.json, { status: answer.status })
      },
      // The inbox reads the raw body itself (size limit, exact bytes).
      { parse: 'none' },
    )
    .get('/pod/friends', () => ({ friends: pod.friends.store.all().map((f) => ({ url: f.url, fingerprint: f.fingerprint })) }))
    .get('/friends', () => ({
      friends: pod.friends.store.all().map((f) => ({
        url: f.url,
        name: f.name,
        fingerprint: f.fingerprint,
        score: f.score,
        state: f.state,
        nextRetryAt: f.nextRetryAt === null ? null : new Date(f.nextRetryAt).toISOString(),
        queued: f.queued,
        lastError: f.lastError,
        attempts: f.attempts,
        since: new Date(f.createdAt).toISOString(),
      })),
    }))
    // The admin page's chart: the friend's score over time (the current score if it never changed).
    .get('/friends/:fingerprint/scores', async ({ request, params }) => {
      await requireAdmin(pod, request)
      const friend = pod.friends.store.get(params.fingerprint)
      if (!friend) throw new ApiError(404, 'not_found', `no friend with fingerprint ${params.fingerprint}`)
      const points = pod.friends.store.scoreHistory(params.fingerprint)
      const scores = points.length ? points : [{ at: friend.createdAt, score: friend.score }]
      return { fingerprint: friend.fingerprint, scores: scores.map((p) => ({ at: new Date(p.at).toISOString(), score: p.score })) }
    })
    .post(
      '/friends/make',
      async ({ request, body }) => {
        await requireAdmin(pod, request)
        return { results: await pod.friends.makeFriends(body.pods) }
      },
      { body: MakeFriends },
    )
    .post('/friends/quit', async ({ request }) => {
      await requireAdmin(pod, request)
      return { left: await pod.friends.quit() }
    })
    .delete('/friends/:fingerprint', async ({ request, params }) => {
      await requireAdmin(pod, request)
      const r = await pod.friends.unfriend(params.fingerprint)
      if (!r) throw new ApiError(404, 'not_found', `no friend with fingerprint ${params.fingerprint}`)
      return { removed: params.fingerprint, told: r.told }
    })
    .post('/friends/:fingerprint/retry', async ({ request, params }) => {
      await requireAdmin(pod, request)
      if (!pod.friends.retryNow(params.fingerprint)) throw new ApiError(404, 'not_found', `no friend with fingerprint ${params.fingerprint}`)
      return { retrying: params.fingerprint }
    })
    .get('/blacklist', async ({ request }) => {
      await requireAdmin(pod, request)
      return { blacklist: pod.friends.store.blacklistEntries() }
    })
    .delete('/blacklist/:fingerprint', async ({ request, params }) => {
      await requireAdmin(pod, request)
      if (!pod.friends.store.unblacklist(params.fingerprint)) throw new ApiError(404, 'not_found', `${params.fingerprint} is not blacklisted`)
      pod.log.info('blacklist.lifted', { fingerprint: params.fingerprint })
      return { lifted: params.fingerprint }
    })
