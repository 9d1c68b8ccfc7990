/**
 * Watch: the video plays from the swarm with live numbers (components/P2PStats.tsx).
 *
 * A video with streams plays through the stream player (player/stream.ts): its Quality menu
 * offers Auto (hls.js's adaptive switching) and every stream. When nothing answers the page
 * says so and keeps trying; when the streams' origin is down but another pod keeps a copy,
 * the copy plays as a file instead.
 *
 * A video without streams plays as files (player/player.ts), the original and each
 * rendition (player/sources.ts): the page starts with the smallest rendition at least as high
 * as the player on this screen (in device pixels), else the original; the viewer switches with
 * the Quality menu, keeping the position and whether it was playing. A rendition that no pod
 * answers for (renditions live at their origin only) gives way to the original, which mirrors
 * may serve.
 */
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks'
import { PageTitle } from '../components/Layout'
import { Stats } from '../components/P2PStats'
import { Byline } from '../components/VideoCard'
import { api, ApiError } from '../lib/api'
import { boot, takeBootVideo } from '../lib/boot'
import { bytes, duration } from '../lib/format'
import { useSession } from '../lib/session'
import { useThumbnail } from '../lib/thumbnail'
import type { Video } from '../lib/types'
import { endQuickStart } from '../player/handover'
import { play, SourceUnreachable, type Playback, type PlayerStats } from '../player/player'
import { onFirstFrame, takeQuickStart, type QuickStart } from '../player/quick'
import { choicesOf, defaultChoice, streamSources } from '../player/sources'
import { playStream, type StreamPlayback, type StreamQuality } from '../player/stream'

const UNREACHABLE = 'None of the pods or viewers that have this video answer right now (its pod may be down). Still trying: it plays as soon as one does.'
const FROM_COPY = 'The pod this video comes from does not answer right now: it plays from a copy another pod keeps (the original only).'

export function Watch({ id }: { id: string }) {
  const session = useSession()
  const [video, setVideo] = useState<Video | undefined>(() => takeBootVideo(id))
  const [error, setError] = useState<ApiError | undefined>()
  const [stats, setStats] = useState<PlayerStats | undefined>()
  const [firstFrame, setFirstFrame] = useState<number | undefined>()
  const [playError, setPlayError] = useState<string | undefined>()
  const [notice, setNotice] = useState<string | undefined>()
  /** The quality playing: `original` or a rendition's height; undefined until the page picked one. */
  const [choiceKey, setChoiceKey] = useState<string | undefined>()
  /** The original's height as the player read it from the file (a friend's video does not say). */
  const [readHeight, setReadHeight] = useState<number | undefined>()
  /** Where to take up playback after a switch of quality: position, and whether it was paused. */
  const resume = useRef<{ time: number; paused: boolean } | undefined>(undefined)
  /** Whether playback started on this page (an autoplay refused leaves it paused without the viewer's say). */
  const started = useRef(false)
  const frame = useRef<HTMLDivElement>(null)
  const el = useRef<HTMLVideoElement | null>(null)
  /** The page's quick start, taken over and not yet handed to the player (player/quick.ts). */
  const quick = useRef<QuickStart | undefined>(undefined)
  /** Played as a file (the original or a rendition, one torrent each) rather than by its streams: a video without streams, or whose streams' origin is down while a copy answers. */
  const [asFile, setAsFile] = useState(false)
  const streaming = !!video && !asFile && streamSources(video).length > 0
  /** The streams' levels and the one playing (stream mode). */
  const [quality, setQuality] = useState<StreamQuality | undefined>()
  const stream = useRef<StreamPlayback | undefined>(undefined)
  const choices = video ? choicesOf(video, readHeight) : []
  const poster = useThumbnail(video?.thumbnailUrl)

  // The player element is made here, not rendered: on a page that came with a quick start it
  // is that <video>, playing already, moved into place (moved within the same task, it plays on).
  useLayoutEffect(() => {
    const box = frame.current
    if (!box) return
    const q = takeQuickStart(id)
    const v = q?.el ?? document.createElement('video')
    v.removeAttribute('id')
    v.className = 'player'
    v.controls = true
    v.playsInline = true
    v.preload = 'auto'
    box.append(v)
    document.querySelector('.quick-start')?.remove()
    if (q) {
      quick.current = q
      started.current = v.currentTime > 0 || !v.paused
    }
    el.current = v
    return () => {
      v.remove()
      el.current = null
    }
  }, [])

  useLayoutEffect(() => {
    const v = el.current
    if (!v) return
    if (poster) v.poster = poster
    else v.removeAttribute('poster')
    v.setAttribute('aria-label', video ? `Video: ${video.name}` : 'Video player')
  }, [video, poster])

  useEffect(() => {
    const v = el.current
    if (!v) return
    const onError = () => {
      // The quick start plays a file cut short: how it ends is not the video's failure.
      if (v.error?.code && !v.currentSrc.includes('head=')) setPlayError('The browser could not play this video. It may use a format this browser does not support.')
    }
    const onPlay = () => {
      started.current = true
    }
    const onLoadedMetadata = () => {
      const h = v.videoHeight
      if (choiceKey === 'original' && h && !video?.height) setReadHeight(h)
    }
    v.addEventListener('error', onError)
    v.addEventListener('play', onPlay)
    v.addEventListener('loadedmetadata', onLoadedMetadata)
    return () => {
      v.removeEventListener('error', onError)
      v.removeEventListener('play', onPlay)
      v.removeEventListener('loadedmetadata', onLoadedMetadata)
    }
  }, [choiceKey, video])

  useEffect(() => {
    if (video?.id === id) return
    setVideo(undefined)
    setError(undefined)
    const ctl = new AbortController()
    api<Video>(`/api/v1/videos/${encodeURIComponent(id)}`, { signal: ctl.signal })
      .then(setVideo)
      .catch((e) => {
        if ((e as Error).name !== 'AbortError') setError(e instanceof ApiError ? e : new ApiError(0, 'unknown', 'The video could not be loaded.'))
      })
    return () => ctl.abort()
  }, [id, session?.token])

  useEffect(() => {
    if (video) document.title = `${video.name} · ${boot.pod.name}`
  }, [video])

  // The quality that fits: measured on the player itself, once it is laid out (files; streams adapt).
  useLayoutEffect(() => {
    const v = el.current
    if (!video || !v || streaming) return
    // Unless one is set already (the original, when the streams gave way to a copy).
    setChoiceKey((key) => key ?? defaultChoice(choicesOf(video), v.clientHeight * (window.devicePixelRatio || 1)).key)
  }, [video, streaming])

  // Stream mode (player/stream.ts): hls.js picks and switches the level, the segments come from peers first.
  useLayoutEffect(() => {
    const v = el.current
    if (!video || !v || !streaming) return
    const q = quick.current
    quick.current = undefined
    let playback: StreamPlayback | undefined
    let stopped = false
    let timer: ReturnType<typeof setInterval> | undefined
    setFirstFrame(q?.firstFrameAt)
    if (q?.firstFrameAt === undefined) onFirstFrame(v, () => setFirstFrame(performance.now()))
    // A copy elsewhere plays as a file when the streams' origin does not answer.
    const mirrored = video.webseedUrls.length > 1
    playStream(video, v, {
      webtorrentUrl: boot.assets.webtorrent,
      serviceWorkerUrl: boot.assets.serviceWorker,
      iceServers: boot.pod.iceServers,
      hlsUrl: boot.assets.hls,
      bufferSeconds: boot.pod.player.bufferSeconds,
      cacheBytes: boot.pod.player.cacheBytes,
      ...(q ? { head: { src: q.src, bytes: q.bytes }, takeOver: () => endQuickStart(v) } : {}),
      onReachable: (ok) => {
        if (stopped) return
        if (!ok && mirrored) {
          // Paused by the viewer only if it had something to play (a stream that never came is no pause).
          resume.current = { time: v.currentTime, paused: v.paused && started.current && v.readyState >= HTMLMediaElement.HAVE_FUTURE_DATA }
          setChoiceKey('original')
          setNotice(FROM_COPY)
          return setAsFile(true)
        }
        setNotice(ok ? undefined : UNREACHABLE)
      },
      onQuality: setQuality,
    })
      .then((p) => {
        if (stopped) return p.stop()
        playback = stream.current = p
        setStats(p.stats())
        timer = setInterval(() => setStats(p.stats()), 500)
      })
      .catch((e) => !stopped && setPlayError(`The video could not be started: ${(e as Error).message}`))
    return () => {
      stopped = true
      clearInterval(timer)
      stream.current = undefined
      playback?.stop()
    }
  }, [video, streaming])

  // A layout effect: it runs right after the render, where a plain effect waits for the next
  // animation frame (up to 100 ms in a background or headless tab), and playback should not.
  useLayoutEffect(() => {
    const v = el.current
    if (!video || !v || choiceKey === undefined || streaming) return
    const all = choicesOf(video)
    const choice = all.find((c) => c.key === choiceKey) ?? all[0]!
    const original = choice.key === 'original'
    const from = resume.current
    resume.current = undefined
    let playback: Playback | undefined
    let stopped = false
    let timer: ReturnType<typeof setInterval> | undefined
    const q = from ? undefined : quick.current
    quick.current = undefined
    setFirstFrame(q?.firstFrameAt)
    setPlayError(undefined)
    // Time to first frame, from the page's start: what the benchmark compares (a quick start showed it already).
    if (q?.firstFrameAt === undefined) onFirstFrame(v, () => setFirstFrame(performance.now()))
    const start = () =>
      v.play().catch(() => {
        // Autoplay refused (no user gesture yet): the controls are there to start it.
      })
    play(choice.source, v, {
      webtorrentUrl: boot.assets.webtorrent,
      serviceWorkerUrl: boot.assets.serviceWorker,
      iceServers: boot.pod.iceServers,
      requireReachable: !original,
      ...(q ? { quickStart: { bytes: q.bytes, src: q.src } } : {}),
    })
      .then((p) => {
        if (stopped) return p.stop()
        playback = p
        setStats(p.stats())
        timer = setInterval(() => setStats(p.stats()), 500)
        // A quick start the viewer paused stays paused.
        if (!from) return v.paused && started.current ? undefined : start()
        // A switch of quality: the same moment of the video, playing or paused as it was.
        const restore = () => {
          if (from.time > 0) v.currentTime = from.time
          if (!from.paused) start()
        }
        if (v.readyState >= HTMLMediaElement.HAVE_METADATA) restore()
        else v.addEventListener('loadedmetadata', restore, { once: true })
      })
      .catch((e) => {
        if (stopped) return
        if (e instanceof SourceUnreachable && !original) {
          setNotice(`The ${choice.label} version cannot be reached right now (the pod that made it may be down), so the original plays instead.`)
          resume.current = from
          setChoiceKey('original')
          return
        }
        setPlayError(`The video could not be started: ${(e as Error).message}`)
      })
    return () => {
      stopped = true
      clearInterval(timer)
      playback?.stop()
    }
  }, [video, choiceKey, streaming])

  /** Switches quality, remembering where the viewer was. */
  const choose = (key: string) => {
    const v = el.current
    if (key === choiceKey) return
    // Paused by the viewer (not merely waiting for an autoplay that was refused) stays paused.
    if (v) resume.current = { time: v.currentTime, paused: v.paused && started.current }
    setNotice(undefined)
    setChoiceKey(key)
  }

  if (error) {
    const text =
      error.status === 404 ? 'This video does not exist (any more).' : error.status === 401 ? 'Log in to watch videos on this pod.' : error.message
    return (
      <div class="page page-narrow">
        <PageTitle>Video unavailable</PageTitle>
        <p class="alert alert-error" role="alert">
          {text}
        </p>
        <p>
          <a href="/">Back to the videos</a>
        </p>
      </div>
    )
  }

  return (
    <div class="page page-watch">
      <div class="player-frame" ref={frame} />
      {streaming && quality && quality.levels.length > 1 && (
        <div class="player-bar">
          <label for="quality">Quality</label>
          <select
            id="quality"
            value={String(quality.chosen)}
            onChange={(e) => stream.current?.choose(Number((e.target as HTMLSelectElement).value))}
          >
            <option value="-1">{quality.chosen < 0 && quality.levels[quality.playing] ? `Auto (${quality.levels[quality.playing]!.label})` : 'Auto'}</option>
            {quality.levels
              .map((l, i) => ({ l, i }))
              .sort((x, y) => y.l.height - x.l.height)
              .map(({ l, i }) => (
                <option key={l.playlistUrl} value={String(i)}>
                  {l.label}
                </option>
              ))}
          </select>
        </div>
      )}
      {!streaming && choices.length > 1 && (
        <div class="player-bar">
          <label for="quality">Quality</label>
          <select id="quality" value={choiceKey} onChange={(e) => choose((e.target as HTMLSelectElement).value)}>
            {choices.map((c) => (
              <option key={c.key} value={c.key}>
                {c.label}
              </option>
            ))}
          </select>
        </div>
      )}
      {notice && (
        <p class="alert alert-info" role="status">
          {notice}
        </p>
      )}
      {playError && (
        <p class="alert alert-error" role="alert">
          {playError}
        </p>
      )}
      <div class="watch-body">
        <div class="watch-main">
          {/* One heading element for loading and loaded: it keeps the focus it got on navigation. */}
          <PageTitle class={video ? 'watch-title' : 'watch-title skeleton-text'}>{video ? video.name : 'Loading…'}</PageTitle>
          {video && (
            <>
              <p class="watch-meta">
                <Byline video={video} podTitle={`This video comes from ${video.podUrl}`} />
                {video.duration !== null && (
                  <>
                    <span aria-hidden="true"> · </span>
                    {duration(video.duration)}
                  </>
                )}
                {video.size !== null && (
                  <>
                    <span aria-hidden="true"> · </span>
                    {bytes(video.size)}
                  </>
                )}
              </p>
              {video.description && <p class="description">{video.description}</p>}
              <details class="links">
                <summary>Links for other players</summary>
                <ul>
                  <li>
                    <a href={video.magnetUri}>Magnet link</a>
                  </li>
                  {video.torrentUrl && (
                    <li>
                      <a href={video.torrentUrl}>.torrent file</a>
                    </li>
                  )}
                  {video.webseedUrls[0] && (
                    <li>
                      <a href={video.webseedUrls[0]}>Direct file (web seed)</a>
                    </li>
                  )}
                </ul>
              </details>
            </>
          )}
        </div>
        <aside class="watch-side" aria-label="Peer-to-peer statistics">
          <Stats stats={stats} firstFrameMs={firstFrame} />
        </aside>
      </div>
    </div>
  )
}
