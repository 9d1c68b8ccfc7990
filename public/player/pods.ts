/**
 * Asking the pods that serve a video for its files: playlists, .torrent files, whether web
 * seeds answer.
 *
 * A file may be served by several pods (its origin and those that keep a copy), any of which
 * may be down, so that a video still plays while its origin is. A pod that is stopped refuses
 * at once, but one whose host is gone may leave the connection hanging: every request here
 * gives up when no answer has come within ANSWER_TIMEOUT_MS, and the next pod is asked after
 * STAGGER_MS already.
 */
import { debug } from './debug'
import { infoHashOf } from './verify'

/** How long a pod may take to answer before it counts as down. */
const ANSWER_TIMEOUT_MS = 5000

/** With several URLs, the next is asked when the one before failed or after this long. */
const STAGGER_MS = 1500

/** URLs on this page's own pod first (it just answered), then the others in their order; no repeats. */
export function ownPodFirst(urls: readonly string[]): string[] {
  const unique = [...new Set(urls)]
  const own = (u: string) => {
    try {
      return new URL(u).origin === location.origin
    } catch {
      return false
    }
  }
  return [...unique.filter(own), ...unique.filter((u) => !own(u))]
}

/**
 * `fetch` that gives up when no answer has come within ANSWER_TIMEOUT_MS; once the answer
 * has come, its body may take as long as it takes.
 */
export async function fetchSoon(url: string, init: RequestInit = {}): Promise<Response> {
  const abort = new AbortController()
  const timer = setTimeout(() => abort.abort(), ANSWER_TIMEOUT_MS)
  try {
    return await fetch(url, { ...init, signal: abort.signal })
  } finally {
    clearTimeout(timer)
  }
}

/**
 * The first good answer of `urls` (`ask` gives undefined, or throws, for a bad one), with
 * the index of the URL that gave it; undefined if none does. The URLs are not asked all at
 * once (each pod would send the same file) but one after the other: the next when one fails
 * or is slower than STAGGER_MS, and the first good answer wins.
 */
export function firstAnswer<T>(urls: readonly string[], ask: (url: string) => Promise<T | undefined>): Promise<{ value: T; index: number } | undefined> {
  if (!urls.length) return Promise.resolve(undefined)
  return new Promise((resolve) => {
    let pending = urls.length
    let done = false
    const next = (i: number) => {
      if (done || i >= urls.length) return
      let moved = false
      const moveOn = () => {
        if (moved) return
        moved = true
        next(i + 1)
      }
      const timer = setTimeout(moveOn, STAGGER_MS)
      ask(urls[i]!)
        .catch(() => undefined)
        .then((value) => {
          clearTimeout(timer)
          if (value !== undefined && !done) {
            done = true
            return resolve({ value, index: i })
          }
          moveOn()
          if (--pending === 0 && !done) resolve(undefined)
        })
    }
    next(0)
  })
}

/**
 * The .torrent from the first URL that answers with the file of `infoHash` (verify.ts: one
 * that names another is refused like a failure), undefined if none does.
 */
export async function firstTorrent(urls: string[], infoHash: string): Promise<Uint8Array | undefined> {
  const got = await firstAnswer(urls, async (url) => {
    const res = await fetchSoon(url)
    const file = res.ok ? new Uint8Array(await res.arrayBuffer()) : undefined
    return file && (await infoHashOf(file)) === infoHash ? file : undefined
  })
  if (got) debug('torrent file', { from: urls[got.index], bytes: got.value.length })
  return got?.value
}

/**
 * Whether a web seed answers (a HEAD request: a simple cross-origin request, no preflight).
 * A presigned URL of a bucket is signed for GET only, which HEAD would fail: it is asked for
 * its first byte instead (a single Range is CORS-safelisted too).
 */
export async function answers(url: string): Promise<boolean> {
  try {
    const presigned = url.includes('X-Amz-Signature=')
    const res = await fetchSoon(url, presigned ? { headers: { range: 'bytes=0-0' } } : { method: 'HEAD' })
    if (presigned) await res.body?.cancel()
    return res.ok
  } catch {
    return false
  }
}
