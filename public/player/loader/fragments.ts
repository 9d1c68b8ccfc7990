/**
 * The fragment loader hls.js is given: each segment's byte range from its stream's torrent
 * (swarm/), peers first, the web seeds by the buffer policy's deadline. hls.js measures the
 * time each takes (its `stats`) for its bandwidth estimate, so a level whose peers and web
 * seeds are slow is switched down from.
 */
import type { FragmentLoaderContext, HlsConfig } from 'hls.js'
import { bufferedAhead, peerDeadlineMs } from '../buffer/policy'
import { debug } from '../debug'
import type { Reachability } from '../reachability'
import { readerOf } from '../swarm/torrents'
import type { WebTorrentClient } from '../swarm/webtorrent'
import type { Level } from '../video'
import { PromiseLoader } from './base'

/**
 * The page's quick start (quick.ts): the first `bytes` of one level's file, `src` its
 * `?head=` URL, which the browser holds in its cache: segments within it are read from there.
 */
export interface Head {
  src: string
  bytes: number
  level: Level
}

/** What the loader reads with. */
export interface FragmentSource {
  client: WebTorrentClient
  /** The level of hls.js's level index. */
  levelAt(index: number): Level | undefined
  el: HTMLMediaElement
  reachability: Reachability
  head: Head | undefined
}

/** The fragment loader class for hls.js's config (`fLoader`). */
export function fragmentLoader({ client, levelAt, el, reachability, head }: FragmentSource): HlsConfig['fLoader'] {
  let headBytes: Promise<Uint8Array> | undefined
  const fromHead = (start: number, end: number) => {
    headBytes ??= fetch(head!.src).then(async (r) => new Uint8Array(await r.arrayBuffer()))
    return headBytes.then((b) => (b.length >= end ? b.slice(start, end) : Promise.reject(new Error('the quick start is shorter'))))
  }
  class TorrentFragmentLoader extends PromiseLoader<FragmentLoaderContext> {
    protected async fetch(context: FragmentLoaderContext): Promise<ArrayBuffer> {
      const level = levelAt(context.frag.level)
      if (!level) throw new Error(`not a stream of this video: ${context.url}`)
      const start = context.rangeStart ?? 0
      const end = context.rangeEnd ?? level.size
      const cached = head?.level === level && end <= head.bytes
      const deadlineMs = peerDeadlineMs(bufferedAhead(el.buffered, el.currentTime))
      debug('segment', { level: context.frag.level, sn: context.frag.sn, start, end, deadlineMs, cached })
      reachability.begin()
      try {
        const bytes = cached ? await fromHead(start, end) : await this.fromTorrent(level, start, end, deadlineMs)
        reachability.alive()
        // From the browser's cache: its load time is told to hls.js as its play time (a link
        // that just keeps up). hls.js estimates the link from load times, and a cache's would
        // send it up to a level the link may not carry.
        if (cached) this.stats.loading.start = this.stats.loading.first = performance.now() - context.frag.duration * 1000
        return bytes.buffer as ArrayBuffer
      } catch (e) {
        if (!this.stats.aborted) debug('segment failed', { url: context.url, error: (e as Error).message })
        throw e
      } finally {
        reachability.end()
      }
    }

    private async fromTorrent(level: Level, start: number, end: number, deadlineMs: number): Promise<Uint8Array> {
      const stats = this.stats
      const reader = await readerOf(client, level)
      // Bytes arrive by whole pieces: meanwhile hls.js is told the torrent's download rate,
      // or it would take a piece not yet whole for a stalled load and abandon it.
      const rate = setInterval(() => (stats.bwEstimate = reader.torrent.downloadSpeed * 8), 100)
      let seen = 0
      try {
        return await reader.read(start, end, {
          deadlineMs,
          signal: this.aborted.signal,
          onProgress: (bytes) => {
            if (bytes > seen) reachability.alive()
            seen = Math.max(seen, bytes)
            if (bytes > 0 && !stats.loading.first) stats.loading.first = performance.now()
            stats.loaded = bytes
          },
        })
      } finally {
        clearInterval(rate)
      }
    }
  }
  return TorrentFragmentLoader as unknown as HlsConfig['fLoader']
}
