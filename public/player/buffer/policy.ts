/**
 * The buffer policy: how far ahead the player fetches, and when the web seed may serve what
 * peers have not brought. Pure (no DOM, no WebTorrent), so test/unit/ checks it as it is.
 *
 * The horizon is hls.js's buffer: it asks for segments up to `player.bufferSeconds` ahead of
 * the playhead and no further, so nothing beyond it is fetched, from peers or web seeds, unless
 * the viewer watches on. Each segment is read from its stream's torrent (swarm/segments.ts)
 * with a deadline set by what is buffered ahead: with plenty buffered, peers get their
 * chance; with little, the web seed serves at once.
 */
import { DEFAULT_GOVERNOR, type GovernorOptions } from '../../../src/shared/playback'

/** With this much buffered ahead (beyond FLOOR_SECONDS), peers get the longest chance before the web seed. */
const COMFORT_SECONDS = 12
/** Below this much buffered ahead, the web seed serves almost at once. */
const FLOOR_SECONDS = 4
const MIN_DEADLINE_MS = 300
const MAX_DEADLINE_MS = 4000

/** The time ranges of a media element's buffer (`HTMLMediaElement.buffered`). */
export interface Ranges {
  readonly length: number
  start(i: number): number
  end(i: number): number
}

/** Seconds buffered ahead of `time` (0 when nothing is). */
export function bufferedAhead(buffered: Ranges, time: number): number {
  for (let i = 0; i < buffered.length; i++) {
    // A small tolerance: after a seek the playhead can sit a hair before its range's start.
    if (buffered.start(i) <= time + 0.1 && time <= buffered.end(i)) return buffered.end(i) - time
  }
  return 0
}

/** How long peers may take to bring a segment before the web seed serves its missing pieces. */
export function peerDeadlineMs(aheadSeconds: number): number {
  const share = Math.min(1, Math.max(0, aheadSeconds - FLOOR_SECONDS) / COMFORT_SECONDS)
  return Math.round(MIN_DEADLINE_MS + (MAX_DEADLINE_MS - MIN_DEADLINE_MS) * share)
}

/** hls.js's buffer settings for `bufferSeconds` ahead (config `player.bufferSeconds`). */
export function bufferSettings(bufferSeconds: number): { maxBufferLength: number; maxMaxBufferLength: number; backBufferLength: number } {
  return {
    maxBufferLength: bufferSeconds,
    maxMaxBufferLength: bufferSeconds,
    // Played media is dropped from the element's buffer beyond this (the piece cache keeps the bytes for peers).
    backBufferLength: Math.min(30, bufferSeconds),
  }
}

/** Other viewers in a swarm by a tracker's counts: neither this viewer nor the pods' own seeders. */
export function othersIn(complete: number, incomplete: number, opts: GovernorOptions = DEFAULT_GOVERNOR): number {
  return Math.max(0, complete + incomplete - 1 - opts.serverSeeders)
}

/** What one torrent's swarm looks like to the governor. */
export interface Swarm {
  /** Other viewers by the tracker's last count; undefined before its first answer. */
  others: number | undefined
  /** Whether any peer (not a web seed) is connected. */
  peers: boolean
  /** Since when the torrent is open, ms. */
  openMs: number
}

/**
 * Whether the viewer is alone, with nobody to ask but the web seed: the tracker counts nobody
 * else, or no peer connected within `graceMs` (no tracker answer yet) or `connectMs` (it
 * counts others, still connecting).
 */
export function alone(s: Swarm, opts: GovernorOptions = DEFAULT_GOVERNOR): boolean {
  return s.others === 0 || (!s.peers && s.openMs >= (s.others === undefined ? opts.graceMs : opts.connectMs))
}

/** One missing piece of a segment being read. */
export interface PieceWait {
  /** How long the read has waited, and its deadline (peerDeadlineMs). */
  waitedMs: number
  deadlineMs: number
  /** Whether a connected peer has the piece. */
  peerHas: boolean
}

/**
 * Whether the web seed may serve a missing piece now: the viewer is alone; or the read's
 * deadline passed (peers did not bring it in time); or peers are connected, none has it, and
 * `graceMs` is over since the torrent opened.
 */
export function webSeedMay(s: Swarm, p: PieceWait, opts: GovernorOptions = DEFAULT_GOVERNOR): boolean {
  if (alone(s, opts) || p.waitedMs >= p.deadlineMs) return true
  return s.peers && s.openMs >= opts.graceMs && !p.peerHas
}
