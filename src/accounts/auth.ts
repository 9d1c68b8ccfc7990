/** Who is asking: bearer tokens, roles, and the client's address for rate limits. */
import type { Server } from 'bun'
import type { User } from './service'
import type { Pod } from '../app/pod'
import { ApiError } from '../shared/errors'

/** The bearer token of a request (RFC 6750 header), if any. */
export function bearerToken(request: Request): string | undefined {
  const h = request.headers.get('authorization')
  const m = h?.match(/^Bearer\s+(\S+)$/i)
  return m?.[1]
}

/** The logged-in user, or undefined for an anonymous request. A bad token is a 401. */
export async function optionalUser(pod: Pod, request: Request): Promise<User | undefined> {
  const token = bearerToken(request)
  if (!token) return undefined
  const user = await pod.accounts.userOfToken(token)
  if (!user) throw new ApiError(401, 'invalid_token', 'the access token is invalid or expired; log in again')
  return user
}

/** The logged-in user; 401 without valid credentials. */
export async function requireUser(pod: Pod, request: Request): Promise<User> {
  const user = await optionalUser(pod, request)
  if (!user) throw new ApiError(401, 'unauthenticated', 'log in first: send Authorization: Bearer <token> from POST /api/v1/auth/token')
  return user
}

/** The logged-in admin; 401 without credentials, 403 for a user who is not an admin. */
export async function requireAdmin(pod: Pod, request: Request): Promise<User> {
  const user = await requireUser(pod, request)
  if (user.role !== 'admin') throw new ApiError(403, 'forbidden', 'this action is for admins only')
  return user
}

/** The client's address: the socket's, or with `trustProxy` the first `X-Forwarded-For` hop. */
export function clientAddress(pod: Pod, server: Server<unknown> | null, request: Request): string {
  if (pod.config.trustProxy) {
    const forwarded = request.headers.get('x-forwarded-for')?.split(',')[0]?.trim()
    if (forwarded) return forwarded
  }
  return server?.requestIP(request)?.address ?? 'unknown'
}
