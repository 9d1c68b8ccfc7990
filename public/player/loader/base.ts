/**
 * What our two loaders for hls.js (fragments.ts, playlists.ts) have in common: hls.js's
 * loader interface over one promise of the data, with the load times hls.js measures the
 * link by.
 */
import type { Loader, LoaderCallbacks, LoaderConfiguration, LoaderContext, LoaderStats } from 'hls.js'

/** Fresh loader stats, as hls.js's own loaders make them. */
function newStats(): LoaderStats {
  return { aborted: false, loaded: 0, retry: 0, total: 0, chunkCount: 0, bwEstimate: 0, loading: { start: 0, first: 0, end: 0 }, parsing: { start: 0, end: 0 }, buffering: { start: 0, first: 0, end: 0 } }
}

/** A loader of one context at a time (hls.js makes one per load). */
export abstract class PromiseLoader<C extends LoaderContext> implements Loader<C> {
  context: C | null = null
  stats = newStats()
  /** Aborted when hls.js aborts the load. */
  protected readonly aborted = new AbortController()
  private callbacks: LoaderCallbacks<C> | undefined

  /** The data of `context` (its `stats` may be filled in meanwhile); a rejection is a failed load. */
  protected abstract fetch(context: C): Promise<string | ArrayBuffer>

  load(context: C, _config: LoaderConfiguration, callbacks: LoaderCallbacks<C>): void {
    this.context = context
    this.callbacks = callbacks
    const stats = this.stats
    stats.loading.start = performance.now()
    this.fetch(context).then(
      (data) => {
        if (!this.callbacks || stats.aborted) return
        const now = performance.now()
        stats.loading.first ||= now
        stats.loading.end = now
        stats.loaded = stats.total = typeof data === 'string' ? data.length : data.byteLength
        this.callbacks.onSuccess({ url: context.url, data }, stats, context, null)
      },
      (e: Error) => {
        if (this.callbacks && !stats.aborted) this.callbacks.onError({ code: 0, text: e.message }, context, null, stats)
      },
    )
  }

  abort(): void {
    if (this.stats.aborted || this.stats.loading.end) return
    this.stats.aborted = true
    this.aborted.abort()
    if (this.context) this.callbacks?.onAbort?.(this.stats, this.context, null)
  }

  destroy(): void {
    this.abort()
    this.callbacks = undefined
  }
}
