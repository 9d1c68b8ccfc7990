/**
 * The inputs of the fuzz tests (test/fuzz-*.test.ts) as requests: what one is, how it is sent
 * (by fetch, or by hand over TCP with a lying or broken framing), and the checks every answer
 * passes: no 5xx, and every error answer of a JSON route the API's `{ error: { code, message } }`
 * JSON (not: the pages, the tracker's bencoded answers, file bodies, HEAD, and what Bun's HTTP
 * parser answers itself to a broken framing). Also the sealing of payloads (JWS in JWE) the
 * inbox fuzzers send.
 */
import { CompactEncrypt, CompactSign } from 'jose'
import type { Identity } from '../../src/identity/keys'
import { Rng } from './fuzz'
import { chunked, rawHttp, type RawResult } from './raw-http'

/** One fuzz input, as sent and as printed when it fails. */
export interface Input {
  part: string
  n: number
  kind: string
  method: string
  path: string
  headers: Record<string, string>
  body?: Uint8Array | string
  /** How it is sent: fetch, or by hand with one of the framings of {@link sendRaw}. */
  transport: 'fetch' | 'chunked' | 'cl-short' | 'cl-long-halfclose' | 'cl-long-wait' | 'cl-and-te' | 'cl-garbage' | 'raw-path' | 'raw-host' | 'claim'
  /** With `raw-host`: the Host header sent (default: the pod's address). */
  host?: string
  /** With `claim`: the Content-Length sent, of which only the body is written (the pod must answer without the rest). */
  claim?: number
  /** The statuses a user or admin expects for this input (checked when the input was framed as a client frames it). */
  expect?: readonly number[]
  /** With `expect`: the error code the answer names. */
  expectCode?: string
  /** Whether a 2xx answer may change the database (a valid-shape authorized request; an applied payload). */
  mayChange: boolean
  /** Whether the error answers of this route are the API's JSON. */
  json: boolean
  /** For a payload sealed by the friend: its jti, to open the sealed reply. */
  jti?: string
}

/** What came back for an input: the first answer (if any) and any further ones on the connection. */
export interface Outcome {
  status?: number
  contentType?: string | null
  body?: string
  /** The answer's Retry-After header. */
  retryAfter?: string | null
  more: { status: number; contentType?: string }[]
  note?: string
}

/** An input as printed: where it went, how, with which headers and the start of its body. */
export function describeInput(i: Input): string {
  const headers = Object.entries(i.headers)
    .map(([k, v]) => `${k}: ${v.length > 120 ? `${v.slice(0, 120)}…(${v.length})` : v}`)
    .join(' | ')
  return `#${i.n} [${i.part}/${i.kind}] ${i.method} ${i.path.length > 300 ? `${i.path.slice(0, 300)}…(${i.path.length})` : i.path} via ${i.transport}${i.host !== undefined ? ` (Host: ${i.host.slice(0, 60)})` : ''}\n    headers: ${headers || '(none)'}\n    body: ${bodyExcerpt(i.body)}`
}

/** UTF-8 bytes of a string, for bodies and payloads. */
export const enc = new TextEncoder()
const bytesOf = (b: Uint8Array | string | undefined) => (b === undefined ? new Uint8Array(0) : typeof b === 'string' ? enc.encode(b) : b)

/** Sends an input to `port` and returns what came back. */
export async function send(port: number, i: Input): Promise<Outcome> {
  if (i.transport === 'fetch') {
    const noBody = i.method === 'GET' || i.method === 'HEAD'
    try {
      const res = await fetch(`http://127.0.0.1:${port}${i.path}`, { method: i.method, headers: i.headers, body: noBody ? undefined : (i.body as BodyInit | undefined), redirect: 'manual' })
      return { status: res.status, contentType: res.headers.get('content-type'), retryAfter: res.headers.get('retry-after'), body: await res.text(), more: [] }
    } catch (e) {
      return { more: [], note: `fetch failed: ${(e as Error).message}` }
    }
  }
  return outcomeOf(await sendRaw(port, i))
}

function outcomeOf(r: RawResult): Outcome {
  const [first, ...rest] = r.responses
  return {
    status: first?.status,
    contentType: first?.headers['content-type'] ?? null,
    retryAfter: first?.headers['retry-after'] ?? null,
    body: first?.body,
    more: rest.map((x) => ({ status: x.status, contentType: x.headers['content-type'] })),
    note: first ? undefined : r.timedOut ? 'no answer (the client gave up)' : 'no answer (closed)',
  }
}

/** Sends an input by hand over TCP, framed as its transport says. */
function sendRaw(port: number, i: Input): Promise<RawResult> {
  const body = bytesOf(i.body)
  const headerLines = Object.entries(i.headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')
  const line = `${i.method} ${i.path} HTTP/1.1\r\nHost: ${i.host ?? `127.0.0.1:${port}`}\r\n${headerLines}`
  switch (i.transport) {
    case 'chunked':
      return rawHttp(port, `${line}Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n`, chunked(new Rng(body.length), body), { timeoutMs: 5000 })
    case 'cl-short':
      // The rest of the body is read as the next request.
      return rawHttp(port, `${line}Content-Length: ${Math.max(0, body.length - 1 - (body.length >> 2))}\r\n\r\n`, body, { halfClose: true, timeoutMs: 1500 })
    case 'cl-long-halfclose':
      return rawHttp(port, `${line}Content-Length: ${body.length + 100}\r\nConnection: close\r\n\r\n`, body, { halfClose: true, timeoutMs: 1500 })
    case 'cl-long-wait':
      return rawHttp(port, `${line}Content-Length: ${body.length + 100}\r\nConnection: close\r\n\r\n`, body, { timeoutMs: 300 })
    case 'cl-and-te':
      return rawHttp(port, `${line}Content-Length: ${body.length}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n`, body, { timeoutMs: 1500 })
    case 'claim':
      // The claimed length is refused on sight (413, 507) or the body waited for: either way an answer, never a hang.
      return rawHttp(port, `${line}Content-Length: ${i.claim ?? body.length}\r\nConnection: close\r\n\r\n`, body, { timeoutMs: 5000, expect: 1, stopWritingOnAnswer: true })
    case 'cl-garbage': {
      const cl = new Rng(body.length + 7).pick(['abc', '-1', '1e3', `${body.length}, ${body.length}`, '99999999999999999999999', ' ', `0x${body.length.toString(16)}`, `+${body.length}`])
      return rawHttp(port, `${line}Content-Length: ${cl}\r\nConnection: close\r\n\r\n`, body, { timeoutMs: 1500 })
    }
    default:
      return rawHttp(port, `${line}Content-Length: ${body.length}\r\nConnection: close\r\n\r\n`, body, { timeoutMs: 5000 })
  }
}

/** Framings whose refusal may come from Bun's HTTP parser, before the app (its own plain answer). */
const FRAMING_ERRORS = new Set<Input['transport']>(['cl-and-te', 'cl-garbage', 'cl-short'])

/** Whether Bun's parser, not the app, may answer this input (a bad framing, an asterisk-form target). */
const bunItselfFor = (i: Input) => FRAMING_ERRORS.has(i.transport) || !i.path.startsWith('/')

/** The checks every answer passes; returns what is wrong. */
export function answerProblems(i: Input, o: Outcome): string[] {
  const problems: string[] = []
  // A Content-Length shorter than the body leaves bytes that Bun's parser reads as a garbage
  // request line, which it may answer 505 (HTTP version not supported) and close, at times
  // before the app's answer to the request itself was written: a 505 there is Bun's (the app
  // has no 505), the app's own answer is then missing.
  const bunParser = (status: number) => status === 505 && i.transport === 'cl-short'
  // A 503 (busy: the upload queue, the inbox's budget) and a 507 (the disk's margin) are the
  // pod's clear refusals, not failures: JSON errors, a 503 with Retry-After.
  const refusal = (status: number) => status === 507 || (status === 503 && !!o.retryAfter)
  if (o.status !== undefined && o.status >= 500 && !bunParser(o.status) && !refusal(o.status)) problems.push(`answered ${o.status}: ${(o.body ?? '').slice(0, 300)}`)
  for (const m of o.more) if (m.status >= 500 && !bunParser(m.status) && m.status !== 507 && m.status !== 503) problems.push(`a further answer on the connection was ${m.status}`)
  // A client told to come back later is told when.
  if ((o.status === 429 || o.status === 503) && !o.retryAfter && !bunItselfFor(i)) problems.push(`a ${o.status} without Retry-After`)
  // The answer a user or admin expects of this input (when it was framed as a client frames it).
  if (i.expect && (i.transport === 'fetch' || i.transport === 'claim') && (o.status === undefined || !i.expect.includes(o.status)))
    problems.push(`expected ${i.expect.join(' or ')}, got ${o.status ?? o.note}`)
  else if (i.expect && i.expectCode && (i.transport === 'fetch' || i.transport === 'claim') && !(o.body ?? '').includes(`"code":"${i.expectCode}"`))
    problems.push(`expected the error code ${i.expectCode}`)
  // Bun's parser answers what is not HTTP it routes (a bad framing, an asterisk-form target) itself.
  const bunItself = bunItselfFor(i)
  if (o.status !== undefined && o.status >= 400 && i.json && i.method !== 'HEAD' && !bunItself) {
    const shape = errorShapeProblem(o.contentType ?? null, o.body ?? '')
    if (shape) problems.push(`error answer ${o.status} is not the API's JSON: ${shape}`)
  }
  if (o.status === undefined && i.transport === 'fetch') problems.push(o.note ?? 'no answer')
  return problems
}

/** Why an error answer is not the API's `{ error: { code, message } }` JSON, or undefined if it is. */
export function errorShapeProblem(contentType: string | null, body: string): string | undefined {
  if (!contentType?.toLowerCase().includes('application/json')) return `content-type ${JSON.stringify(contentType)} is not JSON`
  let parsed: unknown
  try {
    parsed = JSON.parse(body)
  } catch {
    return `the body is not JSON: ${JSON.stringify(body.slice(0, 200))}`
  }
  const e = (parsed as { error?: { code?: unknown; message?: unknown } } | null)?.error
  if (!e || typeof e.code !== 'string' || !e.code || typeof e.message !== 'string') return `the body is not { error: { code, message } }: ${body.slice(0, 200)}`
  return undefined
}

/** A short, printable account of a body: its length and its start. */
export function bodyExcerpt(body: Uint8Array | string | undefined, max = 300): string {
  if (body === undefined) return '(no body)'
  const text = typeof body === 'string' ? body : new TextDecoder('utf-8', { fatal: false }).decode(body.subarray(0, max * 4))
  const length = typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength
  return `${length} bytes: ${JSON.stringify(text.slice(0, max))}${text.length > max ? '…' : ''}`
}

// --- sealed payloads ----------------------------------------------------------------------

/** A pod that may be sealed to: its fingerprint and encryption key. */
export interface Recipient {
  fingerprint: string
  encryptKey: CryptoKey
}

/** A compact JWS of `bytes` by `signer` (PS256 with its kid unless `header` says otherwise). */
export const signBytes = (bytes: Uint8Array, signer: Identity, header: Record<string, unknown> = { alg: 'PS256', kid: signer.fingerprint }) =>
  new CompactSign(bytes).setProtectedHeader(header as { alg: string }).sign(signer.signKey)

/** A compact JWE of `text` to `to` (as pods seal to each other unless `header` says otherwise). */
export const encryptTo = (text: string, to: Recipient, header: Record<string, unknown> = { alg: 'RSA-OAEP-256', enc: 'A256GCM', kid: to.fingerprint, cty: 'JWT' }) =>
  new CompactEncrypt(enc.encode(text)).setProtectedHeader(header as { alg: string; enc: string }).encrypt(to.encryptKey)

/** `payload` as JSON, signed by `signer` and sealed to `to`: how a pod sends it. */
export const sealJson = async (payload: unknown, signer: Identity, to: Recipient) => encryptTo(await signBytes(enc.encode(JSON.stringify(payload)), signer), to)
