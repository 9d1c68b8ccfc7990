/**
 * Embed: the player alone, for other sites to frame (`/videos/embed/:id`, the one page whose
 * CSP lets any site frame it), playing as on the watch page (peer to peer), with a small link
 * back to the video's watch page on this pod, opened outside the frame.
 */
import { boot } from '../lib/boot'
import { useVideo, videoErrorText } from '../lib/use-video'
import { usePlayer } from '../player/use-player'

export function Embed({ id }: { id: string }) {
  const { video, error } = useVideo(id)
  const { frame, state } = usePlayer(video)
  const watch = `${boot.pod.url}/videos/${encodeURIComponent(id)}`
  const problem = error ? videoErrorText(error) : state?.status === 'error' ? state.error : undefined
  return (
    <div class="embed">
      <div class="embed-frame" ref={frame} />
      {problem && (
        <p class="embed-problem" role="alert">
          {problem}
        </p>
      )}
      <a class="embed-link" href={watch} target="_blank" rel="noopener">
        {video ? (
          <>
            <bdi>{video.name}</bdi> · {boot.pod.name}
          </>
        ) : (
          `Watch on ${boot.pod.name}`
        )}
      </a>
    </div>
  )
}
