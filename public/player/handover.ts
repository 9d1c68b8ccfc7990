/**
 * Handing a <video> that is playing the page's quick start (quick.ts, a web seed's first
 * seconds) over to the player at the same moment of the video: to the peer-to-peer stream
 * (hls.ts), or to a plain `src` (direct.ts).
 */

/** Where a playback that is handed over got to, and whether the viewer had paused it. */
interface Position {
  time: number
  viewerPaused: boolean
}

/**
 * Ends the quick start playing in `el`: where it got to (ended: it played all it had, not
 * paused by the viewer). Its `autoplay` goes: the player starts the next source itself,
 * and autoplay would start it over a viewer's pause.
 */
export function endQuickStart(el: HTMLVideoElement): Position {
  el.autoplay = false
  return { time: el.currentTime, viewerPaused: el.paused && !el.ended && el.currentTime > 0 }
}

/** Takes up a position in a newly set source once its metadata is there (seeking needs it). */
export function takeUp(el: HTMLVideoElement, at: Position): void {
  const go = () => {
    if (at.time > 0) el.currentTime = at.time
    if (!at.viewerPaused) el.play().catch(() => undefined)
  }
  if (el.readyState >= HTMLMediaElement.HAVE_METADATA) go()
  else el.addEventListener('loadedmetadata', go, { once: true })
}
