/**
 * The pod's BitTorrent tracker: bittorrent-tracker's server logic, without its own HTTP, UDP
 * or WebSocket listeners, fed by the pod's single Bun server so the tracker shares the pod's
 * port (docs/protocol.md: `/tracker/socket`, `/tracker/announce`).
 *
 * bittorrent-tracker speaks Node: `onHttpRequest(req, res)` wants an `http.IncomingMessage`
 * and a `ServerResponse`, `onWebSocketConnection(socket)` wants a `ws` WebSocket. This module
 * builds the few fields those functions actually read (see parse-http.js, parse-websocket.js
 * and server.js) from a Fetch `Request` and a Bun `ServerWebSocket`, so the protocol logic,
 * swarm bookkeeping and WebRTC offer relaying stay upstream's.
 */
import { EventEmitter } from 'node:events'
import { addressBlock, clientAddress } from '../shared/client-address'
import { RateLimiter } from '../shared/rate-limit'
import type { AnnounceParams, AnnounceResponse, Server, Swarm, SwarmPeer, TrackerHttpRequest } from 'bittorrent-tracker'
import { lazyImport } from '../app/lazy'
import type { Logger } from '../shared/log'
import { compactPeers } from './compact'
import { fairSwarm, type SwarmPolicy } from './swarm'

/** The failure reason given to clients announcing an infohash this pod does not serve. */
export const REFUSED_REASON = 'infohash not served by this pod'

/** An address and port, as Bun's `server.requestIP()` gives it. */
export interface RemoteAddress {
  address: string
  port: number
}

/** What the WebSocket upgrade request told us; the socket itself knows neither headers nor port. */
export interface UpgradeInfo {
  /** Header names in lower case (Elysia's `context.headers`). */
  headers?: Record<string, string | undefined>
  /** From `server.requestIP(request)` at upgrade time; falls back to the socket's `remoteAddress`. */
  remote?: RemoteAddress | null
}

/** The part of Bun's `ServerWebSocket` the tracker uses (also what `ElysiaWS.raw` is). */
export interface TrackerWebSocket {
  /** Returns bytes sent, -1 when queued under backpressure, 0 when dropped. */
  send(data: string): number
  close(code?: number, reason?: string): void
  readonly remoteAddress: string
}

/** Peer counts over every swarm. A peer in two swarms counts twice. */
export interface TrackerStats {
  torrents: number
  peers: number
  seeders: number
  leechers: number
}

/** A tracker bound to no port: the pod's server hands it requests and sockets. */
export interface Tracker {
  /** Distinguishes trackers, so two pods in one process each get their own routes plugin. */
  readonly id: string
  /**
   * WebSocket lifecycle handlers taking the raw Bun socket. `open` must run before the first
   * `message`; `close` must run for every opened socket, since it is what removes the peer
   * from its swarms (bittorrent-tracker pings nobody: Bun's idle timeout and automatic pings
   * are what close dead connections, and that close lands here).
   */
  readonly websocket: {
    open(ws: TrackerWebSocket, info?: UpgradeInfo): void
    /** `message` is the frame as received: the tracker parses the JSON itself. */
    message(ws: TrackerWebSocket, message: string | Uint8Array): void
    close(ws: TrackerWebSocket): void
  }
  /**
   * Answers an HTTP announce or scrape (BEP 3, BEP 48): always status 200, a bencoded body,
   * `failure reason` on refusal or malformed input. `remote` is the TCP peer address; with
   * `trustProxy`, the last valid `X-Forwarded-For` address (the proxy's view) wins over it.
   */
  handleHttp(request: Request, action: 'announce' | 'scrape', remote: RemoteAddress | null): Promise<Response>
  /** Counts from the swarms, after dropping peers older than the TTL (they never said `stopped`). */
  stats(): TrackerStats
  /** Drops the swarm of an infohash (a deleted video), so its peers stop being counted. */
  forget(infoHash: string): void
  /** Refuses further requests and closes every tracker WebSocket (code 1001). */
  close(): Promise<void>
}

/** What an announce says of the peer, for `isAllowed` (scrapes say nothing). */
export interface AnnounceInfo {
  /** Bytes the peer still needs; 0 for a seeder, undefined when the client did not say. */
  left?: number
  /** `started`, `stopped`, `completed`, or undefined for a periodic update. */
  event?: string
}

/** Options of {@link createTracker}. */
export interface TrackerOptions {
  /** True when the lower-case hex infohash is one of this pod's own videos. */
  isAllowed: (infoHash: string, announce: AnnounceInfo) => boolean
  /**
   * Take the client address from `X-Forwarded-For` (the pod runs behind one reverse proxy that
   * appends to it): the last valid entry, over HTTP and for the WebSocket upgrade alike.
   */
  trustProxy: boolean
  log: Logger
  /** Announce interval for HTTP clients, seconds (WebSocket clients get a fifth). Default 600. */
  intervalSeconds?: number
  /** Most peers of one address block (an IPv6 /64) in one swarm (swarm.ts). */
  peersPerAddress: number
  /** Announces and scrapes taken from one address block per minute, over HTTP and WebSocket together. */
  announcesPerMinute: number
  /** The pod's own peers (its seeder, by hex peer id): never pushed out of a swarm. */
  isOwnPeer?: (peerId: string) => boolean
  /** Most peers of one swarm; default 1,000 (upstream's). */
  swarmPeers?: number
  now?: () => number
}

const TEXT = new TextDecoder()
const EMPTY_HEADERS: Record<string, string | undefined> = {}

/** bittorrent-tracker strips `::ffff:` only when it does not trust the proxy; do it always. */
/**
 * bittorrent-tracker's server with fair swarms (swarm.ts) and a faster compact peer list
 * (see compact.ts). The `_onAnnounce` override
 * asks upstream's `_onAnnounce` for the stored peer objects (`compact: -1`, what WebSocket
 * announces get) and encodes them itself; every other step stays upstream's. Should a later
 * bittorrent-tracker stop calling `_onAnnounce`, this is simply never called and upstream's
 * own encoding applies: slower, same bytes.
 *
 * bittorrent-tracker is loaded at the first tracker request (src/app/lazy.ts), not at the pod's start: most
 * starts are followed by page views and API calls long before any announce.
 */
async function loadServer(policy: SwarmPolicy): Promise<typeof Server> {
  const { Server: Upstream } = await lazyImport('tracker')
  const FairSwarm = fairSwarm(Upstream.Swarm, policy)
  return class PodTrackerServer extends Upstream {
    // Upstream's, with the fair swarm (swarm.ts) instead of its own.
    override createSwarm(infoHash: string, cb: (err: Error | null, swarm: Swarm) => void): void {
      process.nextTick(() => cb(null, (this.torrents[infoHash] = new FairSwarm(infoHash, this))))
    }

    override _onAnnounce(params: AnnounceParams, cb: (err: Error | null, response?: AnnounceResponse) => void): void {
      if (params.compact !== 1) return super._onAnnounce(params, cb)
      params.compact = -1
      super._onAnnounce(params, (err, response) => {
        params.compact = 1
        if (err || !response) return cb(err)
        const { peers, peers6 } = compactPeers(response.peers as SwarmPeer[])
        response.peers = peers
        response.peers6 = peers6
        cb(null, response)
      })
    }
  }
}

/**
 * Stands in for a `ws` WebSocket in bittorrent-tracker: an EventEmitter with `send(text, cb)`
 * and `upgradeReq`. The tracker also writes its own bookkeeping fields on it (`peerId`,
 * `infoHashes`, `destroyed`, `onSend`...), which an EventEmitter subclass simply carries.
 */
class SocketAdapter extends EventEmitter {
  upgradeReq: TrackerHttpRequest | null
  /** Set by bittorrent-tracker once it has processed the close. */
  destroyed = false
  /** Frames that arrived before the tracker was loaded and took the socket. */
  pending: string[] | undefined = []
  /** The client's address block, which its frames count toward (the tracker drops `upgradeReq` at its first frame). */
  readonly block: string
  /** Until when the client was told that its address is over its rate (ms). */
  toldUntil = 0

  constructor(
    private readonly ws: TrackerWebSocket,
    info: UpgradeInfo | undefined,
    trustProxy: boolean,
  ) {
    super()
    const headers = info?.headers ?? EMPTY_HEADERS
    const remote = info?.remote ?? { address: ws.remoteAddress, port: 0 }
    const address = clientAddress(trustProxy, headers['x-forwarded-for'], remote?.address)
    this.block = addressBlock(address)
    this.upgradeReq = { url: '/', headers, connection: { remoteAddress: address, remotePort: remote.port || undefined } }
  }

  /**
   * Sends one JSON text frame. The tracker only uses the callback to learn of failures, so
   * success is reported at once; a frame Bun dropped (0) means a dead or hopelessly
   * backed-up connection: the peer would never get offers again, so the socket is closed
   * (the client reconnects) and the tracker told, which removes the peer from its swarms.
   */
  send(text: string, cb?: (err?: Error | null) => void): void {
    let sent: number
    try {
      sent = this.ws.send(text)
    } catch {
      sent = 0
    }
    if (sent !== 0) return cb?.()
    // Deferred like `ws` does, so the tracker never re-enters its close logic mid-announce.
    queueMicrotask(() => {
      try {
        this.ws.close(1011, 'send failed')
      } catch {
        // already closed
      }
      cb?.(new Error('websocket send dropped'))
    })
  }
}

/**
 * Creates the pod's tracker. Only infohashes accepted by `isAllowed` get a swarm; announces
 * of any other are answered with {@link REFUSED_REASON}, over HTTP and WebSocket alike.
 * Scrapes of unknown infohashes are answered with zero counts (upstream behaviour: no state
 * is created, so there is nothing to protect).
 */
export function createTracker(opts: TrackerOptions): Tracker {
  const { isAllowed, trustProxy, log } = opts
  let server: Server | undefined
  let loading: Promise<Server> | undefined
  // Requests per address block: what one address may make the tracker do (and relay) a minute.
  const requests = new RateLimiter(opts.announcesPerMinute, 60_000, opts.now ?? Date.now)
  const policy: SwarmPolicy = { maxPeers: opts.swarmPeers ?? 1000, peersPerAddress: opts.peersPerAddress, isOwn: opts.isOwnPeer ?? (() => false) }
  const now = opts.now ?? Date.now
  const load = () =>
    (loading ??= loadServer(policy).then((PodTrackerServer) => {
      server = new PodTrackerServer({
        http: false,
        udp: false,
        ws: false,
        stats: false,
        // The adapters choose the client address themselves (clientAddress): upstream's proxy
        // handling takes the spoofable first entry and does not validate it.
        trustProxy: false,
        interval: (opts.intervalSeconds ?? 600) * 1000,
        filter(infoHash, params, cb) {
          let allowed = false
          try {
            const left = Number(params.left)
            allowed = isAllowed(infoHash, { left: Number.isFinite(left) ? left : undefined, event: typeof params.event === 'string' ? params.event : undefined })
          } catch (err) {
            // A broken lookup must not take the tracker down, nor admit everything.
            log.warn('tracker.filter.failed', { infoHash, error: err })
          }
          cb(allowed ? null : new Error(REFUSED_REASON))
        },
      })
      // Client mistakes (bad info_hash, refused infohash, bad JSON) arrive as 'warning': debug
      // level, since any client on the internet can produce them at will.
      server.on('warning', (err: Error) => log.debug('tracker.warning', { error: err }))
      server.on('error', (err: Error) => log.error('tracker.error', { error: err }))
      return server
    }))

  const sockets = new Map<TrackerWebSocket, SocketAdapter>()
  let closed = false

  /** Hands a socket to the tracker, then the frames that came while it loaded. */
  const attach = (s: Server, socket: SocketAdapter) => {
    if (socket.destroyed) return
    s.onWebSocketConnection(socket)
    const pending = socket.pending ?? []
    socket.pending = undefined
    for (const text of pending) socket.emit('message', text)
  }

  const websocket: Tracker['websocket'] = {
    open(ws, info) {
      if (closed) return ws.close(1001, 'tracker closed')
      const socket = new SocketAdapter(ws, info, trustProxy)
      sockets.set(ws, socket)
      if (server) attach(server, socket)
      else void load().then((s) => attach(s, socket))
    },
    message(ws, message) {
      const socket = sockets.get(ws)
      if (!socket) return
      const text = typeof message === 'string' ? message : TEXT.decode(message)
      const rate = requests.take(socket.block)
      if (!rate.ok) {
        // Said once per wait: a socket flooding past its rate is not answered frame by frame.
        if (now() < socket.toldUntil) return
        socket.toldUntil = now() + rate.error.retryAfterSeconds * 1000
        return socket.send(JSON.stringify(tooMany(text, rate.error.retryAfterSeconds)))
      }
      if (socket.pending) socket.pending.push(text)
      else socket.emit('message', text)
    },
    close(ws) {
      const socket = sockets.get(ws)
      if (!socket) return
      sockets.delete(ws)
      // Not handed to the tracker yet: it never learns of the socket, so nothing to undo.
      if (socket.pending) socket.destroyed = true
      else socket.emit('close')
    },
  }

  async function handleHttp(request: Request, action: 'announce' | 'scrape', remote: RemoteAddress | null): Promise<Response> {
    if (closed) return failure('tracker closed', 503)
    const headers = request.headers.toJSON() as Record<string, string | undefined>
    const address = clientAddress(trustProxy, headers['x-forwarded-for'], remote?.address)
    if (!address) return failure('unknown client address', 200)
    const rate = requests.take(addressBlock(address))
    if (!rate.ok) return failure(`too many requests from this address; try again in ${rate.error.retryAfterSeconds} s`, 429, { 'retry-after': String(rate.error.retryAfterSeconds) })
    const s = server ?? (await load())
    // parse-http.js only reads what follows the first '?', and takes the action from opts.
    const url = request.url
    const q = url.indexOf('?')
    const req: TrackerHttpRequest = {
      url: q === -1 ? '/' : '/' + url.slice(q),
      headers,
      connection: { remoteAddress: address, remotePort: remote?.port },
    }
    return new Promise((resolve) => {
      try {
        s.onHttpRequest(req, { end: (body) => resolve(bencoded(body ?? '')) }, { action })
      } catch (err) {
        log.warn('tracker.http.failed', { error: err })
        resolve(failure('internal tracker error', 500))
      }
    })
  }

  function stats(): TrackerStats {
    const result: TrackerStats = { torrents: 0, peers: 0, seeders: 0, leechers: 0 }
    for (const swarm of Object.values(server?.torrents ?? {}) as Swarm[]) {
      // peek() evicts expired peers and fixes complete/incomplete on the way.
      for (const key of swarm.peers.keys) swarm.peers.peek(key)
      result.torrents++
      result.peers += swarm.peers.length
      result.seeders += swarm.complete
      result.leechers += swarm.incomplete
    }
    return result
  }

  return {
    id: crypto.randomUUID(),
    websocket,
    handleHttp,
    stats,
    forget(infoHash) {
      if (server) delete server.torrents[infoHash.toLowerCase()]
    },
    close() {
      if (closed) return Promise.resolve()
      closed = true
      for (const ws of [...sockets.keys()]) {
        try {
          ws.close(1001, 'tracker closed')
        } catch {
          // already gone
        }
        websocket.close(ws)
      }
      const s = server
      return s ? new Promise((resolve) => s.close(() => resolve())) : Promise.resolve()
    },
  }
}

/** Trackers answer with status 200 even for failures: clients read `failure reason` from the body. */
function bencoded(body: Uint8Array | string, status = 200, headers: Record<string, string> = {}): Response {
  // bencode's Uint8Array is typed over ArrayBufferLike; it is a plain ArrayBuffer view.
  return new Response(body as BodyInit, { status, headers: { 'content-type': 'text/plain', 'cache-control': 'no-store', ...headers } })
}

function failure(reason: string, status: number, headers?: Record<string, string>): Response {
  const text = `d14:failure reason${Buffer.byteLength(reason)}:${reason}e`
  return bencoded(text, status, headers)
}

/**
 * The WebSocket answer to a frame over its address's rate: a failure for the infohash it
 * names (a WebTorrent client reads it as a warning for that torrent), with `retry in`
 * (BEP 31, minutes) for clients that honour it.
 */
function tooMany(frame: string, seconds: number): Record<string, unknown> {
  let infoHash: unknown
  try {
    infoHash = (JSON.parse(frame) as { info_hash?: unknown }).info_hash
  } catch {
    // not JSON: the answer names no torrent
  }
  return {
    action: 'announce',
    ...(typeof infoHash === 'string' ? { info_hash: infoHash } : {}),
    'failure reason': `too many requests from this address; try again in ${seconds} s`,
    'retry in': Math.ceil(seconds / 60),
  }
}
