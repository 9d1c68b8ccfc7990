/**
 * `HEAD` for routes with a path parameter, answered with the headers their `GET` would send.
 *
 * Elysia (1.4) sends a `HEAD` whose path matches a `GET` route with a parameter to that `GET`
 * handler, whatever `HEAD` route there is, then reads the whole body of its answer to count
 * it and sets `Content-Length` to that count. A web seed answering `HEAD` without a body thus
 * said `Content-Length: 0`, and one answering with the file would have had the file (gigabytes)
 * read through JavaScript to be counted. An `onRequest` hook runs before the router: there,
 * the routes given here answer `HEAD` themselves, their headers sent as they are.
 */
import { Elysia } from 'elysia'

/** Answers a `HEAD` of one route, given the request and the path's parameters (decoded). */
export type HeadAnswer = (request: Request, params: Record<string, string>) => Response | Promise<Response>

/** The request's path as the router sees it: the URL's, without its query, not normalised. */
function rawPath(url: string): string {
  const start = url.indexOf('/', url.indexOf('//') + 2)
  if (start < 0) return '/'
  const query = url.indexOf('?', start)
  return query < 0 ? url.slice(start) : url.slice(start, query)
}

/** A route pattern (`/static/webseed/:file`) as a regular expression with named groups. */
function compile(pattern: string): RegExp {
  const source = pattern
    .split('/')
    .map((segment) => (segment.startsWith(':') ? `(?<${segment.slice(1)}>[^/]+)` : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/')
  return new RegExp(`^${source}$`)
}

/**
 * A plugin that answers `HEAD` of the given routes (full paths with `:param` segments) before
 * Elysia's router does; a `HEAD` of any other path goes on as before.
 */
export function headRoutes(name: string, seed: string, routes: Record<string, HeadAnswer>) {
  const compiled = Object.entries(routes).map(([pattern, answer]) => ({ re: compile(pattern), answer }))
  return new Elysia({ name, seed }).onRequest(({ request }) => {
    if (request.method !== 'HEAD') return
    const path = rawPath(request.url)
    for (const { re, answer } of compiled) {
      const m = re.exec(path)
      if (!m) continue
      const params: Record<string, string> = {}
      try {
        for (const [k, v] of Object.entries(m.groups ?? {})) params[k] = decodeURIComponent(v)
      } catch {
        // A malformed escape: the router's own answer (a 404) stands.
        return
      }
      return answer(request, params)
    }
  })
}
