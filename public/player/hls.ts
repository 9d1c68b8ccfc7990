/**
 * Playing a video's streams with hls.js: MSE, the bounded buffer ahead (config
 * `player.bufferSeconds`, buffer/policy.ts) and adaptive switching between levels at segment
 * boundaries are hls.js's, within the bounds of buffer/rendition.ts; the playlists come from
 * the first pod that answers (loader/playlists.ts), the bytes of every segment from the
 * stream's torrent (loader/fragments.ts, swarm/), peers first, web seeds for what is urgent
 * or what no peer has.
 *
 * When nothing answers (no pod that serves the video, and no peer that has the segment), the
 * player is told (`Sink.reachable(false)`) within a few seconds (reachability.ts); hls.js
 * keeps trying and plays as soon as anything answers.
 */
import type HlsType from 'hls.js'
import type { HlsConfig } from 'hls.js'
import { BufferedLevels } from './buffer/levels'
import { bufferSettings } from './buffer/policy'
import { autoBounds, menuOrder, startLevel } from './buffer/rendition'
import { debug } from './debug'
import type { Engine, PlayerStats, Sink } from './engine'
import { endQuickStart } from './handover'
import { fragmentLoader, type Head } from './loader/fragments'
import { playlistLoader } from './loader/playlists'
import type { QuickStart } from './quick'
import { Reachability } from './reachability'
import { getClient } from './swarm/client'
import { countersOf, pieceCache } from './swarm/torrents'
import type { WebTorrentClient } from './swarm/webtorrent'
import type { Level } from './video'

/** After a fatal error (every pod and peer failed), hls.js starts again this much later. */
const RETRY_MS = 3000

/** A load policy for hls.js: our loaders wait for pods, peers and web seeds themselves; a failure is retried this way. */
const ours = (maxNumRetry: number, retryDelayMs: number) => ({
  default: { maxTimeToFirstByteMs: Infinity, maxLoadTimeMs: Infinity, timeoutRetry: null, errorRetry: { maxNumRetry, retryDelayMs, maxRetryDelayMs: 4 * retryDelayMs } },
})

/** What playing by hls.js needs from the page. */
export interface HlsOptions {
  webtorrentUrl: string
  iceServers: readonly string[]
  bufferSeconds: number
  cacheBytes: number
}

/** hls.js's settings: our loaders, the configured buffer, playlists that fail fast, Auto within its bounds. */
function hlsConfig(Hls: typeof HlsType, opts: HlsOptions, loaders: Pick<HlsConfig, 'fLoader' | 'pLoader'>, maxAuto: () => number, startAt: number | undefined): Partial<HlsConfig> {
  const Capping = Hls.DefaultConfig.capLevelController!
  return {
    ...loaders,
    // fMP4 needs no transmuxing: no worker (the page's CSP allows no blob: workers either).
    enableWorker: false,
    ...bufferSettings(opts.bufferSeconds),
    capLevelToPlayerSize: true,
    // hls.js caps Auto by the player's size; it may not go above the highest level of its bounds either.
    capLevelController: class extends Capping {
      override getMaxLevel(capLevelIndex: number): number {
        return super.getMaxLevel(Math.min(capLevelIndex, maxAuto()))
      }
    },
    startPosition: startAt ?? -1,
    // Playlists fail fast (every pod that serves one was asked), then the player starts again (RETRY_MS).
    manifestLoadPolicy: ours(1, 500),
    playlistLoadPolicy: ours(1, 500),
    // Segments: a failure (no .torrent answered) is retried.
    fragLoadPolicy: ours(3, 1000),
  }
}

/** Plays `levels` (the video's streams) in `el` through hls.js, taking over the page's quick start if there is one. */
export async function playHls(Hls: typeof HlsType, levels: Level[], masterUrl: string, el: HTMLVideoElement, opts: HlsOptions, quick: QuickStart | undefined, sink: Sink): Promise<Engine> {
  pieceCache.max = opts.cacheBytes
  const client = await getClient(opts.webtorrentUrl, opts.iceServers)
  const reachability = new Reachability(sink.reachable)
  const headLevel = quick && levels.find((l) => l.webseedUrls.includes(quick.src.replace(/\?.*$/, '')))
  const head: Head | undefined = quick && headLevel ? { src: quick.src, bytes: quick.bytes, level: headLevel } : undefined
  /** Our level of each of hls.js's levels (it orders them by bit rate). */
  let ours: Level[] = []
  let bounds = { min: 0, max: levels.length - 1 }
  let answered = false
  const loaders = {
    fLoader: fragmentLoader({ client, levelAt: (i) => ours[i], el, reachability, head }),
    pLoader: playlistLoader(levels, sink.copy),
  }
  // A pause the viewer made (not a wait for data): a restart after a failure keeps it.
  let viewerPaused = false
  const onPause = () => (viewerPaused = el.readyState >= HTMLMediaElement.HAVE_FUTURE_DATA && !el.seeking)
  const onPlay = () => (viewerPaused = false)
  el.addEventListener('pause', onPause)
  el.addEventListener('play', onPlay)
  let chosen = -1
  let hls: HlsType
  let buffered: BufferedLevels
  let retry: ReturnType<typeof setTimeout> | undefined
  const playing = () => buffered.at(el.currentTime) ?? hls.currentLevel
  const report = () => sink.quality({ levels: menuOrder(ours).map((index) => ({ index, label: ours[index]!.label })), playing: playing(), chosen })
  const start = (at: number | undefined) => {
    hls = new Hls(hlsConfig(Hls, opts, loaders, () => bounds.max, at))
    buffered = new BufferedLevels()
    hls.on(Hls.Events.FRAG_BUFFERED, (_e, d) => {
      if (d.frag.type !== 'main') return
      buffered.add(d.frag.level, d.frag.start, d.frag.end)
      report()
    })
    hls.on(Hls.Events.BUFFER_FLUSHING, (_e, d) => buffered.flushed(d.startOffset, d.endOffset))
    hls.on(Hls.Events.MANIFEST_PARSED, () => {
      ours = hls.levels.map((l) => levels.find((o) => o.playlistUrls[0] === l.uri)!)
      bounds = autoBounds(ours)
      debug('levels', { levels: ours.map((l) => l.label), auto: bounds })
      // Auto stays within its bounds: above by the capping (here, and hls.js's by the player's size), below by bit rate.
      if (bounds.max < ours.length - 1) hls.autoLevelCapping = bounds.max
      if (bounds.min > 0) hls.config.minAutoBitrate = hls.levels[bounds.min]!.maxBitrate
      if (chosen >= 0) hls.currentLevel = chosen
      else hls.startLevel = startLevel(ours, el.clientHeight * (window.devicePixelRatio || 1), head ? ours.indexOf(head.level) : undefined)
      report()
    })
    // The master playlist is ours (loader/playlists.ts): only a level's tells whether a pod answers.
    hls.on(Hls.Events.LEVEL_LOADING, () => reachability.playlists(false))
    hls.on(Hls.Events.LEVEL_LOADED, () => {
      answered = true
      reachability.playlists(true)
    })
    hls.on(Hls.Events.LEVEL_SWITCHED, (_e, d) => {
      debug('level switched', { level: d.level })
      report()
    })
    hls.on(Hls.Events.ERROR, (_e, d) => {
      debug('hls error', { type: d.type, details: d.details, fatal: d.fatal })
      if (/^(manifest|level)Load/.test(d.details)) reachability.playlists(false)
      if (!d.fatal) return
      // Every pod and peer failed for now: start again a little later, from where it was.
      const at = el.currentTime
      hls.destroy()
      retry = setTimeout(() => {
        start(at)
        if (!viewerPaused) el.play().catch(() => undefined)
      }, RETRY_MS)
    })
    hls.loadSource(masterUrl)
    hls.attachMedia(el)
  }
  // The quick start ends where the stream takes the element over: where it got to, and whether the viewer paused it.
  const from = quick ? endQuickStart(el) : undefined
  start(from?.time || undefined)
  viewerPaused = !!from?.viewerPaused
  if (!viewerPaused) el.play().catch(() => undefined)
  return {
    stats: () => streamStats(client, levels, ours[playing()], hls.autoLevelEnabled, head ? head.bytes : 0),
    choose: (level) => {
      const leaving = ours[playing()]
      chosen = level
      // A pick shows at once (what is buffered ahead goes, the element stays); Auto takes over
      // from the next segment on, or at once from a level whose keyframes are not in step.
      if (level >= 0 || leaving?.aligned === false) hls.currentLevel = level
      else hls.nextLevel = -1
      report()
    },
    answered: () => answered,
    stop: () => {
      reachability.stop()
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
function streamStats(client: WebTorrentClient, levels: Level[], playing: Level | undefined, auto: boolean, headBytes: number): PlayerStats {
  const torrents = client.torrents.filter((t) => levels.some((l) => l.infoHash === t.infoHash))
  const sum = (f: (t: (typeof torrents)[number]) => number) => torrents.reduce((a, t) => a + f(t), 0)
  return {
    peers: sum((t) => t.wires.filter((w) => w.type === 'webrtc' && !w.destroyed).length),
    downloadSpeed: sum((t) => t.downloadSpeed),
    uploadSpeed: sum((t) => t.uploadSpeed),
    fromPeers: sum((t) => countersOf(t).fromPeers),
    fromWebSeed: headBytes + sum((t) => countersOf(t).fromWebSeed),
    uploaded: sum((t) => t.uploaded),
    mode: 'stream',
    quality: playing ? `${playing.label}${auto ? ' (Auto)' : ''}` : undefined,
  }
}
