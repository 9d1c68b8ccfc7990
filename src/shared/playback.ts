/**
 * Playback rules that the pod and the browser's player share: the web-seed governor's tuning
 * (public/player/governor.ts) and the head start it implies.
 *
 * Both sides need the same numbers: the watch page's HTML (src/pages/routes.ts) carries a
 * `<video>` of a video's head start, and the player (public/player/) then fetches exactly
 * those bytes for the torrent, which the browser already holds in its cache. Computed in two
 * places, the two would drift apart and the bytes would be fetched twice.
 *
 * Pure: constants and functions only, no DOM, Node or Bun, so that the server imports it and
 * the browser bundle can include it.
 */

/** Tuning of the web-seed governor; the defaults were measured with test/bench/p2p.ts. */
export interface GovernorOptions {
  /** How long a waiting player may wait for peers before the web seed serves what it needs. */
  peerWaitMs: number
  /** A waiting player gets its urgent window from the web seed at once if that is at most this share of the video. */
  cheapShare: number
  /** After this long, pieces that no connected peer has go to the web seed; with no peer at all, everything does. */
  graceMs: number
  /**
   * While the tracker counts other viewers but none has connected yet, a viewer counts as
   * alone (the web seed serving everything at once) only after this long: setting up WebRTC
   * through a busy tracker, or on a busy machine, can take several seconds. Meanwhile the web
   * seed still serves what the player needs (`peerWaitMs`, the horizons).
   */
  connectMs: number
  /** The web seed serves what the player needs within this many seconds and peers have not brought. */
  horizonSeconds: number
  /** The same while the player waits to start (it wants a few seconds before it shows a frame). */
  startHorizonSeconds: number
  /** How often the mask is recomputed (also on player events and verified pieces). */
  tickMs: number
  /** The video's duration as the pod knows it (seconds), until the player has read it from the file. */
  duration?: number
  /**
   * Complete peers in the tracker's counts that browsers cannot use: the origin pod's own
   * seeder (BitTorrent over TCP), announced to its tracker like any peer.
   */
  serverSeeders: number
}

/** The governor's defaults, which the head start (`headStartBytes`) is derived from too. */
export const DEFAULT_GOVERNOR: GovernorOptions = {
  peerWaitMs: 1000,
  cheapShare: 0.15,
  graceMs: 2500,
  connectMs: 8000,
  horizonSeconds: 3,
  startHorizonSeconds: 5,
  tickMs: 250,
  serverSeeders: 1,
}

/**
 * The head start of a video: how many bytes at the start of a file hold its first
 * `startHorizonSeconds` (at its average bit rate), when that is a small part of it
 * (`cheapShare`); undefined otherwise (size or duration unknown, or a short video, which waits
 * for peers instead). It is what the governor would have the web seed serve first anyway, so
 * fetching it before WebTorrent is there costs no extra web-seed bytes.
 */
export function headStartBytes(size: number | null | undefined, duration: number | null | undefined): number | undefined {
  if (!size || !duration || duration <= 0) return undefined
  const bytes = Math.ceil((DEFAULT_GOVERNOR.startHorizonSeconds / duration) * size)
  return bytes / size <= DEFAULT_GOVERNOR.cheapShare ? bytes : undefined
}
