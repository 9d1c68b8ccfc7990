/**
 * The quick start of a watch page. A fresh browser needs most of a second before WebTorrent,
 * its service worker and the stream through it can show a frame, where a bare `<video>`
 * shows one in a fraction of that. So the HTML of a watch page (src/pages/routes.ts) carries a
 * `<video>` of the video's head start (the web seed's `?head=`: its first seconds, the bytes
 * the governor would have the web seed serve first anyway), which the browser starts playing
 * while it loads the app. The app waits for that first frame before it runs (rendering and
 * WebTorrent's code would hold up the page's only thread meanwhile); then the watch page
 * takes the element over and the player hands it to the peer-to-peer stream, at the same
 * moment of the video (player.ts, handover.ts).
 */

/** What the player is told of a quick start playing in its element (`PlayOptions.quickStart`). */
export interface QuickStartInfo {
  /** Its URL: the web seed's, with `?head=`. */
  src: string
  /** How many bytes of the file it plays (all from the web seed). */
  bytes: number
}

/** The quick start the page's HTML carried. */
export interface QuickStart extends QuickStartInfo {
  el: HTMLVideoElement
  videoId: string
  /** When its first frame was shown (`performance.now()`), if it was. */
  firstFrameAt?: number
}

let quick: QuickStart | undefined
let shown: Promise<void> | undefined

function read(): QuickStart | undefined {
  const el = document.getElementById('seedpod-quick')
  if (!(el instanceof HTMLVideoElement)) return undefined
  const bytes = Number(el.dataset.bytes)
  return el.dataset.video && bytes > 0 && el.src ? { el, videoId: el.dataset.video, src: el.src, bytes } : undefined
}

/**
 * Settles once the quick start has shown its first frame, failed, or had `ms` to do so; at
 * once on a page without one. The app starts after it.
 */
export function quickStartShown(ms = 1000): Promise<void> {
  shown ??= new Promise<void>((resolve) => {
    quick = read()
    const q = quick
    if (!q) return resolve()
    const timer = setTimeout(resolve, ms)
    const done = () => {
      clearTimeout(timer)
      resolve()
    }
    q.el.addEventListener('error', done, { once: true })
    const first = () => {
      q.firstFrameAt ??= performance.now()
      done()
    }
    onFirstFrame(q.el, first)
    // Already shown, or refused (no autoplay without a gesture, a frame may never come):
    // a paused element with its first frame loaded counts as shown.
    if (q.el.readyState >= HTMLMediaElement.HAVE_CURRENT_DATA && q.el.paused) first()
  })
  return shown
}

/** Calls `cb` when `el` presents its first frame (requestVideoFrameCallback, else `loadeddata`). */
export function onFirstFrame(el: HTMLVideoElement, cb: () => void): void {
  const rvfc = (el as HTMLVideoElement & { requestVideoFrameCallback?: (cb: () => void) => number }).requestVideoFrameCallback
  if (rvfc) rvfc.call(el, cb)
  else el.addEventListener('loadeddata', cb, { once: true })
}

/** The quick start of video `id`, once: the watch page takes its element. */
export function takeQuickStart(id: string): QuickStart | undefined {
  const q = quick
  if (!q || q.videoId !== id) return undefined
  quick = undefined
  return q
}
