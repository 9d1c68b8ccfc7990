/**
 * A chunk store in memory (the abstract-chunk-store interface WebTorrent uses), for videos
 * small enough to hold in a tab. WebTorrent's browser default keeps pieces in the origin's
 * private file system, whose setup and first scan of a new torrent cost a few hundred
 * milliseconds before playback can start; memory costs nothing to open.
 */
import type { Source } from './sources'

/** Videos up to this size are held in memory (fast to open); larger ones in the origin's private file system. */
const MEMORY_STORE_MAX = 256 * 1024 * 1024

/**
 * Whether a source's torrent is held in memory. It is also the only store a head start is
 * given to (`preload`), so the head start is fetched only for these.
 */
export function inMemory(source: Source): boolean {
  return source.size !== null && source.size > 0 && source.size <= MEMORY_STORE_MAX
}

/** A chunk store's callback. */
export type Callback<T = void> = (err: Error | null, value?: T) => void

/**
 * Answers a chunk store's `get` (the abstract-chunk-store interface) with `chunk` or its
 * `offset`/`length` part, or the error for a closed store or a missing chunk; asynchronously,
 * as the interface wants.
 */
export function answerGet(chunk: Uint8Array | undefined, opts: { offset?: number; length?: number } | null | undefined, closed: boolean, done: Callback<Uint8Array>): void {
  if (closed) return queueMicrotask(() => done(new Error('store is closed')))
  if (!chunk) {
    const err = new Error('chunk not found') as Error & { notFound: boolean }
    err.notFound = true
    return queueMicrotask(() => done(err))
  }
  const offset = opts?.offset ?? 0
  const length = opts?.length ?? chunk.length - offset
  queueMicrotask(() => done(null, offset === 0 && length === chunk.length ? chunk : chunk.subarray(offset, offset + length)))
}

/** The store WebTorrent is given (`store: MemoryChunkStore`) for a source held in memory. */
export class MemoryChunkStore {
  private chunks: (Uint8Array | undefined)[] = []
  private closed = false

  /**
   * `opts.preload`: the first bytes of the file, fetched before the torrent existed; its
   * whole chunks are put in at once (WebTorrent then checks them against the piece hashes,
   * as it does with data found on disk, and keeps only those that match).
   */
  constructor(
    readonly chunkLength: number,
    opts?: { length?: number; preload?: Uint8Array },
  ) {
    const pre = opts?.preload
    const length = opts?.length ?? Infinity
    if (pre) {
      for (let i = 0; (i + 1) * chunkLength <= pre.length || (i * chunkLength < pre.length && pre.length >= length); i++) {
        this.chunks[i] = pre.subarray(i * chunkLength, Math.min((i + 1) * chunkLength, pre.length))
      }
    }
  }

  /** Indexes of the chunks held. */
  indexes(): number[] {
    return this.chunks.flatMap((c, i) => (c ? [i] : []))
  }

  put(index: number, buf: Uint8Array, cb: Callback = () => {}): void {
    if (this.closed) return queueMicrotask(() => cb(new Error('store is closed')))
    this.chunks[index] = buf
    queueMicrotask(() => cb(null))
  }

  get(index: number, opts: { offset?: number; length?: number } | null | Callback<Uint8Array>, cb?: Callback<Uint8Array>): void {
    if (typeof opts === 'function') return this.get(index, null, opts)
    answerGet(this.chunks[index], opts, this.closed, cb ?? (() => {}))
  }

  close(cb: Callback = () => {}): void {
    this.closed = true
    queueMicrotask(() => cb(null))
  }

  destroy(cb: Callback = () => {}): void {
    this.closed = true
    this.chunks = []
    queueMicrotask(() => cb(null))
  }
}
