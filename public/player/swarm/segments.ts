/**
 * The bytes of one range of a stream's file (an HLS segment), from the stream's torrent:
 * only the pieces of that range are selected (the torrent starts with none), peers first,
 * the web seeds for what peers do not bring in time (governor.ts, buffer/policy.ts). Every
 * piece, from peers or web seeds, is checked against the torrent's hashes by WebTorrent
 * before it is read here.
 */
import { debug } from '../debug'
import { Governor } from './governor'
import type { BoundedChunkStore } from './store'
import type { Torrent } from './webtorrent'

/** How often pending reads look again at who has what (peers come, go and announce pieces). */
const TICK_MS = 250

/** What a read is told while it waits, and when it gives up. */
export interface ReadOptions {
  /** How long peers may take before the web seeds serve the range's missing pieces. */
  deadlineMs: number
  signal: AbortSignal
  /** Bytes of the range held so far (whole pieces), for the player's bandwidth estimate. */
  onProgress?(bytes: number): void
}

/** A torrent read by ranges (one per stream the tab plays). */
export class RangeReader {
  private readonly governor: Governor
  private pending = 0
  private timer: ReturnType<typeof setInterval> | undefined
  private readonly waiters = new Set<() => void>()

  constructor(
    readonly torrent: Torrent,
    private readonly store: () => BoundedChunkStore | undefined,
  ) {
    this.governor = new Governor(torrent)
    torrent.on('verified', () => {
      for (const w of [...this.waiters]) w()
    })
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
        this.governor.release(from, to, performance.now() - began, opts.deadlineMs)
      }
      const abort = () => finish(new DOMException('aborted', 'AbortError'))
      const finish = (err?: Error) => {
        this.waiters.delete(check)
        opts.signal.removeEventListener('abort', abort)
        if (!t.destroyed) t._deselect(from, to, true)
        this.governor.end(from, to)
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
