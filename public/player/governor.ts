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
 *  - it is urgent: the player needs it within `horizonSeconds` (`startHorizonSeconds` while
 *    it waits to start: players buffer a few seconds before the first frame), from the
 *    first missing piece at the playhead, and
 *    - the player is playing: peers did not bring it in time, so the web seed does, or
 *    - the player waits for data (start, seek, stall) and either no connected peer has the
 *      next piece and the window is a small part of the video (at most `cheapShare`: the
 *      first seconds of a long video come from the web seed at once, as a plain <video>
 *      would get them, while peers connect), or peers did not deliver within `peerWaitMs`
 *      (a short video is worth waiting a moment for a peer rather than taking all of it
 *      from the origin);
 *  - or peers are connected and none has it, `graceMs` after the start;
 *  - or the viewer is alone: the tracker counts nobody else who could share (the origin pod's
 *    own seeder speaks TCP, which browsers cannot reach, so it does not count), or no peer
 *    connected within `graceMs` (no answer from the tracker yet) or `connectMs` (it counts
 *    others, still connecting). Then the web seed serves everything, at once.
 * With peers that keep ahead of the playhead, nothing is urgent and the web seed stays idle;
 * its requests in flight finish, no new ones go out.
 *
 * The mask works by giving the web seed wire a `peerPieces` view (an accessor on that one
 * wire object): WebTorrent consults `wire.peerPieces.get(i)` for interest and for every
 * request it makes (lib/torrent.js `_updateWire`, `_updateWireInterest`).
 */
import { DEFAULT_GOVERNOR, type GovernorOptions } from '../../src/shared/playback'
import { debug } from './debug'
import type { BitFieldLike, Torrent, Wire } from './webtorrent'

/**
 * Whether localStorage `seedpod.webseed` is `plain`: no governor, WebTorrent's own use of the
 * web seed, for comparing the two (test/bench/p2p.ts sets it). Without it no head start is
 * fetched either: plain WebTorrent would not have one.
 */
export function plainWebSeed(): boolean {
  try {
    return localStorage.getItem('seedpod.webseed') === 'plain'
  } catch {
    return false
  }
}

/**
 * Gives every web seed wire of `torrent` (now and to come) a masked piece map: WebTorrent sees
 * the web seed holding only the pieces `allowed` lets it serve (see module doc); `onUnchoke`
 * runs when a web seed unchokes (answers our interest), to ask it at once.
 */
export function maskWebSeeds(torrent: Torrent, allowed: (i: number) => boolean, onUnchoke: () => void): void {
  const mask = (wire: Wire) => {
    if (wire.type !== 'webSeed') return
    wire.on('unchoke', () => queueMicrotask(onUnchoke))
    let real: BitFieldLike = wire.peerPieces
    const view: BitFieldLike = {
      get: (i) => allowed(i) && real.get(i),
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
  for (const w of torrent.wires) mask(w)
  torrent.on('wire', mask)
}

/**
 * Makes WebTorrent look at a changed mask now: interest first (a masked-out web seed was told
 * "not interested"), then a request pass, run at once: WebTorrent's own `_update` waits for
 * an idle moment, which a page busy decoding video may not have for 250 ms.
 */
export function kick(t: Torrent): void {
  if (t.destroyed || !t.ready) return
  t._updateInterest()
  t._updateWireWrapper()
}

/** What the governor is doing, for the stats panel. */
export type GovernorMode = 'peers' | 'urgent' | 'alone' | 'done'

/** Seconds of media buffered ahead of the playhead (0 when nothing is). */
function bufferedAhead(video: HTMLMediaElement): number {
  const t = video.currentTime
  const b = video.buffered
  for (let i = 0; i < b.length; i++) {
    // A small tolerance: after a seek the playhead can sit a hair before its range's start.
    if (b.start(i) <= t + 0.05 && t <= b.end(i)) return b.end(i) - t
  }
  return 0
}

/**
 * Masks the web seed wires of one torrent (see module doc). It lives as long as the torrent
 * (the player keeps one per torrent); `attach` and `detach` follow the <video> playing it.
 */
export class WebSeedGovernor {
  private readonly opts: GovernorOptions
  private readonly started = performance.now()
  /** Since when the attached player waits for data (undefined: it plays, or none is attached). */
  private waitingSince: number | undefined
  /** Other viewers in the swarm by the tracker's last count; undefined before its first answer. */
  private others: number | undefined
  private urgentFrom = -1
  private urgentTo = -1
  /** Urgent pieces outside the window (where a waiting player reads elsewhere). */
  private readonly extra = new Set<number>()
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
    maskWebSeeds(torrent, (i) => this.allowed(i), () => this.kick())
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
  }

  /** Stops governing for good (torrent done or destroyed). */
  stop(): void {
    clearInterval(this.timer)
    this.detach()
  }

  /** Whether the web seed may serve piece `i` now. */
  allowed(i: number): boolean {
    if (this.mode === 'alone') return true
    if ((i >= this.urgentFrom && i <= this.urgentTo) || this.extra.has(i)) return true
    if (this.mode === 'done' || !this.graceOver()) return false
    // Called for every piece on every scheduling pass: no allocation here. Without any peer
    // connected (but others in the swarm, or the mode would be 'alone'), they are awaited.
    let peers = false
    for (const w of this.torrent.wires) {
      if (w.type === 'webSeed' || w.destroyed) continue
      if (w.peerPieces.get(i)) return false
      peers = true
    }
    return peers
  }

  private graceOver(): boolean {
    return performance.now() - this.started >= this.opts.graceMs
  }

  /** Whether a connected peer has piece `i`. */
  private peerHas(i: number): boolean {
    return this.torrent.wires.some((w) => w.type !== 'webSeed' && !w.destroyed && w.peerPieces.get(i))
  }

  private hasPeers(): boolean {
    return this.torrent.wires.some((w) => w.type !== 'webSeed' && !w.destroyed)
  }

  private kick(): void {
    kick(this.torrent)
  }

  /** The piece the playhead is in (by the average bitrate), or 0 before the duration is known. */
  private playheadPiece(): number {
    const t = this.torrent
    const v = this.video
    const duration = this.duration()
    if (!v || !duration) return 0
    return Math.min(t.pieces.length - 1, Math.floor(((v.currentTime / duration) * t.length) / t.pieceLength))
  }

  /** The duration: the player's once it knows it, else the pod's, else undefined. */
  private duration(): number | undefined {
    const d = this.video?.duration
    if (d !== undefined && Number.isFinite(d) && d > 0) return d
    return this.opts.duration && this.opts.duration > 0 ? this.opts.duration : undefined
  }

  /** The first piece from `i` on that this viewer does not have (pieces.length if none). */
  private firstMissing(i: number): number {
    const t = this.torrent
    while (i < t.pieces.length && t.bitfield.get(i)) i++
    return i
  }

  /**
   * Where the player reads next: the first missing piece of each of WebTorrent's stream
   * selections (one per range the <video> asked the service worker for). Usually the same
   * place as the playhead; not when the player first reads an index at the end of the file.
   */
  private streamPositions(): number[] {
    const out: number[] = []
    for (const s of this.torrent._selections) {
      if (!s.isStreamSelection) continue
      const p = this.firstMissing(s.from + s.offset)
      if (p <= s.to) out.push(p)
    }
    return out
  }

  /** Recomputes the mask; tells WebTorrent when it changed (or when `kick`). */
  update(kick = false): void {
    const t = this.torrent
    if (t.destroyed) return this.stop()
    if (!t.ready) return
    const before = `${this.mode}:${this.urgentFrom}:${this.urgentTo}:${[...this.extra]}:${this.graceOver()}`
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
    }
    // Alone: the tracker counts nobody else; or no peer connected within the grace (before the
    // tracker's first answer) or within `connectMs` (when it counts others).
    const waited = now - this.started
    const alone = this.others === 0 || (!this.hasPeers() && waited >= (this.others === undefined ? this.opts.graceMs : this.opts.connectMs))
    // The urgent window: from the first piece missing at the playhead to the piece played
    // `horizonSeconds` from now (byte position by the average bitrate); without any known
    // duration, just that first missing piece.
    let from = -1
    let to = -1
    this.extra.clear()
    if (v) {
      const duration = this.duration()
      from = this.firstMissing(this.playheadPiece())
      const horizon = this.waitingSince !== undefined ? this.opts.startHorizonSeconds : this.opts.horizonSeconds
      to = duration ? Math.min(t.pieces.length - 1, Math.floor((((v.currentTime + horizon) / duration) * t.length) / t.pieceLength)) : from
      // A waiting player may be reading elsewhere (an index at the end of the file); right
      // after the window it is just reading on, which is the peers' part.
      if (this.waitingSince !== undefined) for (const p of this.streamPositions()) if (p < from || p > to + 1) this.extra.add(p)
    }
    let urgent = !alone && v !== undefined && (from <= to || this.extra.size > 0)
    if (urgent && this.waitingSince !== undefined) {
      const size = Math.max(0, to - from + 1) + this.extra.size
      const cheap = size / t.pieces.length <= this.opts.cheapShare && !this.peerHas(from < t.pieces.length ? from : [...this.extra][0]!)
      urgent = cheap || now - this.waitingSince >= this.opts.peerWaitMs
    }
    this.mode = alone ? 'alone' : urgent ? 'urgent' : 'peers'
    if (urgent) {
      this.urgentFrom = from
      this.urgentTo = to
    } else {
      this.urgentFrom = this.urgentTo = -1
      this.extra.clear()
    }
    const after = `${this.mode}:${this.urgentFrom}:${this.urgentTo}:${[...this.extra]}:${this.graceOver()}`
    if (after !== before) debug('governor', { mode: this.mode, urgent: [this.urgentFrom, this.urgentTo, ...this.extra], readyState: v?.readyState, t: v?.currentTime, ahead: v && bufferedAhead(v) })
    if (kick || after !== before) {
      this.kick()
    }
  }
}
