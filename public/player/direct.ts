/**
 * Playing a plain `src` in the `<video>` element, without peers: the browser fetches with
 * HTTP range requests and buffers only what it needs ahead (the browser bounds it).
 *  - Browsers without MSE: the master playlist where the browser plays HLS itself (Safari,
 *    iOS), else the lowest stream's file.
 *  - A video that has no streams yet: one stored by an older release, which its pod is
 *    re-packaging in the background, or a friend's video from an older pod. It plays its file
 *    until its streams are there (the next visit plays them).
 *  - A streamed video none of whose playlists answers, while its file does at a pod this page
 *    trusts (a copy kept by a pod of an earlier release, which keeps the original only).
 * Only URLs whose bytes the viewer may take unchecked are played so (video.ts `trusted`): the
 * video's origin, and the pod that serves this page.
 *
 * The first of them that answers plays; while none does, the player is told
 * (`Sink.reachable(false)`) and it asks again every RETRY_MS.
 */
import { DIRECT_STATS, type Engine, type Sink } from './engine'
import { endQuickStart, takeUp } from './handover'
import { firstAnswer } from './pods'
import type { QuickStart } from './quick'

/** While nothing answers, everything is asked again this often. */
const RETRY_MS = 3000

/** Plays the first of `urls` that `ask` finds answering in `el`, taking over the page's quick start if there is one. */
export function playDirect(urls: readonly string[], ask: (url: string) => Promise<boolean>, el: HTMLVideoElement, quick: QuickStart | undefined, sink: Sink): Engine {
  let stopped = false
  let answered = false
  let retry: ReturnType<typeof setTimeout> | undefined
  sink.quality({ levels: [], playing: -1, chosen: -1 })
  const attempt = () =>
    firstAnswer(urls, (url) => ask(url).then((ok) => ok || undefined)).then((got) => {
      if (stopped) return
      if (!got) {
        sink.reachable(false)
        retry = setTimeout(attempt, RETRY_MS)
        return
      }
      answered = true
      sink.reachable(true)
      sink.copy(got.index > 0)
      // The quick start ends where this source takes the element over, at the same moment.
      const from = quick ? endQuickStart(el) : { time: 0, viewerPaused: false }
      el.src = urls[got.index]!
      takeUp(el, from)
    })
  attempt()
  return {
    stats: () => DIRECT_STATS,
    choose: () => undefined,
    answered: () => answered,
    stop: () => {
      stopped = true
      clearTimeout(retry)
      el.removeAttribute('src')
      el.load()
    },
  }
}
