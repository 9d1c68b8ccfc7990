/**
 * The pod's HTTP server, listening before the rest of the pod exists.
 *
 * A pod starts in two steps. It needs only its identity to say what it is (`GET
 * /api/v1/pod`: URL, name, key, protocol; fixed for the life of the process), so it listens
 * as soon as it has that, and Bun answers that route itself from a prepared Response. The
 * database, the actors and the Elysia app come next (a few tens of milliseconds); a request
 * for anything else that arrives meanwhile is held, not refused, and goes to the app the
 * moment it is there. A restarted pod is back for its friends and their probes at once, and
 * no request is lost to a port that is not open yet.
 *
 * The app is served the way Elysia's own `listen` does it on Bun (its `fetch`, its WebSocket
 * handler, `app.server` pointing here for upgrades); this module only decides when. It has
 * no runtime dependency but Bun: it must not load what it exists to come before.
 */
import type { Server, WebSocketHandler } from 'bun'

/** The largest WebSocket frame the pod takes; a larger one closes the socket (1009). */
export const WEBSOCKET_MAX_FRAME_BYTES = 64 * 1024

/** What the server hands requests to once the pod is assembled (an Elysia app's `fetch`). */
export type FetchHandler = (request: Request) => Response | Promise<Response>

/** The listening server of a pod that is still being assembled. */
export interface Listener {
  readonly server: Server<unknown>
  /** From now on every request goes to `fetch`, and WebSocket events to `websocket`. */
  serve(fetch: FetchHandler, websocket: WebSocketHandler<any>): void
  /** The pod could not be assembled: requests held get a 503, and the server stops. */
  fail(): Promise<void>
}

/** Listening options of a pod. */
export interface ListenOptions {
  hostname: string
  port: number
  maxRequestBodySize: number
  /** The body of `GET /api/v1/pod`. */
  podDocument: unknown
}

/** Starts listening; see the module's comment. Throws (EADDRINUSE, EACCES) if the port cannot be had. */
export function listen(opts: ListenOptions): Listener {
  const app = Promise.withResolvers<FetchHandler>()
  // A failure is answered to each request held, never left unhandled.
  app.promise.catch(() => undefined)
  let handler: FetchHandler | undefined
  let events: WebSocketHandler<any> | undefined
  const podResponse = Response.json(opts.podDocument, { headers: { 'content-type': 'application/json;charset=utf-8' } })
  const server = Bun.serve({
    hostname: opts.hostname,
    port: opts.port,
    maxRequestBodySize: opts.maxRequestBodySize,
    // As Elysia's listen: uploads and slow clients get 30 s of silence before being dropped.
    idleTimeout: 30,
    development: false,
    routes: { '/api/v1/pod': { GET: podResponse } },
    fetch: (request) =>
      handler
        ? handler(request)
        : app.promise.then(
            (h) => h(request),
            () => Response.json({ error: { code: 'unavailable', message: 'the pod could not start' } }, { status: 503 }),
          ),
    // WebSockets are opened only by the app (an upgrade in one of its routes), so `events`
    // is always there by the time one of these runs.
    websocket: {
      // The only WebSocket is the tracker's: announces carry at most 5 WebRTC offers (about
      // 10 KiB); Bun's default of 16 MiB would let any visitor make the pod buffer that much.
      maxPayloadLength: WEBSOCKET_MAX_FRAME_BYTES,
      open: (ws) => events?.open?.(ws),
      message: (ws, message) => events?.message?.(ws, message),
      drain: (ws) => events?.drain?.(ws),
      close: (ws, code, reason) => events?.close?.(ws, code, reason),
      ping: (ws, data) => events?.ping?.(ws, data),
      pong: (ws, data) => events?.pong?.(ws, data),
    },
  })
  return {
    server,
    serve(fetch, websocket) {
      handler = fetch
      events = websocket
      app.resolve(fetch)
    },
    async fail() {
      app.reject(new Error('the pod could not start'))
      await server.stop()
    },
  }
}
