/** A video in a list: thumbnail, duration, title, uploader, pod and age. */
import { useState } from 'preact/hooks'
import { boot } from '../lib/boot'
import { duration, durationWords, fullDate, host, relative } from '../lib/format'
import { useThumbnail } from '../lib/thumbnail'
import type { Video } from '../lib/types'

/** The thumbnail, or a neutral play mark when there is none (or it does not load). */
function Thumbnail({ video }: { video: Video }) {
  const [failed, setFailed] = useState(false)
  const src = useThumbnail(video.thumbnailUrl)
  return (
    <div class="thumb">
      {src && !failed ? (
        // Empty alt: the card's link is named by the title right after the image, so the
        // picture adds nothing a screen reader should read twice.
        <img src={src} alt="" loading="lazy" decoding="async" width={320} height={180} onError={() => setFailed(true)} />
      ) : (
        <div class="thumb-empty" aria-hidden="true">
          <svg viewBox="0 0 24 24">
            <path d="M8 5v14l11-7z" />
          </svg>
        </div>
      )}
      {video.duration !== null && (
        <span class="thumb-duration">
          <span aria-hidden="true">{duration(video.duration)}</span>
          <span class="visually-hidden">, {durationWords(video.duration)}</span>
        </span>
      )}
    </div>
  )
}

/** Uploader, origin pod (when it is not this one) and age: the start of a video's meta line. */
export function Byline({ video, podTitle }: { video: Video; podTitle: string }) {
  return (
    <>
      {/* User text, in whatever direction it is written: isolated from the dates and names around it. */}
      <bdi class="uploader">{video.uploader}</bdi>
      {video.podUrl !== boot.pod.url && (
        <span class="pod-badge" title={podTitle}>
          <span class="visually-hidden">from </span>
          {host(video.podUrl)}
        </span>
      )}
      <span aria-hidden="true"> · </span>
      <time dateTime={video.createdAt} title={fullDate(video.createdAt)}>
        {relative(video.createdAt)}
      </time>
    </>
  )
}

export function VideoCard({ video }: { video: Video }) {
  return (
    <li class="card">
      <a class="card-link" href={`/videos/${encodeURIComponent(video.id)}`}>
        <Thumbnail video={video} />
        <h3 class="card-title" dir="auto">
          {video.name}
        </h3>
      </a>
      <p class="card-meta">
        <Byline video={video} podTitle={`From ${video.podUrl}`} />
      </p>
    </li>
  )
}
