/**
 * Every error the API returns is JSON `{ error: { code, message } }` with a fitting status.
 * Handlers throw ApiError; this plugin turns it, Elysia's own errors, and anything
 * unexpected (logged, answered 500 without internals) into that shape.
 */
import { Elysia } from 'elysia'
import type { Logger } from './log'

/** An error meant for the client: status, a stable machine code and a human message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra?: Record<string, unknown>,
  ) {
    super(message)
  }
}

/** The JSON body of an error answer. */
export function errorBody(code: string, message: string, extra?: Record<string, unknown>) {
  return { error: { code, message, ...extra } }
}

/** A JSON error Response, for places outside Elysia's handlers. */
export function errorResponse(status: number, code: string, message: string, extra?: Record<string, unknown>): Response {
  return Response.json(errorBody(code, message, extra), { status })
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
  new Elysia({ name: 'errors' }).onError({ as: 'global' }, ({ code, error, set, request }) => {
    set.headers['content-type'] = 'application/json'
    if (error instanceof ApiError) {
      set.status = error.status
      return errorBody(error.code, error.message, error.extra)
    }
    switch (code) {
      case 'VALIDATION':
        set.status = 400
        return errorBody('invalid_request', validationMessage(error))
      case 'PARSE':
        set.status = 400
        return errorBody('malformed_body', 'the request body could not be parsed')
      case 'NOT_FOUND':
        set.status = 404
        return errorBody('not_found', `no route for ${request.method} ${new URL(request.url).pathname}`)
    }
    const status = (error as { status?: number }).status
    if (typeof status === 'number' && status >= 400 && status < 500) {
      set.status = status
      return errorBody('bad_request', (error as Error).message || 'bad request')
    }
    log.error('http.error', { method: request.method, url: request.url, error: error as Error, stack: (error as Error)?.stack })
    set.status = 500
    return errorBody('internal', 'the pod hit an unexpected error; it has been logged')
  })
