/**
 * The shape of every error answer of the API: JSON `{ error: { code, message } }` with the
 * status of the error's kind (src/shared/errors.ts); a 401 says how to authenticate
 * (`WWW-Authenticate`, RFC 6750), a 429 or 503 when to come back (`Retry-After`). The app's error
 * plugin (src/app/errors.ts) answers thrown errors with it, and the routes that answer with a
 * Response of their own (web seeds, playlists, the inbox) build theirs with it.
 */
import type { DomainError, ErrorKind } from './errors'

/** The status of each kind of domain error. */
export const STATUS: Readonly<Record<ErrorKind, number>> = {
  invalid: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  length_required: 411,
  too_large: 413,
  unsupported_media: 415,
  unsupported_version: 426,
  rate_limited: 429,
  upstream_failed: 502,
  unavailable: 503,
  upstream_timeout: 504,
  insufficient_storage: 507,
  internal: 500,
}

/** The JSON body of an error answer. */
function errorBody(code: string, message: string, extra?: Record<string, unknown>) {
  return { error: { code, message, ...extra } }
}

/** Headers an error answer of this status carries. */
function errorHeaders(status: number, code: string, extra?: Record<string, unknown>): Record<string, string> {
  const headers: Record<string, string> = { 'content-type': 'application/json' }
  if (status === 401) headers['www-authenticate'] = code === 'invalid_token' ? 'Bearer realm="seedpod", error="invalid_token"' : 'Bearer realm="seedpod"'
  const retry = extra?.retryAfter
  if ((status === 429 || status === 503) && typeof retry === 'number') headers['retry-after'] = String(Math.max(1, Math.ceil(retry)))
  return headers
}

/** A JSON error Response, for routes that answer with a Response of their own. */
export function errorResponse(status: number, code: string, message: string, extra?: Record<string, unknown>): Response {
  return new Response(JSON.stringify(errorBody(code, message, extra)), { status, headers: errorHeaders(status, code, extra) })
}

/** The Response of a domain error. */
export function domainErrorResponse(e: DomainError): Response {
  return errorResponse(STATUS[e.kind], e.code, e.message, e.extra)
}
