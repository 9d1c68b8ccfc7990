/**
 * Asking the pods that serve a source for its files: its .torrent, its head start, whether
 * its web seeds answer.
 *
 * A source may be served by several pods (its origin and those that keep a copy), any of
 * which may be down, so that a video still plays while its origin is. A pod that is stopped
 * refuses at once, but one whose host is gone may leave the connection hanging: every request
 * here gives up when no answer has come within ANSWER_TIMEOUT_MS, and the next pod is tried.
 */
import { debug } from './debug'
import { infoHashOf } from './verify'

/** How long a .torrent URL or web seed may take to answer before it counts as down. */
const ANSWER_TIMEOUT_MS = 5000

/** With several .torrent URLs, the next is tried when the one before failed or after this long. */
const TORRENT_STAGGER_MS = 1500

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
 * has come, its body may take as long as it takes (a head start on a slow link).
 */
async function fetchSoon(url: string, init: RequestInit = {}): Promise<Response> {
  const abort = new AbortController()
  const timer = setTimeout(() => abort.abort(), ANSWER_TIMEOUT_MS)
  try {
    return await fetch(url, { ...init, signal: abort.signal })
  } finally {
    clearTimeout(timer)
  }
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

/**
 * The .torrent from the first URL that answers with the file of `infoHash` (verify.ts: one
 * that names another is refused like a failure), undefined if none does. The URLs are not
 * asked all at once (each pod would send the same file) but one after the other: the next
 * when one fails or is slower than TORRENT_STAGGER_MS, and the first file to arrive wins.
 */
export function firstTorrent(urls: string[], infoHash: string): Promise<Uint8Array | undefined> {
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
      const timer = setTimeout(moveOn, TORRENT_STAGGER_MS)
      fetchSoon(urls[i]!)
        .then(async (res) => (res.ok ? new Uint8Array(await res.arrayBuffer()) : undefined))
        .then(async (file) => (file && (await infoHashOf(file)) === infoHash ? file : undefined))
        .catch(() => undefined)
        .then((file) => {
          clearTimeout(timer)
          if (file && !done) {
            done = true
            debug('torrent file', { from: urls[i], bytes: file.length })
            return resolve(file)
          }
          moveOn()
          if (--pending === 0 && !done) resolve(undefined)
        })
    }
    next(0)
  })
}

/**
 * The first `bytes` of the file at web seed `url` (a range request); undefined if it does not
 * answer. A server that ignores the range sends the whole file (200), which serves as well.
 */
export async function fetchStart(url: string, bytes: number): Promise<Uint8Array | undefined> {
  try {
    const res = await fetchSoon(url, { headers: { range: `bytes=0-${bytes - 1}` } })
    return res.status === 206 || res.status === 200 ? new Uint8Array(await res.arrayBuffer()) : undefined
  } catch {
    return undefined
  }
}

/**
 * Fetches `url` (a quick start's, which the browser holds) and tells whether it came from the
 * browser's cache: Resource Timing says 0 bytes transferred. Unknown counts as not cached.
 */
export async function fetchCached(url: string): Promise<{ body?: Uint8Array; cached: boolean }> {
  try {
    const res = await fetchSoon(url)
    if (!res.ok) return { cached: false }
    const body = new Uint8Array(await res.arrayBuffer())
    const timing = performance
      .getEntriesByName(res.url, 'resource')
      .filter((e) => (e as PerformanceResourceTiming).initiatorType === 'fetch')
      .at(-1) as PerformanceResourceTiming | undefined
    return { body, cached: timing?.transferSize === 0 }
  } catch {
    return { cached: false }
  }
}
