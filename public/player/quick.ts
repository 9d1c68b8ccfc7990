/**
 * The quick start of a watch page. A fresh browser needs most of a second before hls.js,
 * WebTorrent and the stream through them can show a frame, where a bare `<video>` shows one
 * in a fraction of that. So the HTML of a watch page (src/pages/shell.ts) carries a
 * `<video>` of the video's head start (a web seed's `?head=`: its first seconds, whole
 * segments of the stream the player starts with), which the browser starts playing while it
 * loads the app. The app waits for that first frame before it runs (rendering and the
 * player's code would hold up the page's only thread meanwhile); then the watch page takes
 * the element over (`playerElement`) and the player hands it to the peer-to-peer stream, at
 * the same moment of the video (hls.ts, handover.ts), reading those segments from the
 * browser's cache.
 *
 * This module is part of the app's entry point (app.tsx waits on `quickStartShown`): it stays
 * small, and imports nothing of the player.
 */

/** The quick start the page's HTML carried. */
export interface QuickStart {
  /** Its URL: a web seed's, with `?head=`. */
  src: string
  /** How many bytes of the file it plays (all from the web seed). */
  bytes: number
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

/** Quick starts taken over, by their element: the player finds its quick start there. */
const taken = new WeakMap<HTMLVideoElement, QuickStart>()

/**
 * The `<video>` element of the watch page of video `id`: the quick start's, once (playing
 * already: moved into place within the same task, it plays on), else a new one. The page puts
 * it in place and gives it to the player.
 */
export function playerElement(id: string): HTMLVideoElement {
  const q = quick?.videoId === id ? quick : undefined
  quick = undefined
  const el = q?.el ?? document.createElement('video')
  // Out of its wrapper (which goes): the page moves it on into the player's frame.
  const wrapper = document.querySelector('.quick-start')
  if (q) wrapper?.replaceWith(el)
  else wrapper?.remove()
  el.removeAttribute('id')
  el.className = 'player'
  el.controls = true
  el.playsInline = true
  el.preload = 'auto'
  if (q) taken.set(el, q)
  return el
}

/** The quick start playing in `el`, if it is the one the page took over. */
export function quickStartOf(el: HTMLVideoElement): QuickStart | undefined {
  return taken.get(el)
}
