/**
 * A chunk store in memory with a cap shared by every torrent of the tab: what a stream's
 * torrents fetched is kept (and served to other viewers) up to `player.cacheBytes`; beyond
 * it the least recently used pieces go, whatever the length of the video. An evicted piece
 * is told to its torrent (`onEvict`), which then no longer counts it as held: asked for it
 * again (a seek back), it fetches it again.
 *
 * Pieces a read is using are pinned and never evicted under it (segments.ts).
 */

import { answerGet, type Callback } from './memory-store'

/** The pieces of every store, least recently used first, and their bytes in all. */
class Budget {
  max = 64 * 1024 * 1024
  bytes = 0
  private readonly order = new Map<string, { store: BoundedChunkStore; index: number; size: number }>()

  touch(store: BoundedChunkStore, index: number, size: number): void {
    const key = `${store.id}:${index}`
    const known = this.order.get(key)
    if (known) this.order.delete(key)
    else this.bytes += size
    this.order.set(key, { store, index, size })
    this.trim()
  }

  forget(store: BoundedChunkStore, index: number): void {
    const key = `${store.id}:${index}`
    const known = this.order.get(key)
    if (!known) return
    this.order.delete(key)
    this.bytes -= known.size
  }

  /** Evicts the least recently used unpinned pieces until the bytes fit the cap. */
  private trim(): void {
    if (this.bytes <= this.max) return
    for (const [key, e] of this.order) {
      if (this.bytes <= this.max) return
      if (e.store.pinned(e.index)) continue
      this.order.delete(key)
      this.bytes -= e.size
      e.store.evict(e.index)
    }
  }
}

/** The tab's cache of stream pieces (one for every store). */
export const cache = new Budget()

let ids = 0

/** What the stream player gives the store through WebTorrent's `storeOpts`. */
export interface BoundedStoreOptions {
  /** Called once the store exists (WebTorrent makes it): the reader pins pieces through it. */
  onStore(store: BoundedChunkStore): void
  /** A piece left the store (the cap): its torrent must no longer count it as held. */
  onEvict(index: number): void
}

/** The store WebTorrent is given (`store: BoundedChunkStore`) for a stream's torrent. */
export class BoundedChunkStore {
  readonly id = ++ids
  private chunks = new Map<number, Uint8Array>()
  private readonly pins = new Map<number, number>()
  private readonly onEvict: (index: number) => void
  private closed = false

  constructor(
    readonly chunkLength: number,
    opts: BoundedStoreOptions,
  ) {
    this.onEvict = opts.onEvict
    opts.onStore(this)
  }

  /** Keeps pieces from..to (inclusive) while a read uses them; `unpin` with the same range. */
  pin(from: number, to: number): void {
    for (let i = from; i <= to; i++) this.pins.set(i, (this.pins.get(i) ?? 0) + 1)
  }

  unpin(from: number, to: number): void {
    for (let i = from; i <= to; i++) {
      const n = (this.pins.get(i) ?? 1) - 1
      if (n > 0) this.pins.set(i, n)
      else this.pins.delete(i)
    }
  }

  pinned(index: number): boolean {
    return this.pins.has(index)
  }

  /** Drops a piece (the cache's cap) and tells its torrent. */
  evict(index: number): void {
    if (!this.chunks.delete(index)) return
    this.onEvict(index)
  }

  put(index: number, buf: Uint8Array, cb: Callback = () => {}): void {
    if (this.closed) return queueMicrotask(() => cb(new Error('store is closed')))
    this.chunks.set(index, buf)
    cache.touch(this, index, buf.length)
    queueMicrotask(() => cb(null))
  }

  get(index: number, opts: { offset?: number; length?: number } | null | Callback<Uint8Array>, cb?: Callback<Uint8Array>): void {
    if (typeof opts === 'function') return this.get(index, null, opts)
    const chunk = this.chunks.get(index)
    if (chunk && !this.closed) cache.touch(this, index, chunk.length)
    answerGet(chunk, opts, this.closed, cb ?? (() => {}))
  }

  close(cb: Callback = () => {}): void {
    this.closed = true
    queueMicrotask(() => cb(null))
  }

  destroy(cb: Callback = () => {}): void {
    this.closed = true
    for (const index of this.chunks.keys()) cache.forget(this, index)
    this.chunks = new Map()
    queueMicrotask(() => cb(null))
  }
}
