/**
 * What the two ways of playing (hls.ts with our loader; direct.ts, a plain `src`) give the
 * player (index.ts), and what they tell it.
 */

/** What the stats panel shows (components/P2PStats.tsx). */
export interface PlayerStats {
  /** Connected WebRTC peers. */
  peers: number
  /** Bytes per second. */
  downloadSpeed: number
  uploadSpeed: number
  /** Bytes received from other viewers, and from web seeds (the origin's and its mirrors'). */
  fromPeers: number
  fromWebSeed: number
  /** Bytes sent to other viewers. */
  uploaded: number
  /**
   * `stream`: hls.js with each segment from the torrent, peers first; `direct`: a plain
   * `src` from a web seed or the browser's own HLS, without peers; `starting` before either.
   */
  mode: 'starting' | 'stream' | 'direct'
  /** The level playing (`480p (Auto)`), for a video played by its streams. */
  quality?: string
}

/** The Quality menu's view of the levels. */
export interface Quality {
  /** The levels to offer, highest first; `index` is what `choose` takes. */
  levels: { index: number; label: string }[]
  /** The level playing now (-1 before the first). */
  playing: number
  /** The viewer's pick, or -1 for Auto. */
  chosen: number
}

/** What a way of playing tells the player as it goes. */
export interface Sink {
  quality(q: Quality): void
  /** Whether anything answers (false: nothing did for a few seconds; it keeps trying). */
  reachable(ok: boolean): void
  /** Whether what plays came from a copy another pod keeps (its origin does not answer). */
  copy(copy: boolean): void
}

/** A way of playing, running. */
export interface Engine {
  stats(): PlayerStats
  /** Picks a level (an index of `Quality.levels`), or -1 for Auto. */
  choose(level: number): void
  /** Whether any playlist or file answered yet (nothing did: another way may be tried). */
  answered(): boolean
  stop(): void
}

/** Stats of a playback without peers. */
export const DIRECT_STATS: PlayerStats = { peers: 0, downloadSpeed: 0, uploadSpeed: 0, fromPeers: 0, fromWebSeed: 0, uploaded: 0, mode: 'direct' }
