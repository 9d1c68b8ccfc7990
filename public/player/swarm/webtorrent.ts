/**
 * The parts of WebTorrent 3's browser build (`/vendor/webtorrent.min.js`, an ES module the
 * pod serves) that the player uses, typed from node_modules/webtorrent/lib/*.js. Some are
 * internals (underscored): the web-seed governor needs the wires' piece maps and the request
 * pass, the range reader the selections; they are pinned by the webtorrent version in
 * package.json.
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
  destroyed: boolean
  on(event: 'download', listener: (bytes: number) => void): void
  on(event: 'unchoke', listener: () => void): void
}

/** The tracker client of a torrent's discovery (bittorrent-tracker): 'update' carries swarm counts. */
interface TrackerClient {
  on(event: 'update', listener: (data: { announce: string; complete: number; incomplete: number }) => void): void
}

/** A torrent the tab's client holds: downloading, or seeding to other viewers. */
export interface Torrent {
  infoHash: string
  pieceLength: number
  /** Missing pieces are objects, verified ones null. */
  pieces: (object | null)[]
  wires: Wire[]
  ready: boolean
  done: boolean
  destroyed: boolean
  uploaded: number
  downloadSpeed: number
  uploadSpeed: number
  bitfield: BitFieldLike
  discovery?: { tracker?: TrackerClient }
  addWebSeed(url: string): void
  destroy(opts?: { destroyStore?: boolean }): void
  on(event: 'wire', listener: (wire: Wire) => void): void
  on(event: 'verified', listener: (index: number) => void): void
  once(event: 'ready', listener: () => void): void
  // Internals the governor calls (see module doc).
  /** Runs a request pass now. */
  _updateWireWrapper(): void
  _updateInterest(): void
  // What the range reader (segments.ts) uses to fetch only some pieces: a stream selection
  // is counted (each `_deselect` removes one), so overlapping reads do not undo each other.
  _select(from: number, to: number, priority: number, notify: undefined, isStreamSelection: true): void
  _deselect(from: number, to: number, isStreamSelection: true): void
  /** Asks every wire that has them for pieces from..to (hot-swapping slow ones). */
  critical(from: number, to: number): void
  /** A piece is no longer held (the bounded store dropped it): fetched again if needed. */
  _markUnverified(index: number): void
  store: { get(index: number, opts: { offset: number; length: number }, cb: (err: Error | null, buf?: Uint8Array) => void): void } | null
}

/** The tab's WebTorrent client (client.ts). */
export interface WebTorrentClient {
  torrents: Torrent[]
  add(torrentId: Uint8Array, opts: Record<string, unknown>): Torrent
  get(torrentId: string): Promise<Torrent | null>
  on(event: 'error', listener: (err: Error | string) => void): void
}

/** WebTorrent's default export. */
export type WebTorrentConstructor = new (opts?: Record<string, unknown>) => WebTorrentClient
