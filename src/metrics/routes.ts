/**
 * `GET /metrics`: the pod's metrics (pod-metrics.ts) for Prometheus. Off unless configured
 * (`metrics.*`): on the pod's port behind a bearer token, or on an address of its own (a
 * loopback or private one that only the scraper reaches), behind the token there too if one
 * is set. And the app's part of the request metrics: which route pattern each request took.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import type { Server } from 'bun'
import { Elysia } from 'elysia'
import { splitAddress } from '../shared/config-check'
import type { Config } from '../shared/config'
import { errorResponse } from '../shared/error-response'
import { DomainError } from '../shared/errors'
import type { Logger } from '../shared/log'
import { METRICS_CONTENT_TYPE } from '../shared/metrics'

/** Whether an Authorization header carries the token (compared in constant time). */
function bearerMatches(header: string | null, token: string): boolean {
  const given = /^Bearer (.+)$/i.exec(header ?? '')?.[1]
  if (!given) return false
  // Hashed first: the comparison then takes as long whatever the length of what was sent.
  const digest = (s: string) => createHash('sha256').update(s).digest()
  return timingSafeEqual(digest(given), digest(token))
}

/** The answer to a scrape: the metrics, or 401 without the token. */
function scrape(request: Request, token: string, render: () => string): Response {
  if (token && !bearerMatches(request.headers.get('authorization'), token))
    return errorResponse(401, 'unauthenticated', 'GET /metrics needs the metrics token: Authorization: Bearer <metrics.token>')
  return new Response(request.method === 'HEAD' ? null : render(), { headers: { 'content-type': METRICS_CONTENT_TYPE, 'cache-control': 'no-store' } })
}

/**
 * Records the route pattern of each request the app routes, for the request metrics: when
 * its handling starts (transform), or when it fails before that (a body that cannot be
 * parsed). Used before the app's error plugin, so that its error hook runs first.
 */
export const routeLabels = (routes: WeakMap<Request, string>) =>
  new Elysia({ name: 'route-labels' })
    .onTransform({ as: 'global' }, ({ request, route }) => {
      routes.set(request, route)
    })
    .onError({ as: 'global' }, ({ request, route }) => {
      if (route) routes.set(request, route)
    })

/** `GET /metrics` on the pod's port: there only when a token is set and no address of its own. */
export const metricsRoute = ({ fingerprint, config, render }: { fingerprint: string; config: Config; render: () => string }) => {
  const app = new Elysia({ name: 'metrics', seed: fingerprint })
  const { token, listen } = config.metrics
  return token && !listen ? app.get('/metrics', ({ request }) => scrape(request, token, render)) : app
}

/**
 * Serves `GET /metrics` on `metrics.listen` (checked by the config); undefined when it is not
 * set. Throws, naming the key, if the address cannot be had. Says in the log where metrics are.
 */
export function serveMetrics(config: Config, render: () => string, log: Logger): Server<undefined> | undefined {
  const { token, listen } = config.metrics
  if (token || listen) log.info('metrics.serving', { url: listen ? `http://${listen}/metrics` : `${config.url}/metrics`, token: token !== '' })
  const address = listen ? splitAddress(listen) : undefined
  if (!address) return undefined
  try {
    return Bun.serve({
      ...address,
      development: false,
      fetch: (request) =>
        new URL(request.url).pathname === '/metrics' && (request.method === 'GET' || request.method === 'HEAD')
          ? scrape(request, token, render)
          : errorResponse(404, 'not_found', 'this address serves GET /metrics only'),
    })
  } catch (e) {
    throw new DomainError('unavailable', 'metrics_listen_failed', `metrics.listen = ${JSON.stringify(listen)} cannot be listened on: ${(e as Error).message}`, undefined, { cause: e })
  }
}
