/**
 * The parts of bittorrent-tracker 11 that seedpod uses. The package ships no types; these
 * declarations follow node_modules/bittorrent-tracker/server.js, lib/server/swarm.js and
 * client.js, and only name what the tracker module, its tests and its bench touch.
 */
declare module 'bittorrent-tracker' {
  import { EventEmitter } from 'node:events'

  /** One peer in a swarm, as lib/server/swarm.js stores it. */
  export interface SwarmPeer {
    type: 'http' | 'udp' | 'ws'
    complete: boolean
    /** Hex. */
    peerId: string
    ip: string
    port: number
    socket?: unknown
  }

  /** What the `lru` cache of a swarm's peers says when a peer leaves it for its age or its room. */
  export interface PeerEviction {
    key: string
    value: SwarmPeer
  }

  /** The `lru` cache of a swarm's peers, keyed by address and port (HTTP) or peer id (WS). */
  export interface PeerCache {
    readonly length: number
    readonly keys: string[]
    /** Most peers before the least recently announced is evicted. */
    max: number
    /** The entries by key (the package's own field: read without touching recency or age). */
    readonly cache: Record<string, { value: SwarmPeer } | undefined>
    /** Reads without touching recency; evicts (with a synthetic `stopped`) a peer older than the TTL. */
    peek(key: string): SwarmPeer | undefined
    remove(key: string): SwarmPeer | undefined
    on(event: 'evict', listener: (e: PeerEviction) => void): this
    emit(event: 'evict', e: PeerEviction): boolean
  }

  /** A swarm: the peers of one infohash. */
  export interface Swarm {
    infoHash: string
    complete: number
    incomplete: number
    peers: PeerCache
  }

  /** lib/server/swarm.js, for subclassing (`Server.Swarm`): the steps of an announce by event. */
  export class SwarmBase implements Swarm {
    constructor(infoHash: string, server: Server)
    infoHash: string
    complete: number
    incomplete: number
    peers: PeerCache
    _onAnnounceStarted(params: AnnounceParams, peer: SwarmPeer | undefined, id: string): void
    _onAnnounceStopped(params: AnnounceParams, peer: SwarmPeer | undefined, id: string): void
    _onAnnounceUpdate(params: AnnounceParams, peer: SwarmPeer | undefined, id: string): void
  }

  /** Decides whether an infohash is served: call `cb()` to allow, `cb(err)` to refuse with `err.message`. */
  export type TrackerFilter = (infoHash: string, params: Record<string, unknown>, cb: (err?: Error | null) => void) => void

  export interface ServerOptions {
    /** Announce interval told to HTTP clients, in ms; WebSocket clients get a fifth of it. Default 10 min. */
    interval?: number
    trustProxy?: boolean
    http?: boolean | object
    udp?: boolean | object
    ws?: boolean | object
    stats?: boolean
    filter?: TrackerFilter
    peersCacheLength?: number
    peersCacheTtl?: number
  }

  /** The minimal Node request shape `onHttpRequest` reads (see lib/server/parse-http.js). */
  export interface TrackerHttpRequest {
    /** Path and query string; the query holds percent-encoded binary `info_hash` and `peer_id`. */
    url: string
    /** Lower-case header names. */
    headers: Record<string, string | undefined>
    connection: { remoteAddress: string; remotePort?: number }
  }

  /** The only method of a Node response that `onHttpRequest` calls. */
  export interface TrackerHttpResponse {
    end(body?: Uint8Array | string): void
  }

  /** What `onWebSocketConnection` needs from a socket (the `ws` package's WebSocket, normally). */
  export interface TrackerWebSocketLike extends EventEmitter {
    send(text: string, cb?: (err?: Error | null) => void): void
    upgradeReq: TrackerHttpRequest | null
  }

  export class Server extends EventEmitter {
    /** The swarm class `createSwarm` makes. */
    static Swarm: typeof SwarmBase
    constructor(opts?: ServerOptions)
    intervalMs: number
    destroyed: boolean
    /** Swarms by hex infohash. */
    torrents: Record<string, Swarm>
    http: import('node:http').Server | null
    listen(port?: number, hostname?: string, onListening?: () => void): void
    listen(port: number, onListening: () => void): void
    close(cb?: (err?: Error | null) => void): void
    onHttpRequest(req: TrackerHttpRequest, res: TrackerHttpResponse, opts?: { action?: 'announce' | 'scrape'; trustProxy?: boolean }): void
    onWebSocketConnection(socket: TrackerWebSocketLike, opts?: { trustProxy?: boolean }): void
    /**
     * Upstream-internal: filter, swarm lookup, announce, then peer-list encoding by
     * `params.compact` (1: compact bytes, 0: dictionaries, else: the stored peer objects).
     */
    _onAnnounce(params: AnnounceParams, cb: (err: Error | null, response?: AnnounceResponse) => void): void
    /** Makes the swarm of an infohash (on the next tick) and keeps it in `torrents`. */
    createSwarm(infoHash: string, cb: (err: Error | null, swarm: Swarm) => void): void
  }

  /** The parsed announce `_onAnnounce` receives (parse-http.js, parse-websocket.js). */
  export interface AnnounceParams {
    type: 'http' | 'udp' | 'ws'
    /** Hex. */
    info_hash: string
    compact: number
    [key: string]: unknown
  }

  /** An announce answer before encoding. */
  export interface AnnounceResponse {
    complete: number
    incomplete: number
    interval?: number
    peers: SwarmPeer[] | Uint8Array | Array<Record<string, unknown>>
    peers6?: Uint8Array
    [key: string]: unknown
  }

  export interface ClientOptions {
    /** Hex string or bytes. */
    infoHash: string | Uint8Array
    /** Hex string or bytes. */
    peerId: string | Uint8Array
    announce: string | string[]
    port: number
    getAnnounceOpts?: () => Record<string, unknown>
  }

  /** An announce answer as the client emits it. */
  export interface ClientUpdate {
    announce: string
    complete: number
    incomplete: number
  }

  export class Client extends EventEmitter {
    constructor(opts: ClientOptions)
    start(opts?: Record<string, unknown>): void
    stop(opts?: Record<string, unknown>): void
    complete(opts?: Record<string, unknown>): void
    update(opts?: Record<string, unknown>): void
    scrape(opts?: Record<string, unknown>): void
    destroy(cb?: (err?: Error | null) => void): void
  }

  export default Client
}
