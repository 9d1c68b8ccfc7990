/**
 * The bytes of one range of a stream's file (an HLS segment), from the stream's torrent:
 * only the pieces of that range are selected (the torrent starts with none), peers first,
 * the web seed for what peers do not bring in time.
 *
 * The web seed wires are masked (governor.ts `maskWebSeeds`): WebTorrent asks them only for
 * pieces in `allowed`. A piece is allowed
 *  - at once when the viewer is alone (the tracker counts nobody else, or no peer connected
 *    within the governor's `graceMs`, or `connectMs` when the tracker counts others), or when
 *    peers are connected, none has it, and `graceMs` is over;
 *  - else at the read's deadline, which the player sets from how much it has buffered: with
 *    plenty buffered peers get their chance, with little the web seed serves at once.
 * Every piece, from peers or web seeds, is checked against the torrent's hashes by WebTorrent
 * before it is read here.
 */
import type { BoundedChunkStore } from './bounded-store'
import { debug } from './debug'
import { DEFAULT_GOVERNOR } from '../../src/shared/playback'
import { kick, maskWebSeeds } from './governor'
import type { Torrent } from './webtorrent'

const { graceMs: GRACE_MS, connectMs: CONNECT_MS } = DEFAULT_GOVERNOR

/** How often pending reads look again at who has what (peers come, go and announce pieces). */
const TICK_MS = 250

/** What a read is told while it waits, and when it gives up. */
export interface ReadOptions {
  /** How long peers may take before the web seed serves the range's missing pieces. */
  deadlineMs: number
  signal: AbortSignal
  /** Bytes of the range held so far (whole pieces), for the player's bandwidth estimate. */
  onProgress?(bytes: number): void
}

/** A torrent read by ranges (one per stream the tab plays). */
export class RangeReader {
  private readonly allowed = new Set<number>()
  private readonly started = performance.now()
  /** Other viewers in the swarm by the tracker's last count; undefined before its first answer. */
  private others: number | undefined
  private pending = 0
  private timer: ReturnType<typeof setInterval> | undefined
  private readonly waiters = new Set<() => void>()

  constructor(
    readonly torrent: Torrent,
    private readonly store: () => BoundedChunkStore | undefined,
    /** Complete peers in the tracker's counts that browsers cannot use (the origin's TCP seeder). */
    private readonly serverSeeders = 1,
  ) {
    maskWebSeeds(torrent, (i) => this.allowed.has(i), () => kick(torrent))
    torrent.on('verified', (i) => {
      this.allowed.delete(i)
      for (const w of [...this.waiters]) w()
    })
    torrent.discovery?.tracker?.on('update', (d) => {
      this.others = Math.max(0, d.complete + d.incomplete - 1 - this.serverSeeders)
    })
  }

  /** Whether the viewer is alone: nobody else to ask. */
  private alone(): boolean {
    const waited = performance.now() - this.started
    return this.others === 0 || (!this.peers() && waited >= (this.others === undefined ? GRACE_MS : CONNECT_MS))
  }

  private peers(): boolean {
    return this.torrent.wires.some((w) => w.type !== 'webSeed' && !w.destroyed)
  }

  private peerHas(i: number): boolean {
    return this.torrent.wires.some((w) => w.type !== 'webSeed' && !w.destroyed && w.peerPieces.get(i))
  }

  /** Lets the web seed serve the missing pieces from..to that `due` says are due; kicks WebTorrent if that changed anything. */
  private release(from: number, to: number, due: (i: number) => boolean): void {
    let changed = false
    for (let i = from; i <= to; i++) {
      if (this.torrent.bitfield.get(i) || this.allowed.has(i) || !due(i)) continue
      this.allowed.add(i)
      changed = true
    }
    if (changed) kick(this.torrent)
  }

  /** The bytes start..end (exclusive) of the torrent's file, once every piece of them is held. */
  async read(start: number, end: number, opts: ReadOptions): Promise<Uint8Array> {
    const t = this.torrent
    const from = Math.floor(start / t.pieceLength)
    const to = Math.floor((end - 1) / t.pieceLength)
    const held = () => {
      let bytes = 0
      for (let i = from; i <= to; i++) if (t.bitfield.get(i)) bytes += Math.min(end, (i + 1) * t.pieceLength) - Math.max(start, i * t.pieceLength)
      return bytes
    }
    const store = this.store()
    store?.pin(from, to)
    try {
      if (held() < end - start) await this.fetch(from, to, held, end - start, opts)
      return await this.bytes(start, end)
    } finally {
      store?.unpin(from, to)
    }
  }

  /** Selects pieces from..to and waits until all are held (or the read is aborted). */
  private fetch(from: number, to: number, held: () => number, total: number, opts: ReadOptions): Promise<void> {
    const t = this.torrent
    const began = performance.now()
    t._select(from, to, 1, undefined, true)
    t.critical(from, to)
    this.pending++
    this.timer ??= setInterval(() => {
      for (const w of [...this.waiters]) w()
    }, TICK_MS)
    return new Promise<void>((resolve, reject) => {
      const check = () => {
        const bytes = held()
        opts.onProgress?.(bytes)
        if (bytes >= total) return finish()
        const late = performance.now() - began >= opts.deadlineMs
        const graceOver = performance.now() - this.started >= GRACE_MS && this.peers()
        const alone = this.alone()
        this.release(from, to, (i) => alone || late || (graceOver && !this.peerHas(i)))
      }
      const abort = () => finish(new DOMException('aborted', 'AbortError'))
      const finish = (err?: Error) => {
        this.waiters.delete(check)
        opts.signal.removeEventListener('abort', abort)
        if (!t.destroyed) t._deselect(from, to, true)
        for (let i = from; i <= to; i++) this.allowed.delete(i)
        if (--this.pending === 0) {
          clearInterval(this.timer)
          this.timer = undefined
        }
        debug('range', { from, to, ms: Math.round(performance.now() - began), err: err?.message })
        if (err) reject(err)
        else resolve()
      }
      if (opts.signal.aborted) return abort()
      opts.signal.addEventListener('abort', abort)
      this.waiters.add(check)
      check()
    })
  }

  /** Reads start..end (exclusive) from the torrent's store, piece by piece. */
  private async bytes(start: number, end: number): Promise<Uint8Array> {
    const t = this.torrent
    const out = new Uint8Array(end - start)
    for (let at = start; at < end; ) {
      const index = Math.floor(at / t.pieceLength)
      const offset = at - index * t.pieceLength
      const length = Math.min(end, (index + 1) * t.pieceLength) - at
      const chunk = await new Promise<Uint8Array>((resolve, reject) => t.store!.get(index, { offset, length }, (err, buf) => (err || !buf ? reject(err ?? new Error('no data')) : resolve(buf))))
      out.set(chunk, at - start)
      at += length
    }
    return out
  }
}
