/**
 * The piece store: a chunk store in memory (the abstract-chunk-store interface WebTorrent
 * uses) with a cap shared by every torrent of the tab: what the streams' torrents fetched is
 * kept (and served to other viewers) up to `player.cacheBytes`; beyond it the least recently
 * used pieces go, whatever the length of the video. An evicted piece is told to its torrent
 * (`onEvict`), which then no longer counts it as held: asked for it again (a seek back), it
 * fetches it again.
 *
 * Pieces a read is using are pinned and never evicted under it (segments.ts).
 */

/** A chunk store's callback. */
type Callback<T = void> = (err: Error | null, value?: T) => void

/** The pieces of every store of a budget, least recently used first, and their bytes in all. */
export class PieceBudget {
  bytes = 0
  private readonly order = new Map<string, { store: BoundedChunkStore; index: number; size: number }>()

  constructor(
    /** The cap, bytes (config `player.cacheBytes`). */
    public max: number,
  ) {}

  /** A piece was put or read: it is now the most recently used. */
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

let ids = 0

/** What the player gives the store through WebTorrent's `storeOpts`. */
export interface BoundedStoreOptions {
  budget: PieceBudget
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
  private readonly budget: PieceBudget
  private readonly onEvict: (index: number) => void
  private closed = false

  constructor(
    readonly chunkLength: number,
    opts: BoundedStoreOptions,
  ) {
    this.budget = opts.budget
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
    this.budget.touch(this, index, buf.length)
    queueMicrotask(() => cb(null))
  }

  /** The piece, or its `offset`/`length` part; asynchronously, as the interface wants. */
  get(index: number, opts: { offset?: number; length?: number } | null | Callback<Uint8Array>, cb?: Callback<Uint8Array>): void {
    if (typeof opts === 'function') return this.get(index, null, opts)
    const done = cb ?? (() => {})
    if (this.closed) return queueMicrotask(() => done(new Error('store is closed')))
    const chunk = this.chunks.get(index)
    if (!chunk) {
      const err = Object.assign(new Error('chunk not found'), { notFound: true })
      return queueMicrotask(() => done(err))
    }
    this.budget.touch(this, index, chunk.length)
    const offset = opts?.offset ?? 0
    const length = opts?.length ?? chunk.length - offset
    queueMicrotask(() => done(null, offset === 0 && length === chunk.length ? chunk : chunk.subarray(offset, offset + length)))
  }

  close(cb: Callback = () => {}): void {
    this.closed = true
    queueMicrotask(() => cb(null))
  }

  destroy(cb: Callback = () => {}): void {
    this.closed = true
    for (const index of this.chunks.keys()) this.budget.forget(this, index)
    this.chunks = new Map()
    queueMicrotask(() => cb(null))
  }
}
