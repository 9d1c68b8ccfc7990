/**
 * Reading an inbox body (one compact JWE) with a bound on what it may cost, set by who sends
 * it, before anything is decrypted:
 *
 * - its first segment, the JWE's protected header, is read first (at most HEADER_BYTES): it
 *   names the recipient (`kid`, refused at once if another pod's) and the sender (`iss`). A
 *   friend may send up to `maxMessageBytes`; any other sender, which can only send a
 *   `friend.request`, up to `strangerMessageBytes` (a few KiB). A header without `iss` is a pod
 *   of an earlier release: read up to `maxMessageBytes`, within the same budgets. The `iss` is
 *   only a claim until the signature is checked (envelope.ts refuses one that is not the signer);
 *   what bounds a liar is the budget.
 * - the bytes a body may come to hold are taken from a budget per address block and in all
 *   (src/shared/bytes-in-flight.ts) before they are read, and given back when the message is
 *   done with: beyond it, 429 (this address) or 503 (the pod), with `Retry-After`.
 * - the whole body must arrive within `timeoutMs`: a slow or held one is cut (408).
 * A body cut short leaves its chunks as garbage; a full collection soon after (at most one per
 * COLLECT_EVERY_MS) gives their memory back, which the engine alone would keep until
 * something else needs it.
 */
import type { BudgetScope, BytesInFlight, Reservation } from '../shared/bytes-in-flight'

/** Most bytes before the header's end: a seedpod header is about 300 bytes. */
const HEADER_BYTES = 4096
/** Least time between the collections that follow cut bodies. */
const COLLECT_EVERY_MS = 5_000

/** The limits the inbox reads bodies with. */
export interface InboxBodyLimits {
  /** This pod's fingerprint: a header naming another recipient is refused before the rest is read. */
  fingerprint: string
  /** Largest body of a friend. */
  maxBytes: number
  /** Largest body of a sender that is not a friend. */
  strangerBytes: number
  /** The time a body has to arrive whole. */
  timeoutMs: number
  /** Whether a fingerprint is a friend's. */
  isFriend(fingerprint: string): boolean
  budget: BytesInFlight
}

/** A body read whole (give its bytes back with `release` once the message is done), or why not. */
export type InboxBody =
  | { ok: true; text: string; release(): void }
  | { ok: false; status: 400 | 401 | 408 | 413 | 429 | 503; code: string; message: string; retryAfter?: number }

const refusal = (status: 400 | 401 | 408 | 413 | 429 | 503, code: string, message: string, retryAfter?: number): InboxBody => ({
  ok: false,
  status,
  code,
  message,
  ...(retryAfter ? { retryAfter } : {}),
})

let lastCollection = 0
let collection: ReturnType<typeof setTimeout> | undefined

/** Collects garbage soon, once per COLLECT_EVERY_MS at most: a cut body's chunks are garbage now. */
function collectSoon(): void {
  if (collection) return
  const wait = Math.max(0, lastCollection + COLLECT_EVERY_MS - Date.now())
  collection = setTimeout(() => {
    collection = undefined
    lastCollection = Date.now()
    Bun.gc(true)
  }, wait)
  collection.unref()
}

/** The header of a compact JWE whose first segment is `bytes` (leading whitespace allowed), or undefined. */
function parseHeader(bytes: Uint8Array): Record<string, unknown> | undefined {
  try {
    const header = JSON.parse(Buffer.from(Buffer.from(bytes).toString('latin1').trim(), 'base64url').toString('utf8'))
    return header && typeof header === 'object' && !Array.isArray(header) ? header : undefined
  } catch {
    return undefined
  }
}

/** Reads the inbox body of `request` from the address block `address`; see the module's comment. */
export async function readInboxBody(request: Request, address: string, limits: InboxBodyLimits): Promise<InboxBody> {
  const declared = Number(request.headers.get('content-length') ?? NaN)
  if (declared > limits.maxBytes) return refusal(413, 'too_large', `a message may have at most ${limits.maxBytes} bytes`)
  const retryAfter = Math.ceil(limits.timeoutMs / 1000)
  const overBudget = (scope: BudgetScope) =>
    scope === 'address'
      ? refusal(429, 'too_many_bytes', 'too many messages from this address are being received; try again later', retryAfter)
      : refusal(503, 'busy', 'this pod is receiving too many messages; try again later', retryAfter)
  const first = Math.min(Number.isFinite(declared) ? declared : HEADER_BYTES, HEADER_BYTES)
  const reservation = limits.budget.reserve(address, first)
  if (typeof reservation === 'string') return overBudget(reservation)
  const reader = request.body?.getReader()
  let timedOut = false
  const timer = setTimeout(() => {
    timedOut = true
    void reader?.cancel().catch(() => undefined)
  }, limits.timeoutMs)
  const chunks: Uint8Array[] = []
  let size = 0
  /** Ends the read without a message: the reservation back, the rest of the body unread. */
  const cut = (answer: InboxBody): InboxBody => {
    reservation.release()
    void reader?.cancel().catch(() => undefined)
    chunks.length = 0
    collectSoon()
    return answer
  }
  try {
    let limit: number | undefined
    while (reader) {
      const { done, value } = await reader.read()
      if (timedOut) return cut(refusal(408, 'timeout', `the message did not arrive within ${retryAfter} s`))
      if (done) break
      chunks.push(value)
      size += value.byteLength
      if (limit === undefined) {
        const decided = decide(chunks, size, limits, reservation, declared)
        if (decided === undefined) continue
        if (typeof decided !== 'number') return cut(typeof decided === 'string' ? overBudget(decided) : decided)
        limit = decided
      }
      if (size > limit) return cut(refusal(413, 'too_large', `a message of this sender may have at most ${limit} bytes`))
    }
    if (timedOut) return cut(refusal(408, 'timeout', `the message did not arrive within ${retryAfter} s`))
    clearTimeout(timer)
    return { ok: true, text: Buffer.concat(chunks).toString('utf8').trim(), release: () => reservation.release() }
  } catch {
    // The sender closed the connection before the end of what it announced.
    return cut(refusal(400, 'aborted', 'the message was cut off: the connection closed before its end'))
  } finally {
    clearTimeout(timer)
  }
}

/**
 * Once the header has arrived: the most this sender may send (its reservation grown to what
 * the body may come to), a refusal, or a budget scope that refuses; undefined while the
 * header is still incomplete.
 */
function decide(chunks: Uint8Array[], size: number, limits: InboxBodyLimits, reservation: Reservation, declared: number): number | InboxBody | BudgetScope | undefined {
  const head = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)
  const dot = head.indexOf(0x2e)
  if (dot < 0) return size >= HEADER_BYTES ? refusal(401, 'undecryptable', 'the body is not a compact JWE') : undefined
  const header = parseHeader(head.subarray(0, dot))
  if (!header) return refusal(401, 'undecryptable', 'the body is not a compact JWE: its header is not readable')
  if (header.kid !== undefined && header.kid !== limits.fingerprint) return refusal(401, 'wrong_recipient', 'the message is encrypted to another pod')
  const iss = header.iss
  const limit = typeof iss === 'string' && !limits.isFriend(iss) ? Math.min(limits.strangerBytes, limits.maxBytes) : limits.maxBytes
  if (declared > limit) return refusal(413, 'too_large', `a message of this sender may have at most ${limit} bytes`)
  const scope = reservation.resize(Math.max(size, Number.isFinite(declared) ? declared : limit))
  return scope ?? limit
}
