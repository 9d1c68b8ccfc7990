/**
 * P2P first: decides, piece by piece, what the web seed may serve.
 *
 * Plain WebTorrent treats a web seed as one more peer, and a fast one: it asks it for whole
 * pieces, and on a good link the web seed wins nearly every piece, so viewers who could serve
 * each other sit idle. Here the web seed is attached from the start (no delay when it is
 * needed) but masked: the piece map WebTorrent sees for it holds only the pieces the web seed
 * is allowed to serve, and WebTorrent's own scheduler does the rest (it asks peers for
 * everything, and the web seed for the allowed pieces only).
 *
 * A piece is allowed when
 *  - it is urgent: in the window just after where the player reads, while
 *    - the player waits for data (start, seek, stall) and no peer delivered it within
 *      `peerWaitMs`, or
 *    - the buffer ahead of the playhead is below `lowWaterSeconds` (until it is back above
 *      `highWaterSeconds`);
 *  - or no connected peer has it, `graceMs` after the start;
 *  - or the viewer is alone: the tracker counts nobody else who could share (the origin pod's
 *    own seeder speaks TCP, which browsers cannot reach, so it does not count), or no peer
 *    connected within `graceMs`. Then the web seed serves everything, at once.
 * When the buffer is healthy again the window closes; requests in flight finish, no new ones
 * go to the web seed.
 *
 * The mask works by giving the web seed wire a `peerPieces` view (an accessor on that one
 * wire object): WebTorrent consults `wire.peerPieces.get(i)` for interest and for every
 * request it makes (lib/torrent.js `_updateWire`, `_updateWireInterest`).
 */
import { debug } from './debug'
import type { BitFieldLike, Torrent } from './webtorrent'

/** Tuning; the defaults were measured with test/bench/p2p.ts. */
export interface GovernorOptions {
  /** How long a waiting player may wait for peers before the web seed serves what it needs. */
  peerWaitMs: number
  /** After this long, pieces that no connected peer has go to the web seed; with no peer at all, everything does. */
  graceMs: number
  /** Below this many seconds buffered ahead, the web seed fills the urgent window... */
  lowWaterSeconds: number
  /** ...until the buffer is back above this. */
  highWaterSeconds: number
  /** Size of the urgent window after the read position, in seconds of video. */
  urgentSeconds: number
  /** How often the mask is recomputed (also on player events and verified pieces). */
  tickMs: number
  /**
   * Complete peers in the tracker's counts that browsers cannot use: the origin pod's own
   * seeder (BitTorrent over TCP), announced to its tracker like any peer.
   */
  serverSeeders: number
}

export const DEFAULT_GOVERNOR: GovernorOptions = {
  peerWaitMs: 1000,
  graceMs: 2500,
  lowWaterSeconds: 3,
  highWaterSeconds: 8,
  urgentSeconds: 3,
  tickMs: 250,
  serverSeeders: 1,
}

/** What the governor is doing, for the stats panel. */
export type GovernorMode = 'peers' | 'urgent' | 'alone' | 'done'

/** Seconds of media buffered ahead of the playhead (0 when nothing is). */
export function bufferedAhead(video: HTMLMediaElement): number {
  const t = video.currentTime
  const b = video.buffered
  for (let i = 0; i < b.length; i++) {
    // A small tolerance: after a seek the playhead can sit a hair before its range's start.
    if (b.start(i) <= t + 0.05 && t <= b.end(i)) return b.end(i) - t
  }
  return 0
}

export class WebSeedGovernor {
  private readonly opts: GovernorOptions
  private readonly started = performance.now()
  /** Since when the attached player waits for data (undefined: it plays, or none is attached). */
  private waitingSince: number | undefined
  private lowBuffer = false
  /** Other viewers in the swarm by the tracker's last count; undefined before its first answer. */
  private others: number | undefined
  private urgentFrom = -1
  private urgentTo = -1
  private timer: ReturnType<typeof setInterval> | undefined
  private readonly unlisten: (() => void)[] = []
  /** The player being fed, if one is attached (without one the torrent downloads in the background). */
  private video: HTMLMediaElement | undefined
  /** What the mask does right now. */
  mode: GovernorMode = 'peers'

  constructor(
    private readonly torrent: Torrent,
    opts: Partial<GovernorOptions> = {},
  ) {
    this.opts = { ...DEFAULT_GOVERNOR, ...opts }
    for (const w of torrent.wires) if (w.type === 'webSeed') this.mask(w)
    torrent.on('wire', (w) => {
      if (w.type === 'webSeed') this.mask(w)
    })
    torrent.discovery?.tracker?.on('update', (d) => {
      // The counts include this viewer once it has announced, and the origin's seeder.
      this.others = Math.max(0, d.complete + d.incomplete - 1 - this.opts.serverSeeders)
      debug('tracker update', { complete: d.complete, incomplete: d.incomplete, others: this.others })
      this.update(true)
    })
    torrent.on('verified', () => this.update())
    // The tick also re-runs WebTorrent's scheduler: what "no peer has" means changes as
    // peers come, go and announce pieces, which no single event tells.
    this.timer = setInterval(() => this.update(true), this.opts.tickMs)
    this.update(true)
  }

  /** Feeds `video` from now on: its read position and buffer decide what is urgent. */
  attach(video: HTMLMediaElement): void {
    this.detach()
    this.video = video
    this.waitingSince = performance.now()
    const onEvent = () => this.update()
    for (const e of ['waiting', 'seeking', 'playing', 'progress', 'stalled', 'canplay']) {
      video.addEventListener(e, onEvent)
      this.unlisten.push(() => video.removeEventListener(e, onEvent))
    }
    this.update(true)
  }

  /** The player went away: nothing is urgent any more; the rest still comes from peers first. */
  detach(): void {
    for (const u of this.unlisten.splice(0)) u()
    this.video = undefined
    this.waitingSince = undefined
    this.lowBuffer = false
  }

  /** Stops governing for good (torrent done or destroyed). */
  stop(): void {
    clearInterval(this.timer)
    this.detach()
  }

  /** Whether the web seed may serve piece `i` now. */
  allowed(i: number): boolean {
    if (this.mode === 'alone') return true
    if (i >= this.urgentFrom && i <= this.urgentTo) return true
    if (this.mode === 'done' || !this.graceOver()) return false
    // Called for every piece on every scheduling pass: no allocation here.
    for (const w of this.torrent.wires) if (w.type !== 'webSeed' && !w.destroyed && w.peerPieces.get(i)) return false
    return true
  }

  private graceOver(): boolean {
    return performance.now() - this.started >= this.opts.graceMs
  }

  private hasPeers(): boolean {
    return this.torrent.wires.some((w) => w.type !== 'webSeed' && !w.destroyed)
  }

  /** Gives the web seed wire the masked piece map (see module doc). */
  private mask(wire: { peerPieces: BitFieldLike }): void {
    let real: BitFieldLike = wire.peerPieces
    const view: BitFieldLike = {
      get: (i) => this.allowed(i) && real.get(i),
      set: (i, v) => real.set(i, v),
      get buffer() {
        return real.buffer
      },
    }
    // bittorrent-protocol replaces peerPieces when the (fake) bitfield message arrives: keep
    // the real map behind the view whatever it assigns.
    Object.defineProperty(wire, 'peerPieces', {
      configurable: true,
      get: () => view,
      set: (v: BitFieldLike) => {
        real = v
      },
    })
  }

  /** The first missing piece where the player reads: the earliest stream selection's, else the playhead's. */
  private readPosition(): number {
    const t = this.torrent
    let pos = Infinity
    for (const s of t._selections) {
      if (!s.isStreamSelection) continue
      let p = s.from + s.offset
      while (p <= s.to && t.bitfield.get(p)) p++
      if (p <= s.to) pos = Math.min(pos, p)
    }
    if (pos !== Infinity) return pos
    const v = this.video
    if (!v || !Number.isFinite(v.duration) || v.duration <= 0) return 0
    return Math.min(t.pieces.length - 1, Math.floor(((v.currentTime / v.duration) * t.length) / t.pieceLength))
  }

  /** Recomputes the mask; tells WebTorrent when it changed (or when `kick`). */
  update(kick = false): void {
    const t = this.torrent
    if (t.destroyed) return this.stop()
    if (!t.ready) return
    const before = `${this.mode}:${this.urgentFrom}:${this.urgentTo}:${this.graceOver()}`
    if (t.done) {
      this.mode = 'done'
      this.urgentFrom = this.urgentTo = -1
      return this.stop()
    }
    const now = performance.now()
    const v = this.video
    if (v) {
      // HAVE_FUTURE_DATA: the player can move on; below that (or seeking) it waits for data.
      const waiting = v.readyState < 3 || v.seeking
      if (!waiting) this.waitingSince = undefined
      else this.waitingSince ??= now
      const ahead = bufferedAhead(v)
      if (waiting) this.lowBuffer = false
      else if (ahead < this.opts.lowWaterSeconds) this.lowBuffer = true
      else if (ahead >= this.opts.highWaterSeconds) this.lowBuffer = false
    }

    const alone = this.others === 0 || (!this.hasPeers() && this.graceOver())
    const stalled = this.waitingSince !== undefined && now - this.waitingSince >= this.opts.peerWaitMs
    const urgent = !alone && (this.lowBuffer || stalled)
    this.mode = alone ? 'alone' : urgent ? 'urgent' : 'peers'
    if (urgent) {
      const duration = v && Number.isFinite(v.duration) && v.duration > 0 ? v.duration : undefined
      const bytesPerSecond = duration ? t.length / duration : t.pieceLength
      const pieces = Math.max(1, Math.ceil((this.opts.urgentSeconds * bytesPerSecond) / t.pieceLength))
      this.urgentFrom = this.readPosition()
      this.urgentTo = this.urgentFrom + pieces - 1
    } else {
      this.urgentFrom = this.urgentTo = -1
    }
    const after = `${this.mode}:${this.urgentFrom}:${this.urgentTo}:${this.graceOver()}`
    if (after !== before) debug('governor', { mode: this.mode, urgent: [this.urgentFrom, this.urgentTo], readyState: v?.readyState, ahead: v && bufferedAhead(v) })
    if (kick || after !== before) {
      // Interest first (a masked-out web seed was told "not interested"), then new requests.
      t._updateInterest()
      t._update()
    }
  }
}
