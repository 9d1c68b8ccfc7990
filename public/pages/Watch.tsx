/**
 * Watch: the video plays (player/: one function, `createPlayer`) with live peer-to-peer
 * numbers (components/P2PStats.tsx). The page only renders the playback's state: the Quality
 * menu (Auto and every stream), notices when nothing answers or a copy plays, errors.
 */
import { useEffect } from 'preact/hooks'
import { PageTitle } from '../components/Layout'
import { Stats } from '../components/P2PStats'
import { Byline } from '../components/VideoCard'
import { boot } from '../lib/boot'
import { bytes, duration } from '../lib/format'
import { useVideo, videoErrorText } from '../lib/use-video'
import { usePlayer } from '../player/use-player'

const UNREACHABLE = 'None of the pods or viewers that have this video answer right now (its pod may be down). Still trying: it plays as soon as one does.'
const FROM_COPY = 'The pod this video comes from does not answer right now: it plays from a copy another pod keeps.'

export function Watch({ id }: { id: string }) {
  const { video, error } = useVideo(id)
  const { frame, player, state } = usePlayer(video)

  useEffect(() => {
    if (video) document.title = `${video.name} · ${boot.pod.name}`
  }, [video])

  if (error) {
    const text = videoErrorText(error)
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
