/**
 * Request body limits, by route, enforced before a body is read (the guard in http.ts): one
 * anonymous request must not be able to make the pod hold more than a few KiB. Only the
 * upload route and a runner's result take `maxUploadBytes` (streamed to disk by their routes), and the inbox
 * `maxMessageBytes` (read by its route); every other route takes a small JSON (or form) body,
 * which Elysia's parser reads only once its declared length is known to fit.
 */
import type { Config } from '../shared/config'
import { DomainError } from '../shared/errors'

/** Credentials (register, log in): a name and a password. */
const CREDENTIALS_BYTES = 4 * 1024
/** Any other JSON body: a video's texts and details (10,000 characters of description), a list of pods. */
const JSON_BYTES = 64 * 1024
/** Room above the upload limit for the multipart envelope (the upload route counts the file itself). */
const MULTIPART_ENVELOPE_BYTES = 1024 * 1024

/** How a route's body is limited: read by its own route within `bytes` (streamed), or by Elysia's parser. */
export type BodyLimit = { bytes: number; readBy: 'route' | 'parser' }

/** The body limit of a request's route. */
export function bodyLimit(config: Config, method: string, pathname: string): BodyLimit {
  if (method === 'POST' && pathname === '/api/v1/pod/inbox') return { bytes: config.maxMessageBytes, readBy: 'route' }
  if (method === 'POST' && (pathname === '/api/v1/videos' || pathname === '/api/v1/videos/')) return { bytes: config.maxUploadBytes + MULTIPART_ENVELOPE_BYTES, readBy: 'route' }
  // A runner's transcoding result (src/runners/service.ts streams it to disk within this limit).
  if (method === 'PUT' && /^\/api\/v1\/runners\/jobs\/\d+\/result$/.test(pathname)) return { bytes: config.maxUploadBytes, readBy: 'route' }
  if (method === 'POST' && (pathname === '/api/v1/auth/token' || pathname === '/api/v1/users')) return { bytes: CREDENTIALS_BYTES, readBy: 'parser' }
  return { bytes: JSON_BYTES, readBy: 'parser' }
}

const NO_BODY = new Set(['GET', 'HEAD', 'OPTIONS'])

/**
 * Why a request's body is refused before anything reads it, or undefined: over its route's
 * limit by its `Content-Length` (413), or, for a route whose body Elysia's parser would read
 * whole, sent without a length (411: the length is what bounds the parser; Bun never reads
 * past it). The two streaming routes read chunked bodies themselves, within their limits.
 */
export function checkBody(config: Config, request: Request): DomainError | undefined {
  if (NO_BODY.has(request.method)) return undefined
  const limit = bodyLimit(config, request.method, new URL(request.url).pathname)
  const length = request.headers.get('content-length')
  if (length === null) {
    if (limit.readBy === 'parser' && request.headers.has('transfer-encoding'))
      return new DomainError('length_required', 'length_required', 'send this request with a Content-Length (its body is limited to a few KiB)')
    return undefined
  }
  if (Number(length) > limit.bytes) return new DomainError('too_large', 'too_large', `this request's body may have at most ${limit.bytes} bytes`)
  return undefined
}
