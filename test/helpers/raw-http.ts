/**
 * A raw HTTP/1.1 client for the fuzz tests (test/fuzz-*.test.ts), for what fetch will not
 * send: a Content-Length that lies, hand-made chunked bodies, unnormalised paths, another
 * Host; it returns every response that came back on the connection.
 */
import { connect } from 'node:net'
import type { Rng } from './fuzz'

/** One parsed HTTP response. */
export interface RawResponse {
  status: number
  headers: Record<string, string>
  body: string
}

/** What a raw exchange gave: every complete response, whether the server closed, and the bytes. */
export interface RawResult {
  responses: RawResponse[]
  closed: boolean
  timedOut: boolean
  /** Bytes of the request actually written before the answer or the end. */
  written: number
}

/**
 * Sends `head` and then `body` (a buffer, or chunks written one after the other) over one TCP
 * connection to 127.0.0.1:`port`, optionally half-closes, and collects what comes back until
 * the server closes, `expect` responses arrived, or `timeoutMs` passed. `stopWritingOnAnswer`
 * stops sending the body once a response starts (a server that refuses early is not fed);
 * `head`: the request is a HEAD, whose answers have no body.
 */
export function rawHttp(
  port: number,
  head: string,
  body: Uint8Array | Uint8Array[] = new Uint8Array(0),
  opts: { halfClose?: boolean; timeoutMs?: number; expect?: number; stopWritingOnAnswer?: boolean; head?: boolean } = {},
): Promise<RawResult> {
  const chunks = Array.isArray(body) ? body : [body]
  const parse = (b: Buffer) => parseResponses(b, opts.head)
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port })
    let buf = Buffer.alloc(0)
    let done = false
    let answered = false
    let written = 0
    const finish = (timedOut: boolean, closed: boolean) => {
      if (done) return
      done = true
      clearTimeout(timer)
      socket.destroy()
      resolve({ responses: parse(buf), closed, timedOut, written })
    }
    const timer = setTimeout(() => finish(true, false), opts.timeoutMs ?? 3000)
    socket.on('data', (d: Buffer) => {
      answered = true
      buf = Buffer.concat([buf, d])
      if (opts.expect !== undefined && parse(buf).length >= opts.expect) finish(false, false)
    })
    socket.on('close', () => finish(false, true))
    socket.on('error', () => finish(false, true))
    socket.on('connect', async () => {
      socket.write(head)
      for (const c of chunks) {
        if (done || (opts.stopWritingOnAnswer && answered)) break
        const flushed = socket.write(c)
        written += c.byteLength
        if (!flushed) await new Promise<void>((res) => { socket.once('drain', res); socket.once('close', res) })
      }
      if (opts.halfClose && !done) socket.end()
    })
  })
}

/**
 * The complete HTTP responses at the start of `buf` (Content-Length, chunked, or none for
 * bodiless statuses); `head`: answers to HEAD, which have none whatever their headers say.
 */
export function parseResponses(buf: Buffer, head = false): RawResponse[] {
  const out: RawResponse[] = []
  let at = 0
  while (at < buf.length) {
    const end = buf.indexOf('\r\n\r\n', at)
    if (end < 0) break
    const lines = buf.subarray(at, end).toString('latin1').split('\r\n')
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '')
    if (!m) break
    const headers: Record<string, string> = {}
    for (const l of lines.slice(1)) {
      const i = l.indexOf(':')
      if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim()
    }
    const status = Number(m[1])
    let p = end + 4
    let body = ''
    if (head) {
      // No body: Content-Length is the length a GET would get.
    } else if (headers['transfer-encoding']?.toLowerCase().includes('chunked')) {
      const parts: Buffer[] = []
      let complete = false
      for (;;) {
        const le = buf.indexOf('\r\n', p)
        if (le < 0) break
        const size = parseInt(buf.subarray(p, le).toString('latin1'), 16)
        if (!Number.isFinite(size)) break
        if (size === 0) {
          const te = buf.indexOf('\r\n', le + 2)
          p = te < 0 ? buf.length : te + 2
          complete = true
          break
        }
        if (le + 2 + size + 2 > buf.length) break
        parts.push(buf.subarray(le + 2, le + 2 + size))
        p = le + 2 + size + 2
      }
      if (!complete) break
      body = Buffer.concat(parts).toString('utf8')
    } else if (headers['content-length'] !== undefined) {
      const n = Number(headers['content-length'])
      if (p + n > buf.length) break
      body = buf.subarray(p, p + n).toString('utf8')
      p += n
    } else if (status !== 204 && status !== 304 && !(status >= 100 && status < 200)) {
      // No length: the body runs to the close.
      body = buf.subarray(p).toString('utf8')
      p = buf.length
    }
    out.push({ status, headers, body })
    at = p
  }
  return out
}

/** A chunked encoding of `body`, cut into random pieces. */
export function chunked(r: Rng, body: Uint8Array): Uint8Array {
  const parts: Uint8Array[] = []
  let i = 0
  const enc = new TextEncoder()
  while (i < body.length) {
    const n = Math.min(body.length - i, r.range(1, Math.max(1, Math.min(65_536, body.length))))
    parts.push(enc.encode(`${n.toString(16)}\r\n`), body.subarray(i, i + n), enc.encode('\r\n'))
    i += n
  }
  parts.push(enc.encode('0\r\n\r\n'))
  return Buffer.concat(parts)
}

