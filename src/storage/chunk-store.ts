/**
 * A read-only chunk store (the abstract-chunk-store interface webtorrent takes as `store`)
 * over one file of the pod's store, wherever it is at the moment of each read (the data
 * folder or the bucket: a file migrated while it is seeded goes on being seeded): each piece
 * a seeding peer asks for is one read, a ranged GET from a bucket.
 * webtorrent keeps the last pieces read in its own bounded cache (cache-chunk-store,
 * `storeCacheSlots`, 20 pieces by default: at most 20 MiB with 1 MiB pieces), so a peer
 * reading a piece block by block costs one GET.
 */
type Callback<T = void> = (err: Error | null, value?: T) => void

/** A chunk store constructor reading its bytes with `read` (start, end exclusive). */
export function readOnlyChunkStore(read: (start: number, end: number) => Promise<Uint8Array>) {
  return class BucketChunkStore {
    private closed = false
    private readonly length: number

    constructor(
      private readonly chunkLength: number,
      opts: { length?: number } = {},
    ) {
      this.length = Number(opts.length) || 0
    }

    put(_index: number, _buf: Uint8Array, cb: Callback = () => undefined): void {
      // Seeding only: the pod's own file is complete in its store.
      queueMicrotask(() => cb(new Error('the bucket chunk store is read-only')))
    }

    get(index: number, opts: { offset?: number; length?: number } | null | Callback<Uint8Array>, cb?: Callback<Uint8Array>): void {
      if (typeof opts === 'function') return this.get(index, null, opts)
      const done = cb ?? (() => undefined)
      if (this.closed) return queueMicrotask(() => done(new Error('the store is closed')))
      const pieceStart = index * this.chunkLength
      const pieceEnd = Math.min(this.length, pieceStart + this.chunkLength)
      const start = pieceStart + (opts?.offset ?? 0)
      const end = opts?.length ? Math.min(pieceEnd, start + opts.length) : pieceEnd
      if (start >= end) return queueMicrotask(() => done(new Error(`no bytes at piece ${index}`)))
      read(start, end).then(
        (bytes) => done(null, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)),
        (e: Error) => done(e),
      )
    }

    close(cb: Callback = () => undefined): void {
      this.closed = true
      queueMicrotask(() => cb(null))
    }

    destroy(cb: Callback = () => undefined): void {
      this.close(cb)
    }
  }
}
