/**
 * The player in a Preact page: `usePlayer(video)` plays the video in the element it gives the
 * page's frame (`frame`), with the pod's settings from the boot JSON, and hands back the
 * playback's state. The watch page and the embed page both play through it.
 */
import { useLayoutEffect, useRef, useState } from 'preact/hooks'
import { boot } from '../lib/boot'
import type { Video } from '../lib/types'
import { useThumbnail } from '../lib/thumbnail'
import { createPlayer, playerElement, type PlayerHandle, type PlayerState } from '.'

/** Plays `video` (once it is known) in an element appended to `frame`. */
export function usePlayer(video: Video | undefined) {
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

  return { frame, player, state }
}
