/**
 * Playing a video's streams (src/videos/streams.ts) with hls.js: MSE, a bounded buffer ahead
 * (config `player.bufferSeconds`) and adaptive switching between renditions at segment
 * boundaries are hls.js's; the bytes of every segment come from the stream's torrent (a
 * fragment loader of ours, backed by segments.ts), peers first, web seeds for what is urgent
 * or what no peer has. The playlists come from the video's origin.
 *
 * Browsers without MSE play the master playlist natively, or the lowest stream's file from
 * the origin as a plain `src` (no peer-to-peer there).
 *
 * When nothing answers (the origin is down and no peer has the segment), the player says so
 * (`onReachable(false)`) within NOTICE_MS, keeps trying, and plays as soon as anything answers.
 */
import type Hls from 'hls.js'
import type { FragmentLoaderContext, HlsConfig, Loader, LoaderCallbacks, LoaderConfiguration, LoaderStats } from 'hls.js'
import type { Video } from '../lib/types'
import { getClient, type ClientOptions } from './client'
import { debug } from './debug'
import { BufferedLevels } from './buffered-levels'
import { cache } from './bounded-store'
import { streamSources, type StreamChoice } from './sources'
import { readerOf } from './stream-torrents'
import { countersOf } from './torrents'
import type { PlayerStats } from './player'
import type { WebTorrentClient } from './webtorrent'

/** How long a segment or playlist may bring nothing before the viewer is told. */
const NOTICE_MS = 4000

/** After a fatal error (every pod and peer failed), hls.js starts again this much later. */
const RETRY_MS = 3000

/** With this much buffered ahead, peers get the longest chance (MAX_DEADLINE_MS) before the web seed. */
const COMFORT_SECONDS = 12
const MIN_DEADLINE_MS = 300
const MAX_DEADLINE_MS = 4000

/** What the stream player needs from the page. */
export interface StreamOptions extends ClientOptions {
  hlsUrl: string
  bufferSeconds: number
  cacheBytes: number
  /**
   * Ends the page's quick start playing in the element (handover.ts), called at the moment
   * the stream takes the element over: where it got to, and whether the viewer paused it.
   */
  takeOver?(): { time: number; viewerPaused: boolean }
  /**
   * The page's quick start (quick.ts): the first `bytes` of one stream's file at its origin,
   * `src` its `?head=` URL, which the browser holds in its cache: segments within it are read
   * from there, not fetched again.
   */
  head?: { src: string; bytes: number }
  /** Whether anything answers: false NOTICE_MS after the last bytes, true again with the next. */
  onReachable(reachable: boolean): void
  /** The levels, and which one plays (index into `levels`), whenever either changes. */
  onQuality(q: StreamQuality): void
}

/** The quality menu's view of the streams. */
export interface StreamQuality {
  levels: StreamChoice[]
  /** The level playing now (-1 before the first). */
  playing: number
  /** The viewer's pick, or -1 for Auto. */
  chosen: number
}

/** A video being streamed. */
export interface StreamPlayback {
  stats(): PlayerStats
  /** Picks a level (index into `levels`), or -1 for Auto (hls.js's adaptive choice). */
  choose(level: number): void
  stop(): void
}

let loading: Promise<typeof Hls> | undefined

/** Loads the pod's copy of hls.js (once; a watch page of a streamed video starts it early). */
export function loadHls(url: string): Promise<typeof Hls> {
  loading ??= import(/* @vite-ignore */ url).then((m: { default: typeof Hls }) => m.default)
  return loading
}

/** Seconds buffered ahead of the playhead. */
function bufferedAhead(el: HTMLMediaElement): number {
  const b = el.buffered
  for (let i = 0; i < b.length; i++) if (b.start(i) <= el.currentTime + 0.1 && el.currentTime <= b.end(i)) return b.end(i) - el.currentTime
  return 0
}

/**
 * Whether anything answers: the viewer is told (`onReachable(false)`) when segments or
 * playlists are awaited (or failed) and no bytes came for NOTICE_MS; told again (true) with the next.
 */
class Activity {
  private pending = 0
  /** A playlist is awaited or failed (the master, at first). */
  private failing = true
  private last = performance.now()
  private reachable = true
  private readonly timer = setInterval(() => this.check(), 500)

  constructor(private readonly onReachable: (reachable: boolean) => void) {}

  /** A segment load starts: a wait starts with the first of them. */
  begin(): void {
    if (this.pending++ === 0 && !this.failing) this.last = performance.now()
  }

  end(): void {
    this.pending--
  }

  /** Bytes came (a segment's, or a playlist). */
  alive(): void {
    this.last = performance.now()
    if (!this.reachable) this.onReachable((this.reachable = true))
  }

  /** A playlist loaded (true), or is awaited or failed (false). */
  playlists(ok: boolean): void {
    if (!ok && !this.failing && this.pending === 0) this.last = performance.now()
    this.failing = !ok
    if (ok) this.alive()
  }

  private check(): void {
    if (this.reachable && (this.pending > 0 || this.failing) && performance.now() - this.last >= NOTICE_MS) this.onReachable((this.reachable = false))
  }

  stop(): void {
    clearInterval(this.timer)
  }
}

/** Fresh loader stats, as hls.js's own loaders make them. */
function newStats(): LoaderStats {
  return { aborted: false, loaded: 0, retry: 0, total: 0, chunkCount: 0, bwEstimate: 0, loading: { start: 0, first: 0, end: 0 }, parsing: { start: 0, end: 0 }, buffering: { start: 0, first: 0, end: 0 } }
}

/**
 * The fragment loader class hls.js is given: each segment's byte range from its stream's
 * torrent. hls.js measures the time each takes (its `stats`) for its bandwidth estimate, so
 * a rendition whose peers and web seeds are slow is switched down from.
 */
function torrentLoader(client: WebTorrentClient, streams: StreamChoice[], el: HTMLMediaElement, activity: Activity, head?: StreamOptions['head']) {
  const headFile = head && head.src.replace(/\?.*$/, '')
  let headBytes: Promise<Uint8Array> | undefined
  /**
   * A range within the quick start: from the browser's cache. Its load time is told to hls.js
   * as its play time (a link that just keeps up): hls.js estimates the link from load times,
   * and a cache's would send it up to a stream the link may not carry.
   */
  const fromHead = (start: number, end: number) => {
    headBytes ??= fetch(head!.src).then(async (r) => new Uint8Array(await r.arrayBuffer()))
    return headBytes.then((b) => (b.length >= end ? b.slice(start, end) : Promise.reject(new Error('the quick start is shorter'))))
  }
  return class TorrentFragmentLoader implements Loader<FragmentLoaderContext> {
    context: FragmentLoaderContext | null = null
    stats = newStats()
    private abort_ = new AbortController()
    private callbacks: LoaderCallbacks<FragmentLoaderContext> | undefined

    load(context: FragmentLoaderContext, _config: LoaderConfiguration, callbacks: LoaderCallbacks<FragmentLoaderContext>): void {
      this.context = context
      this.callbacks = callbacks
      const stats = this.stats
      stats.loading.start = performance.now()
      activity.begin()
      const stream = streams.find((s) => s.source.webseedUrls[0] === context.url)
      if (!stream) return callbacks.onError({ code: 404, text: `not a stream of this video: ${context.url}` }, context, null, stats)
      const start = context.rangeStart ?? 0
      const end = context.rangeEnd ?? stream.source.size ?? 0
      const ahead = bufferedAhead(el)
      const deadlineMs = Math.round(MIN_DEADLINE_MS + (MAX_DEADLINE_MS - MIN_DEADLINE_MS) * Math.min(1, Math.max(0, ahead - 4) / COMFORT_SECONDS))
      let seen = 0
      const cached = headFile === context.url && end <= head!.bytes
      debug('segment', { level: context.frag.level, sn: context.frag.sn, start, end, deadlineMs, cached })
      const read = cached
        ? fromHead(start, end)
        : readerOf(client, stream.source).then((r) => {
          // Bytes arrive by whole pieces: meanwhile hls.js is told the torrent's download rate,
          // or it would take a piece not yet whole for a stalled load and abandon it.
          const rate = setInterval(() => (stats.bwEstimate = r.torrent.downloadSpeed * 8), 100)
          return r
            .read(start, end, {
              deadlineMs,
              signal: this.abort_.signal,
              onProgress: (bytes) => {
                if (bytes > seen) activity.alive()
                seen = Math.max(seen, bytes)
                if (bytes > 0 && !stats.loading.first) stats.loading.first = performance.now()
                stats.loaded = bytes
              },
            })
            .finally(() => clearInterval(rate))
        })
      read
        .then((bytes) => {
          activity.alive()
          const now = performance.now()
          if (cached) stats.loading.start = stats.loading.first = now - context.frag.duration * 1000
          stats.loading.first ||= now
          stats.loading.end = now
          stats.loaded = stats.total = bytes.length
          callbacks.onSuccess({ url: context.url, data: bytes.buffer as ArrayBuffer }, stats, context, null)
        })
        .finally(() => activity.end())
        .catch((e: Error) => {
          if (stats.aborted) return
          debug('segment failed', { url: context.url, error: e.message })
          callbacks.onError({ code: 0, text: e.message }, context, null, stats)
        })
    }

    abort(): void {
      if (this.stats.aborted || this.stats.loading.end) return
      this.stats.aborted = true
      this.abort_.abort()
      if (this.context) this.callbacks?.onAbort?.(this.stats, this.context, null)
    }

    destroy(): void {
      this.abort()
      this.callbacks = undefined
    }
  }
}

/** hls.js's settings: our loader, the configured buffer, playlists that fail fast. */
function hlsConfig(opts: StreamOptions, fLoader: HlsConfig['fLoader'], startAt: number | undefined): Partial<HlsConfig> {
  const quickly = { maxTimeToFirstByteMs: NOTICE_MS, maxLoadTimeMs: 2 * NOTICE_MS, timeoutRetry: { maxNumRetry: 1, retryDelayMs: 0, maxRetryDelayMs: 0 }, errorRetry: { maxNumRetry: 1, retryDelayMs: 500, maxRetryDelayMs: 1000 } }
  return {
    fLoader,
    // fMP4 needs no transmuxing: no worker (the page's CSP allows no blob: workers either).
    enableWorker: false,
    maxBufferLength: opts.bufferSeconds,
    maxMaxBufferLength: opts.bufferSeconds,
    // Played media is dropped from the element's buffer beyond this (the cache keeps the bytes for peers).
    backBufferLength: Math.min(30, opts.bufferSeconds),
    capLevelToPlayerSize: true,
    startPosition: startAt ?? -1,
    manifestLoadPolicy: { default: quickly },
    playlistLoadPolicy: { default: quickly },
    // Segments: our loader waits for peers and web seeds itself; a failure (no .torrent) is retried.
    fragLoadPolicy: { default: { maxTimeToFirstByteMs: Infinity, maxLoadTimeMs: Infinity, timeoutRetry: null, errorRetry: { maxNumRetry: 3, retryDelayMs: 1000, maxRetryDelayMs: 4000 } } },
  }
}

/** Plays the video's streams in `el`; undefined where neither MSE nor native HLS nor a stream file is there. */
export async function playStream(video: Video, el: HTMLVideoElement, opts: StreamOptions): Promise<StreamPlayback> {
  const streams = streamSources(video)
  const Hls = await loadHls(opts.hlsUrl)
  if (!Hls.isSupported()) return playNative(video, el, streams, opts)
  cache.max = opts.cacheBytes
  const client = await getClient(opts.webtorrentUrl, opts.iceServers)
  const activity = new Activity(opts.onReachable)
  const fLoader = torrentLoader(client, streams, el, activity, opts.head) as unknown as HlsConfig['fLoader']
  // A pause the viewer made (not a wait for data): a restart after a failure keeps it.
  let viewerPaused = false
  const onPause = () => (viewerPaused = el.readyState >= HTMLMediaElement.HAVE_FUTURE_DATA && !el.seeking)
  const onPlay = () => (viewerPaused = false)
  el.addEventListener('pause', onPause)
  el.addEventListener('play', onPlay)
  const headFile = opts.head?.src.replace(/\?.*$/, '')
  let chosen = -1
  let hls: Hls
  let buffered: BufferedLevels
  const playing = () => buffered.at(el.currentTime) ?? hls.currentLevel
  const report = () => opts.onQuality({ levels: streams, playing: playing(), chosen })
  const start = (at: number | undefined) => {
    hls = new Hls(hlsConfig(opts, fLoader, at))
    buffered = new BufferedLevels()
    hls.on(Hls.Events.FRAG_BUFFERED, (_e, d) => {
      if (d.frag.type !== 'main') return
      buffered.add(d.frag.level, d.frag.start, d.frag.end)
      report()
    })
    hls.on(Hls.Events.BUFFER_FLUSHING, (_e, d) => buffered.flushed(d.startOffset, d.endOffset))
    hls.on(Hls.Events.MANIFEST_PARSED, () => {
      debug('levels', hls.levels.map((l) => ({ uri: l.uri, height: l.height, bitrate: l.bitrate })))
      // hls.js sorts its levels by bit rate; the menu's streams follow the same order.
      streams.sort((a, b) => hls.levels.findIndex((l) => l.uri === a.playlistUrl) - hls.levels.findIndex((l) => l.uri === b.playlistUrl))
      if (chosen >= 0) hls.currentLevel = chosen
      // After a quick start, on with the stream it played (its segments are in the browser's cache).
      else if (headFile) hls.startLevel = Math.max(0, streams.findIndex((s) => s.source.webseedUrls[0] === headFile))
      report()
    })
    hls.on(Hls.Events.LEVEL_LOADING, () => activity.playlists(false))
    hls.on(Hls.Events.MANIFEST_LOADED, () => activity.playlists(true))
    hls.on(Hls.Events.LEVEL_LOADED, () => activity.playlists(true))
    hls.on(Hls.Events.LEVEL_SWITCHED, (_e, d) => {
      debug('level switched', { level: d.level })
      report()
    })
    hls.on(Hls.Events.ERROR, (_e, d) => {
      debug('hls error', { type: d.type, details: d.details, fatal: d.fatal })
      if (/^(manifest|level)Load/.test(d.details)) activity.playlists(false)
      if (!d.fatal) return
      // Every pod and peer failed for now: start again a little later, from where it was.
      const at = el.currentTime
      hls.destroy()
      retry = setTimeout(() => {
        start(at)
        if (!viewerPaused) el.play().catch(() => undefined)
      }, RETRY_MS)
    })
    hls.loadSource(video.masterPlaylistUrl!)
    hls.attachMedia(el)
  }
  let retry: ReturnType<typeof setTimeout> | undefined
  const from = opts.takeOver?.()
  start(from?.time || undefined)
  // Playing, unless the viewer paused the quick start.
  viewerPaused = !!from?.viewerPaused
  if (!viewerPaused) el.play().catch(() => undefined)
  return {
    stats: () => streamStats(client, streams, hls, playing(), opts.head?.bytes ?? 0),
    choose: (level) => {
      chosen = level
      // A pick shows at once (what is buffered ahead goes, the element stays); Auto takes
      // over from the next segment on.
      if (level >= 0) hls.currentLevel = level
      else hls.nextLevel = -1
      report()
    },
    stop: () => {
      activity.stop()
      el.removeEventListener('pause', onPause)
      el.removeEventListener('play', onPlay)
      clearTimeout(retry)
      hls.destroy()
      el.removeAttribute('src')
      el.load()
    },
  }
}

/** The stats panel's numbers: every stream torrent of the video, added up, and the quick start's bytes (from the web seed). */
function streamStats(client: WebTorrentClient, streams: StreamChoice[], hls: Hls, playing: number, headBytes: number): PlayerStats {
  const torrents = client.torrents.filter((t) => streams.some((s) => s.source.infoHash === t.infoHash))
  const sum = (f: (t: (typeof torrents)[number]) => number) => torrents.reduce((a, t) => a + f(t), 0)
  const level = streams[playing]
  return {
    peers: sum((t) => t.wires.filter((w) => w.type === 'webrtc' && !w.destroyed).length),
    downloadSpeed: sum((t) => t.downloadSpeed),
    uploadSpeed: sum((t) => t.uploadSpeed),
    fromPeers: sum((t) => countersOf(t).fromPeers),
    fromWebSeed: headBytes + sum((t) => countersOf(t).fromWebSeed),
    uploaded: sum((t) => t.uploaded),
    progress: 0,
    mode: 'stream',
    quality: level ? `${level.label}${hls.autoLevelEnabled ? ' (Auto)' : ''}` : undefined,
  }
}

/**
 * Without MSE: the master playlist where the browser plays HLS itself (Safari, iOS), else the
 * lowest stream's file; both from the origin only, as bare URLs (no peer-to-peer).
 */
function playNative(video: Video, el: HTMLVideoElement, streams: StreamChoice[], opts: StreamOptions): StreamPlayback {
  const from = opts.takeOver?.()
  el.src = el.canPlayType('application/vnd.apple.mpegurl') ? video.masterPlaylistUrl! : streams[0]!.source.webseedUrls[0]!
  if (from?.time) el.addEventListener('loadedmetadata', () => (el.currentTime = from.time), { once: true })
  if (!from?.viewerPaused) el.play().catch(() => undefined)
  opts.onQuality({ levels: [], playing: -1, chosen: -1 })
  return {
    stats: () => ({ peers: 0, downloadSpeed: 0, uploadSpeed: 0, fromPeers: 0, fromWebSeed: 0, uploaded: 0, progress: 0, mode: 'direct' }),
    choose: () => undefined,
    stop: () => {
      el.removeAttribute('src')
      el.load()
    },
  }
}
