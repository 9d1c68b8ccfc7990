/**
 * The HTTP side of errors: every error the API returns is JSON `{ error: { code, message } }`
 * with a fitting status (src/shared/error-response.ts). Domain code throws DomainError
 * (src/shared/errors.ts); this plugin answers it with its kind's status, and turns Elysia's
 * own errors and anything unexpected (an `internal` DomainError or any other error: logged,
 * answered 500 without internals) into the same shape. A browser asking for a page (not the
 * API, not a file) gets the 404 and 500 as pages of the site instead (src/pages/shell.ts).
 */
import { Elysia } from 'elysia'
import { domainErrorResponse, errorResponse } from '../shared/error-response'
import { DomainError } from '../shared/errors'
import type { Logger } from '../shared/log'
import type { Site } from '../pages/shell'
import { wantsPage } from '../pages/shell'
import { isNoSpace } from '../storage/disk'

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
export const errors = (log: Logger, site: Site) =>
  new Elysia({ name: 'errors' }).onError({ as: 'global' }, ({ code, error, request }) => {
    // An `internal` DomainError is the pod's own fault: logged and answered like any unexpected error.
    if (error instanceof DomainError && error.kind !== 'internal') return domainErrorResponse(error)
    switch (code) {
      case 'VALIDATION':
        return errorResponse(400, 'invalid_request', validationMessage(error))
      case 'PARSE':
        return errorResponse(400, 'malformed_body', 'the request body could not be parsed')
      case 'NOT_FOUND':
        if (wantsPage(request)) return site.errorPage(404)
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
    if (wantsPage(request)) return site.errorPage(500)
    return errorResponse(500, 'internal', 'the pod hit an unexpected error; it has been logged')
  })
