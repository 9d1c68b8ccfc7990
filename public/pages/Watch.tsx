/**
 * Watch: the video plays (player/: one function, `createPlayer`) with live peer-to-peer
 * numbers (components/P2PStats.tsx). The page only renders the playback's state: the Quality
 * menu (Auto and every stream), notices when nothing answers or a copy plays, errors.
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
import { createPlayer, playerElement, type PlayerHandle, type PlayerState } from '../player'

const UNREACHABLE = 'None of the pods or viewers that have this video answer right now (its pod may be down). Still trying: it plays as soon as one does.'
const FROM_COPY = 'The pod this video comes from does not answer right now: it plays from a copy another pod keeps.'

export function Watch({ id }: { id: string }) {
  const session = useSession()
  const [video, setVideo] = useState<Video | undefined>(() => takeBootVideo(id))
  const [error, setError] = useState<ApiError | undefined>()
  const [state, setState] = useState<PlayerState | undefined>()
  const frame = useRef<HTMLDivElement>(null)
  const el = useRef<HTMLVideoElement | null>(null)
  const player = useRef<PlayerHandle | undefined>(undefined)
  const poster = useThumbnail(video?.thumbnailUrl)

  // A layout effect: it runs right after the render, where a plain effect waits for the next
  // animation frame (up to 100 ms in a background or headless tab), and playback should not.
  // On a page that came with a quick start, the element is that <video>, playing already.
  useLayoutEffect(() => {
    const box = frame.current
    if (!box || !video) return
    const v = playerElement(video.id)
    box.append(v)
    el.current = v
    const p = (player.current = createPlayer(video, v, {
      hlsUrl: boot.assets.hls,
      webtorrentUrl: boot.assets.webtorrent,
      iceServers: boot.pod.iceServers,
      bufferSeconds: boot.pod.player.bufferSeconds,
      cacheBytes: boot.pod.player.cacheBytes,
    }))
    setState(p.state)
    const unsubscribe = p.subscribe(setState)
    return () => {
      unsubscribe()
      p.stop()
      v.remove()
      el.current = null
      player.current = undefined
    }
  }, [video])

  useLayoutEffect(() => {
    const v = el.current
    if (!v) return
    if (poster) v.poster = poster
    else v.removeAttribute('poster')
    v.setAttribute('aria-label', video ? `Video: ${video.name}` : 'Video player')
  }, [video, poster])

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

  const quality = state?.quality
  const playing = quality?.levels.find((l) => l.index === quality.playing)
  const notice = state?.status === 'unreachable' ? UNREACHABLE : state?.copy ? FROM_COPY : undefined
  return (
    <div class="page page-watch">
      <div class="player-frame" ref={frame} />
      {quality && quality.levels.length > 1 && (
        <div class="player-bar">
          <label for="quality">Quality</label>
          <select id="quality" value={String(quality.chosen)} onChange={(e) => player.current?.choose(Number((e.target as HTMLSelectElement).value))}>
            <option value="-1">{quality.chosen < 0 && playing ? `Auto (${playing.label})` : 'Auto'}</option>
            {quality.levels.map((l) => (
              <option key={l.index} value={String(l.index)}>
                {l.label}
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
      {state?.status === 'error' && (
        <p class="alert alert-error" role="alert">
          {state.error}
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
          <Stats stats={state?.stats} firstFrameMs={state?.firstFrameAt} />
        </aside>
      </div>
    </div>
  )
}
