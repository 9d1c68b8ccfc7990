/**
 * Serving a video file over HTTP the way web seeds (BEP 19) and browsers' <video> need it:
 * byte ranges, validators (ETag, Last-Modified) and CORS, with the body streamed by Bun from
 * the file (sendfile), never read into memory.
 *
 * Multiple ranges (`bytes=0-99,200-299`): we answer 206 with the FIRST satisfiable range
 * only, with its Content-Range. RFC 9110 lets a server send fewer parts than asked, and every
 * range client must read Content-Range anyway. Neither web-seed clients nor media players
 * ask for several ranges at once, so multipart/byteranges would be code without a user,
 * and answering such a request with the whole (possibly multi-GiB) file would waste far more
 * than answering one part. It also defuses the "many overlapping ranges" amplification trick.
 */
import { statSync, type Stats } from 'node:fs'
import type { PodStorage } from '../storage/service'

/** How to describe the file being served. */
export interface ServeFileOptions {
  /** The Content-Type of the file, e.g. `video/mp4` or `application/x-bittorrent`. */
  contentType: string
  /** A Cache-Control value; none is sent when omitted. */
  cacheControl?: string
  /** Serve only the first `head` bytes, as a resource of that length (a video's quick start). */
  head?: number
}

/** The outcome of reading a Range header against a file of known size. */
export type RangeRequest =
  /** No usable Range (absent, not bytes, or malformed): send the whole file, 200. */
  | { kind: 'none' }
  /** Well-formed, but no range overlaps the file: 416. */
  | { kind: 'unsatisfiable' }
  /** Send bytes start..end inclusive, 206. */
  | { kind: 'range'; start: number; end: number }

/**
 * Reads a `Range` header for a representation of `size` bytes (RFC 9110 §14.1-14.2):
 * `bytes=a-b` (b clamped to the last byte), `bytes=a-`, `bytes=-n` (the last n bytes; all of
 * them when n >= size). A header that is not `bytes=` or does not parse is ignored (`none`),
 * as the RFC allows. With several ranges, the first satisfiable one wins (see module doc).
 */
export function parseRange(header: string | null, size: number): RangeRequest {
  if (header === null) return { kind: 'none' }
  const m = /^\s*bytes\s*=(.*)$/i.exec(header)
  if (!m) return { kind: 'none' }
  // The list syntax allows empty elements ("bytes=0-1,,5-6"); skip them.
  const specs = (m[1] ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '')
  if (specs.length === 0) return { kind: 'none' }
  let chosen: { start: number; end: number } | undefined
  for (const spec of specs) {
    const r = /^(\d*)-(\d*)$/.exec(spec)
    if (!r) return { kind: 'none' }
    const first = r[1] ?? ''
    const last = r[2] ?? ''
    if (first === '' && last === '') return { kind: 'none' }
    let start: number
    let end: number
    if (first !== '') {
      start = Number(first)
      if (last !== '' && Number(last) < start) return { kind: 'none' } // "5-3" is invalid, not unsatisfiable
      if (start >= size) continue
      end = last === '' ? size - 1 : Math.min(Number(last), size - 1)
    } else {
      const suffix = Number(last)
      if (suffix === 0 || size === 0) continue // "-0" asks for nothing
      start = Math.max(0, size - suffix)
      end = size - 1
    }
    // Keep checking the rest for syntax: one malformed spec makes the whole header invalid.
    chosen ??= { start, end }
  }
  return chosen ? { kind: 'range', ...chosen } : { kind: 'unsatisfiable' }
}

/**
 * A strong ETag from size and modification time, like nginx's. Strong is right here: web
 * seed files are written once (temp file, then rename), so same size and mtime means same
 * bytes; and only a strong validator lets If-Range resume a download.
 */
function fileEtag(st: Pick<Stats, 'size' | 'mtimeMs'>): string {
  return `"${Math.floor(st.mtimeMs).toString(16)}-${st.size.toString(16)}"`
}

/** Entity tags listed in If-Match / If-None-Match, or `*`. */
function parseEtagList(value: string): string[] {
  return value.match(/\*|(?:W\/)?"[^"]*"/g) ?? []
}

/** Weak comparison (If-None-Match): equal once the W/ prefixes are dropped. */
function weakMatch(list: string[], etag: string): boolean {
  const bare = etag.replace(/^W\//, '')
  return list.some((t) => t === '*' || t.replace(/^W\//, '') === bare)
}

/** Strong comparison (If-Match, If-Range): identical and not weak. */
function strongMatch(list: string[], etag: string): boolean {
  return list.some((t) => t === '*' || (!t.startsWith('W/') && t === etag))
}

/** An HTTP date in milliseconds, or undefined when it does not parse. */
function httpDate(value: string | null): number | undefined {
  if (value === null) return undefined
  const t = Date.parse(value)
  return Number.isNaN(t) ? undefined : t
}

/** CORS for everyone: videos and torrents are public, and players on other pods' pages fetch them. */
export const CORS_HEADERS: Readonly<Record<string, string>> = {
  'Access-Control-Allow-Origin': '*',
  // Without these, a page's script (WebTorrent in the browser) cannot read the range answer's size.
  'Access-Control-Expose-Headers': 'Content-Range, Content-Length, Accept-Ranges, ETag, Last-Modified',
}

/**
 * Request headers a cross-origin reader of a web seed or torrent may send. WebTorrent's web
 * seed sends `Cache-Control` and `User-Agent` with every range (which makes each request
 * "non-simple", so the browser asks with a preflight first); `Range` is CORS-safelisted for a
 * single range only; the conditional ones come from caches and resuming downloads.
 */
const CORS_ALLOW_HEADERS = 'Range, Cache-Control, User-Agent, If-Range, If-None-Match, If-Modified-Since, If-Match, If-Unmodified-Since'

/**
 * The answer to a CORS preflight (`OPTIONS` with `Access-Control-Request-*`) for a public
 * file: any origin, GET and HEAD, the headers above, cached by the browser for a day. It does
 * not depend on the file existing: the GET that follows says 404 itself (with CORS headers).
 */
export function corsPreflight(): Response {
  return new Response(null, {
    status: 204,
    headers: {
      ...CORS_HEADERS,
      'Access-Control-Allow-Methods': 'GET, HEAD, OPTIONS',
      'Access-Control-Allow-Headers': CORS_ALLOW_HEADERS,
      'Access-Control-Max-Age': '86400',
    },
  })
}

function jsonError(status: number, code: string, message: string, extra?: Record<string, string>): Response {
  return Response.json({ error: { code, message } }, { status, headers: { ...CORS_HEADERS, ...extra } })
}

/**
 * Answers `request` with the file at `path`:
 * - GET without Range: 200 and the whole file; HEAD: the same headers, no body.
 * - `Range: bytes=...`: 206 with Content-Range and just those bytes; 416 with
 *   `Content-Range: bytes *\/size` when no range overlaps the file; a malformed or non-bytes
 *   Range is ignored (200). Several ranges: the first satisfiable one (see module doc).
 * - If-None-Match / If-Modified-Since: 304; If-Match / If-Unmodified-Since: 412;
 *   If-Range with a stale validator: the whole file, 200.
 * - OPTIONS: a CORS preflight answer; other methods: 405.
 * - `opts.head`: the file is answered as if it ended after that many bytes.
 * - A missing file (or a directory): 404 `{ error: { code: 'not_found', message } }`.
 * Every answer carries CORS headers (any origin), and file answers `Accept-Ranges: bytes`,
 * ETag and Last-Modified. The body is `Bun.file(path).slice(...)`, which Bun sends with
 * sendfile(2): the file is never read into memory.
 */
export function serveFile(request: Request, path: string, opts: ServeFileOptions): Response {
  const method = request.method
  if (method === 'OPTIONS') return corsPreflight()
  if (method !== 'GET' && method !== 'HEAD') {
    return jsonError(405, 'method_not_allowed', `${method} is not allowed here`, { Allow: 'GET, HEAD, OPTIONS' })
  }

  const st = statSync(path, { throwIfNoEntry: false })
  if (!st || !st.isFile()) return jsonError(404, 'not_found', 'no such file')
  const size = opts.head === undefined ? st.size : Math.min(st.size, opts.head)
  // The head of a file is another resource than the file: another validator.
  const etag = size === st.size ? fileEtag(st) : fileEtag(st).replace(/"$/, `-${size}"`)
  // HTTP dates have whole seconds: compare validators at that precision, or a client sending
  // back our own Last-Modified would never match.
  const mtimeSec = Math.floor(st.mtimeMs / 1000) * 1000
  const lastModified = new Date(mtimeSec).toUTCString()

  const headers: Record<string, string> = {
    ...CORS_HEADERS,
    'Accept-Ranges': 'bytes',
    ETag: etag,
    'Last-Modified': lastModified,
  }
  if (opts.cacheControl) headers['Cache-Control'] = opts.cacheControl

  // Preconditions, in RFC 9110 §13.2.2 order, before Range is even looked at.
  const ifMatch = request.headers.get('if-match')
  if (ifMatch !== null) {
    if (!strongMatch(parseEtagList(ifMatch), etag)) return jsonError(412, 'precondition_failed', 'the file has changed')
  } else {
    const ius = httpDate(request.headers.get('if-unmodified-since'))
    if (ius !== undefined && mtimeSec > ius) return jsonError(412, 'precondition_failed', 'the file has changed')
  }
  const ifNoneMatch = request.headers.get('if-none-match')
  if (ifNoneMatch !== null) {
    if (weakMatch(parseEtagList(ifNoneMatch), etag)) return new Response(null, { status: 304, headers })
  } else {
    const ims = httpDate(request.headers.get('if-modified-since'))
    if (ims !== undefined && mtimeSec <= ims) return new Response(null, { status: 304, headers })
  }

  let range = parseRange(request.headers.get('range'), size)
  const ifRange = request.headers.get('if-range')
  if (range.kind !== 'none' && ifRange !== null) {
    // If-Range: "send me the part if it is still the same file, else the whole new one".
    const still = ifRange.trim().startsWith('"') || ifRange.trim().startsWith('W/')
      ? strongMatch(parseEtagList(ifRange), etag)
      : httpDate(ifRange) === mtimeSec
    if (!still) range = { kind: 'none' }
  }

  headers['Content-Type'] = opts.contentType
  // The content is whatever users uploaded: never let a browser sniff it into HTML.
  headers['X-Content-Type-Options'] = 'nosniff'

  if (range.kind === 'unsatisfiable') {
    return jsonError(416, 'range_not_satisfiable', `the file has ${size} bytes`, {
      'Content-Range': `bytes */${size}`,
      'Accept-Ranges': 'bytes',
    })
  }
  const file = Bun.file(path)
  if (range.kind === 'none') {
    headers['Content-Length'] = String(size)
    return new Response(method === 'HEAD' ? null : file.slice(0, size), { status: 200, headers })
  }
  const { start, end } = range
  headers['Content-Length'] = String(end - start + 1)
  headers['Content-Range'] = `bytes ${start}-${end}/${size}`
  return new Response(method === 'HEAD' ? null : file.slice(start, end + 1), { status: 206, headers })
}

/**
 * Answers `request` with an object of the pod's bucket, read through the pod: what the web
 * seed does for a quick start's `?head=` (a resource of its own, which the bucket has no URL
 * for). Byte ranges like serveFile, streamed from ranged GETs; no validators (the pod would
 * have to ask the bucket for them on every request).
 */
export async function serveObject(request: Request, storage: Pick<PodStorage, 'stat' | 'stream'>, key: string, opts: ServeFileOptions): Promise<Response> {
  if (request.method === 'OPTIONS') return corsPreflight()
  const stat = await storage.stat(key).catch(() => null)
  if (stat === null) return jsonError(503, 'storage_unavailable', "the pod's storage cannot be reached")
  if (!stat) return jsonError(404, 'not_found', 'no such file')
  const size = opts.head === undefined ? stat.size : Math.min(stat.size, opts.head)
  const headers: Record<string, string> = { ...CORS_HEADERS, 'Accept-Ranges': 'bytes', 'Content-Type': opts.contentType, 'X-Content-Type-Options': 'nosniff' }
  if (opts.cacheControl) headers['Cache-Control'] = opts.cacheControl
  const range = parseRange(request.headers.get('range'), size)
  if (range.kind === 'unsatisfiable') return jsonError(416, 'range_not_satisfiable', `the file has ${size} bytes`, { 'Content-Range': `bytes */${size}`, 'Accept-Ranges': 'bytes' })
  const [start, end, status] = range.kind === 'range' ? [range.start, range.end + 1, 206] : [0, size, 200]
  headers['Content-Length'] = String(end - start)
  if (status === 206) headers['Content-Range'] = `bytes ${start}-${end - 1}/${size}`
  return new Response(request.method === 'HEAD' || end === start ? null : storage.stream(key, start, end), { status, headers })
}

/**
 * A redirect to where the file is (the bucket), with the CORS headers a cross-origin reader
 * needs to follow it. Never cached: a file can move (`seedpod storage migrate`), and a browser
 * holding the old redirect would go on asking the bucket for an object that is gone.
 */
export function redirectTo(url: string): Response {
  return new Response(null, { status: 302, headers: { ...CORS_HEADERS, Location: url, 'Cache-Control': 'no-cache' } })
}
