/**
 * The player, behind one door: `createPlayer(video, el, options)` plays a video in a
 * `<video>` element and returns one playback object (its state, quality, stats and
 * reachability, events, `choose`, `stop`); the watch page renders that and nothing else.
 *
 * One engine: hls.js with our loaders (hls.ts): playlists from the first pod that answers,
 * each segment from its stream's torrent, peers first, web seeds by the buffer policy; bounded
 * (`player.bufferSeconds` ahead, `player.cacheBytes` of pieces kept for other viewers) and
 * adaptive. Where that cannot run, a plain `src` (direct.ts): browsers without MSE, and videos
 * that have no streams yet. Its parts:
 *  - loader/  what hls.js loads through: playlists (mirrors), fragments (torrents);
 *  - swarm/   the WebTorrent client, the stream torrents, the piece store, the web-seed governor;
 *  - buffer/  the buffer policy, the rendition choice, which level is buffered where;
 *  - quick.ts, handover.ts  the page's quick start and its hand-over to the player.
 */
import type HlsType from 'hls.js'
import type { Video } from '../lib/types'
import { debug } from './debug'
import { playDirect } from './direct'
import type { Engine, PlayerStats, Quality, Sink } from './engine'
import { playHls, type HlsOptions } from './hls'
import { playlistAt } from './loader/playlists'
import { answers, firstAnswer } from './pods'
import { onFirstFrame, quickStartOf } from './quick'
import { levelsOf, masterUrlsOf, trusted } from './video'

export type { PlayerStats, Quality } from './engine'
export { playerElement } from './quick'

/** Where the player's libraries are and how it plays: from the page's boot data. */
export interface PlayerOptions extends HlsOptions {
  hlsUrl: string
}

/** What the page shows of a playback. */
export interface PlayerState {
  /**
   * `loading` until the first frame; `playing` after it (paused or not: the element's controls
   * say which); `unreachable` while nothing that serves the video answers (it keeps trying);
   * `error` when it cannot play (`error` says why).
   */
  status: 'loading' | 'playing' | 'unreachable' | 'error'
  error?: string
  /** It plays from a copy another pod keeps: its origin does not answer. */
  copy: boolean
  quality: Quality
  stats: PlayerStats
  /** When the first frame was shown (`performance.now()`: from the page's start). */
  firstFrameAt?: number
}

/** A video playing in an element. */
export interface PlayerHandle {
  readonly state: PlayerState
  /** Calls `listener` with every new state; returns the unsubscribe. */
  subscribe(listener: (state: PlayerState) => void): () => void
  /** Picks a level (an index of `state.quality.levels`), or Auto. */
  choose(level: number | 'auto'): void
  /** Stops playing and leaves the element empty (the torrents keep seeding while the tab is open). */
  stop(): void
}

/** How often the stats are read while playing. */
const STATS_MS = 500

let loadingHls: Promise<typeof HlsType> | undefined

/** The pod's copy of hls.js (once; a runtime URL, not a bundled import: the pod serves its build as it ships). */
function loadHls(url: string): Promise<typeof HlsType> {
  loadingHls ??= (import(/* @vite-ignore */ url) as Promise<{ default: typeof HlsType }>).then((m) => m.default)
  return loadingHls
}

/** Plays `video` in `el` (see module doc). */
export function createPlayer(video: Video, el: HTMLVideoElement, opts: PlayerOptions): PlayerHandle {
  const quick = quickStartOf(el)
  let state: PlayerState = {
    status: 'loading',
    copy: false,
    quality: { levels: [], playing: -1, chosen: -1 },
    stats: { peers: 0, downloadSpeed: 0, uploadSpeed: 0, fromPeers: 0, fromWebSeed: 0, uploaded: 0, mode: 'starting' },
    ...(quick?.firstFrameAt !== undefined ? { firstFrameAt: quick.firstFrameAt } : {}),
  }
  const listeners = new Set<(s: PlayerState) => void>()
  let reachable = true
  const set = (change: Partial<PlayerState>) => {
    state = { ...state, ...change }
    const shown = state.firstFrameAt !== undefined
    if (state.status !== 'error') state = { ...state, status: !reachable ? 'unreachable' : shown ? 'playing' : 'loading' }
    for (const l of listeners) l(state)
  }
  const levels = levelsOf(video)
  let engine: Engine | undefined
  let stopped = false
  let fellBack = false
  const sink: Sink = {
    quality: (quality) => set({ quality }),
    reachable: (ok) => {
      reachable = ok
      set({})
      if (!ok && engine && !engine.answered() && levels.length && !fellBack) fallBack()
    },
    copy: (copy) => set({ copy }),
  }
  /**
   * Streams none of whose playlists any pod serves, while a pod this page trusts keeps the
   * video's file (a copy kept by a pod of an earlier release): the file plays (direct.ts).
   */
  const fallBack = () => {
    const files = trusted(video.webseedUrls)
    firstAnswer(files, (u) => answers(u).then((ok) => ok || undefined)).then((got) => {
      if (!got || stopped || fellBack || engine?.answered()) return
      fellBack = true
      debug('streams unreachable, the file plays', { from: files[got.index] })
      engine?.stop()
      engine = playDirect(files, answers, el, undefined, sink)
    })
  }
  const start = async (): Promise<Engine> => {
    if (!levels.length) return playDirect(trusted(video.webseedUrls), answers, el, quick, sink)
    const Hls = await loadHls(opts.hlsUrl)
    const masters = masterUrlsOf(video)
    if (Hls.isSupported()) return playHls(Hls, levels, masters[0] ?? new URL('master.m3u8', levels[0]!.playlistUrls[0]).href, el, opts, quick, sink)
    if (el.canPlayType('application/vnd.apple.mpegurl')) return playDirect(trusted(masters), (u) => playlistAt(u).then(Boolean), el, quick, sink)
    return playDirect(trusted(levels[0]!.webseedUrls), answers, el, quick, sink)
  }
  start()
    .then((e) => {
      if (stopped) e.stop()
      else engine = e
    })
    .catch((e: Error) => set({ status: 'error', error: `The video could not be started: ${e.message}` }))
  if (state.firstFrameAt === undefined) onFirstFrame(el, () => set({ firstFrameAt: performance.now() }))
  const onError = () => {
    // The quick start plays a file cut short: how it ends is not the video's failure.
    if (el.error?.code && !el.currentSrc.includes('head=')) set({ status: 'error', error: 'The browser could not play this video. It may use a format this browser does not support.' })
  }
  el.addEventListener('error', onError)
  const timer = setInterval(() => engine && set({ stats: engine.stats() }), STATS_MS)
  return {
    get state() {
      return state
    },
    subscribe: (listener) => {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    choose: (level) => engine?.choose(level === 'auto' ? -1 : level),
    stop: () => {
      stopped = true
      clearInterval(timer)
      el.removeEventListener('error', onError)
      listeners.clear()
      engine?.stop()
    },
  }
}
