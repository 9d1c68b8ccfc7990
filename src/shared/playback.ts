/**
 * Playback rules that the pod and the browser's player share: the web-seed governor's tuning
 * (public/player/swarm/governor.ts), the quick start's length and the stream it starts with.
 *
 * Both sides need the same numbers: the watch page's HTML (src/pages/shell.ts) carries a
 * `<video>` of a video's head start, and the player (public/player/) then reads the segments
 * within those bytes from the browser's cache and starts with the same stream. Computed in two
 * places, the two would drift apart and the bytes would be fetched twice.
 *
 * Pure: constants and functions only, no DOM, Node or Bun, so that the server imports it and
 * the browser bundle can include it.
 */

/** Tuning of the web-seed governor; the defaults were measured with test/bench/p2p.ts. */
export interface GovernorOptions {
  /** After this long, pieces that no connected peer has go to the web seed; with no peer at all (and no tracker answer), everything does. */
  graceMs: number
  /**
   * While the tracker counts other viewers but none has connected yet, a viewer counts as
   * alone (the web seed serving everything at once) only after this long: setting up WebRTC
   * through a busy tracker, or on a busy machine, can take several seconds. Meanwhile the web
   * seed still serves what the player needs by its deadline (public/player/buffer/policy.ts).
   */
  connectMs: number
  /**
   * Complete peers in the tracker's counts that browsers cannot use: the origin pod's own
   * seeder (BitTorrent over TCP), announced to its tracker like any peer.
   */
  serverSeeders: number
}

/** The governor's defaults. */
export const DEFAULT_GOVERNOR: GovernorOptions = {
  graceMs: 2500,
  connectMs: 8000,
  serverSeeders: 1,
}

/** The quick start: the first `seconds` of a video, when they are at most `maxShare` of it. */
export const HEAD_START = { seconds: 5, maxShare: 0.15 } as const

/**
 * A streamed video starts with its lowest stream at least this high (the quick start's, and
 * the player's first level without one): one that slow links carry too, as adaptive players
 * start; the player's switching takes it up within seconds where the link allows.
 */
export const START_HEIGHT = 240

/**
 * The head start of a video: how many bytes at the start of a file hold its first
 * `HEAD_START.seconds` (at its average bit rate), when that is a small part of it
 * (`HEAD_START.maxShare`); undefined otherwise (size or duration unknown, or a short video,
 * which waits for peers instead).
 */
export function headStartBytes(size: number | null | undefined, duration: number | null | undefined): number | undefined {
  if (!size || !duration || duration <= 0) return undefined
  const bytes = Math.ceil((HEAD_START.seconds / duration) * size)
  return bytes / size <= HEAD_START.maxShare ? bytes : undefined
}
