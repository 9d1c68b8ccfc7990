/**
 * The parts of WebTorrent 3's browser build (`/vendor/webtorrent.min.js`, an ES module the
 * pod serves) that the player uses, typed from node_modules/webtorrent/lib/*.js. Some are
 * internals (underscored): the web-seed governor needs the wires' piece maps, the stream
 * selections and the update loop; they are pinned by the webtorrent version in package.json.
 */

/** A piece map: `get(i)` tells whether piece i is there. */
export interface BitFieldLike {
  get(index: number): boolean
  set(index: number, value?: boolean): void
  buffer?: Uint8Array
}

/** One connection of a torrent: a WebRTC peer, or the web seed (`type: 'webSeed'`). */
export interface Wire {
  type: string
  peerPieces: BitFieldLike
  /** The remote chokes us: it serves nothing now. */
  peerChoking: boolean
  destroyed: boolean
  requests: unknown[]
  downloaded: number
  uploaded: number
  downloadSpeed(): number
  uploadSpeed(): number
  on(event: 'download' | 'upload', listener: (bytes: number) => void): void
  on(event: 'unchoke' | 'bitfield', listener: () => void): void
  once(event: 'close', listener: () => void): void
}

/** A download selection; a stream's starts where the player reads, `from + offset` is its first missing piece. */
interface Selection {
  from: number
  to: number
  offset: number
  priority: number
  isStreamSelection?: boolean
}

/** A file of a torrent (the player streams the largest). */
interface TorrentFile {
  name: string
  path: string
  length: number
  /** Sets `elem.src` to the file's URL under the service worker (`/webtorrent/<hash>/<path>`). */
  streamTo(elem: HTMLMediaElement): HTMLMediaElement
}

/** The tracker client of a torrent's discovery (bittorrent-tracker): 'update' carries swarm counts. */
interface TrackerClient {
  on(event: 'update', listener: (data: { announce: string; complete: number; incomplete: number }) => void): void
}

/** A torrent the tab's client holds: downloading, or seeding to other viewers. */
export interface Torrent {
  infoHash: string
  name: string
  length: number
  pieceLength: number
  /** Missing pieces are objects, verified ones null. */
  pieces: (object | null)[]
  files: TorrentFile[]
  wires: Wire[]
  ready: boolean
  done: boolean
  destroyed: boolean
  progress: number
  downloaded: number
  uploaded: number
  downloadSpeed: number
  uploadSpeed: number
  bitfield: BitFieldLike
  discovery?: { tracker?: TrackerClient }
  addWebSeed(url: string): void
  destroy(opts?: { destroyStore?: boolean }, cb?: (err?: Error) => void): void
  on(event: 'ready' | 'done' | 'metadata', listener: () => void): void
  on(event: 'wire', listener: (wire: Wire) => void): void
  on(event: 'verified', listener: (index: number) => void): void
  on(event: 'warning' | 'error', listener: (err: Error | string) => void): void
  once(event: 'ready', listener: () => void): void
  // Internals the governor reads or calls (see module doc).
  _selections: Iterable<Selection>
  _critical: boolean[]
  /** Schedules a request pass in an idle callback (up to 250 ms later on a busy page). */
  _update(): void
  /** Runs a request pass now. */
  _updateWireWrapper(): void
  _updateInterest(): void
  // What the stream player (segments.ts) uses to fetch only some pieces: a stream selection
  // is counted (each `_deselect` removes one), so overlapping reads do not undo each other.
  _select(from: number, to: number, priority: number, notify: undefined, isStreamSelection: true): void
  _deselect(from: number, to: number, isStreamSelection: true): void
  /** Asks every wire that has them for pieces from..to (hot-swapping slow ones). */
  critical(from: number, to: number): void
  /** A piece is no longer held (the bounded store dropped it): fetched again if needed. */
  _markUnverified(index: number): void
  store: { get(index: number, opts: { offset: number; length: number }, cb: (err: Error | null, buf?: Uint8Array) => void): void } | null
}

/** The tab's WebTorrent client (player/client.ts). */
export interface WebTorrentClient {
  torrents: Torrent[]
  add(torrentId: string | Uint8Array, opts: Record<string, unknown>, onTorrent?: (t: Torrent) => void): Torrent
  get(torrentId: string): Promise<Torrent | null>
  createServer(opts: { controller: ServiceWorkerRegistration }): unknown
  on(event: 'error' | 'warning', listener: (err: Error | string) => void): void
  destroy(cb?: () => void): void
}

type WebTorrentConstructor = new (opts?: Record<string, unknown>) => WebTorrentClient

let loading: Promise<WebTorrentConstructor> | undefined

/** Loads the pod's copy of WebTorrent (once; the watch page's HTML has already preloaded it). */
export function loadWebTorrent(url: string): Promise<WebTorrentConstructor> {
  loading ??= (async () => {
    // A runtime URL, not a bundled import: the pod serves WebTorrent's own build as it ships.
    const m = (await import(/* @vite-ignore */ url)) as { default: WebTorrentConstructor }
    return m.default
  })()
  return loading
}
