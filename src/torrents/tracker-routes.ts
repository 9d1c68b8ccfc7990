/**
 * The tracker's routes on the pod's port: `/tracker/announce` and `/tracker/scrape` (HTTP,
 * for BitTorrent clients and the pod's own TCP seeder) and `/tracker/socket` (WebSocket, for
 * WebTorrent in browsers).
 *
 * Two things about Elysia 1.4's `.ws()` shape this plugin (see
 * node_modules/elysia/dist/adapter/bun/index.mjs and dist/ws/index.mjs):
 * - The upgrade context is copied into the socket's `data` (`ws.data`), but `server` is a
 *   getter and is not copied, and after the upgrade the request no longer maps to a TCP
 *   peer; so the client address and port are read with `server.requestIP(request)` in a
 *   `derive` (which runs for the upgrade request too) and reach `open` as `ws.data.remote`.
 *   `ws.raw` is Bun's ServerWebSocket, the same object for every event of one connection:
 *   it is the key the tracker keeps its per-socket state under.
 * - Elysia JSON-parses every text frame that starts with `{`, `[`, `"` or `/` (and turns
 *   "true", "null" and numeric strings into values) before `message` sees it, with no option
 *   to turn that off. bittorrent-tracker parses the JSON itself, so the message is turned
 *   back into text: `JSON.stringify` of a `JSON.parse` result re-parses to an equal value,
 *   so the tracker sees the same request the client sent.
 */
import { Elysia } from 'elysia'
import type { RemoteAddress, Tracker } from './tracker'

/** Turns what Elysia hands to `message` back into the frame's text. */
function frameText(message: unknown): string | Uint8Array {
  if (typeof message === 'string' || message instanceof Uint8Array) return message
  return JSON.stringify(message) ?? ''
}

/** Elysia plugin mounting `tracker` at `/tracker/socket`, `/tracker/announce`, `/tracker/scrape`, and its stats at `/api/v1/tracker`. */
export function trackerRoutes(tracker: Tracker) {
  return new Elysia({ name: 'tracker', seed: tracker.id })
    .derive(({ server, request }): { remote: RemoteAddress | null } => {
      const ip = server?.requestIP(request)
      return { remote: ip ? { address: ip.address, port: ip.port } : null }
    })
    .get('/tracker/announce', ({ request, remote }) => tracker.handleHttp(request, 'announce', remote))
    .get('/tracker/scrape', ({ request, remote }) => tracker.handleHttp(request, 'scrape', remote))
    // What the tracker is doing, for admins and monitoring (JSON).
    .get('/api/v1/tracker', () => tracker.stats())
    .ws('/tracker/socket', {
      open(ws) {
        tracker.websocket.open(ws.raw, { headers: ws.data.headers, remote: ws.data.remote })
      },
      message(ws, message) {
        tracker.websocket.message(ws.raw, frameText(message))
      },
      close(ws) {
        tracker.websocket.close(ws.raw)
      },
    })
}
