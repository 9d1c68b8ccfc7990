/**
 * The HTTP side of errors: every error the API returns is JSON `{ error: { code, message } }`
 * with a fitting status. Domain code throws DomainError (src/shared/errors.ts); this plugin
 * maps its kind to a status, and turns Elysia's own errors and anything unexpected (an
 * `internal` DomainError or any other error: logged, answered 500 without internals) into
 * the same shape. A 401 says how to authenticate
 * (`WWW-Authenticate`, RFC 6750).
 */
import { Elysia } from 'elysia'
import { DomainError, type ErrorKind } from '../shared/errors'
import type { Logger } from '../shared/log'
import { isNoSpace } from '../storage/disk'

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

/** Elysia's validation errors carry a long JSON description; give the client the first problem, readably. */
function validationMessage(error: unknown): string {
  const e = error as { all?: { path?: string; summary?: string; message?: string }[]; message?: string }
  const first = e.all?.[0]
  if (first) {
    const where = first.path ? first.path.replace(/^\//, '').replace(/\//g, '.') : 'request'
    return `${where}: ${first.summary ?? first.message ?? 'invalid'}`
  }
  return 'the request is not valid'
}

/** The plugin that shapes every error answer of the app it is used in. */
export const errors = (log: Logger) =>
  new Elysia({ name: 'errors' }).onError({ as: 'global' }, ({ code, error, request }) => {
    // An `internal` DomainError is the pod's own fault: logged and answered like any unexpected error.
    if (error instanceof DomainError && error.kind !== 'internal') return domainErrorResponse(error)
    switch (code) {
      case 'VALIDATION':
        return errorResponse(400, 'invalid_request', validationMessage(error))
      case 'PARSE':
        return errorResponse(400, 'malformed_body', 'the request body could not be parsed')
      case 'NOT_FOUND':
        return errorResponse(404, 'not_found', `no route for ${request.method} ${new URL(request.url).pathname}`)
    }
    const status = (error as { status?: number }).status
    if (typeof status === 'number' && status >= 400 && status < 500) return errorResponse(status, 'bad_request', (error as Error).message || 'bad request')
    // A write that found the disk full (a file, the database) changed nothing that stays: the
    // client may try again once space is freed, and the admin reads why in the log.
    if (isNoSpace(error)) {
      log.warn('http.disk.full', { method: request.method, url: request.url, error: (error as Error).message })
      return errorResponse(507, 'insufficient_storage', "the pod's disk is full; try again once space is freed")
    }
    const cause = (error as Error)?.cause
    log.error('http.error', { method: request.method, url: request.url, error: error as Error, ...(cause === undefined ? {} : { cause }), stack: (error as Error)?.stack })
    return errorResponse(500, 'internal', 'the pod hit an unexpected error; it has been logged')
  })
