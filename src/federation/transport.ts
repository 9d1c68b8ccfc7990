/**
 * Sending to other pods: seals a payload to a pod's key, posts it to its inbox and opens
 * the sealed reply (docs/protocol.md, "Envelope" and "Inbox"). Keys of peers are imported
 * once and kept while their JWK stays the same. Failures are Results, never exceptions:
 * the friend actor scores them.
 */
import type { JWK } from 'jose'
import type { Identity } from '../identity/keys'
import { importPeerKey } from '../identity/keys'
import { fail, ok, type Result } from '../shared/errors'
import { parseJson, type Outbound } from '../shared/outbound'
import { openReply, seal, type Message, type Payload, type ReplyPayload } from './envelope'
import { CURRENT_VERSION } from './versions'

/** A pod as the transport reaches it. */
export interface Peer {
  url: string
  fingerprint: string
  publicKey: JWK
}

/** A payload the friend took: its sealed reply, or none for one it had applied already. */
export interface Delivered {
  reply?: ReplyPayload
  duplicate?: boolean
}

/** Why a payload was not taken: a message for admins, and what the friend asked (to wait, after a 429), or that it speaks another protocol. */
export interface Undelivered {
  message: string
  incompatible?: boolean
  throttledMs?: number
}

/** What posting a payload came to. */
export type PostResult = Result<Delivered, Undelivered>

/** A peer's key, imported for both uses. */
export interface PeerKeys {
  jwk: string
  verifyKey: CryptoKey
  encryptKey: CryptoKey
}

/** A reply holds at most a pod's video list (the answer to `friend.request`): bounded all the same. */
const REPLY_MAX_BYTES = 64 * 1024 * 1024
/** How long a 429 without a usable `Retry-After` makes the sender wait. */
const DEFAULT_THROTTLE_MS = 60_000

/** A `Retry-After` header (seconds, RFC 9110) in milliseconds, bounded to an hour. */
function retryAfterMs(header: string | null): number {
  const seconds = Number(header)
  return Number.isFinite(seconds) && seconds > 0 ? Math.min(3600, seconds) * 1000 : DEFAULT_THROTTLE_MS
}

/** What the transport is built from. */
export interface TransportDeps {
  identity: Identity
  selfUrl: string
  outbound: Outbound
  /** How long a delivery may take (large batches to slow pods). */
  deliveryTimeoutMs: number
  now: () => number
}

/** The pod's side of sending messages. */
export class Transport {
  private readonly keys = new Map<string, PeerKeys>()

  private readonly identity: Identity
  private readonly selfUrl: string
  private readonly outbound: Outbound
  private readonly deliveryTimeoutMs: number
  private readonly now: () => number

  constructor(deps: TransportDeps) {
    ;({ identity: this.identity, selfUrl: this.selfUrl, outbound: this.outbound, deliveryTimeoutMs: this.deliveryTimeoutMs, now: this.now } = deps)
  }

  /** A peer's imported keys (cached while the JWK is the same). */
  async keysOf(fingerprint: string, jwk: JWK): Promise<PeerKeys> {
    const text = JSON.stringify(jwk)
    const cached = this.keys.get(fingerprint)
    if (cached && cached.jwk === text) return cached
    const keys = { jwk: text, ...(await importPeerKey(jwk)) }
    this.keys.set(fingerprint, keys)
    return keys
  }

  /** Forgets a peer's keys (the friendship ended). */
  forget(fingerprint: string): void {
    this.keys.delete(fingerprint)
  }

  /** A payload from this pod to `to`. */
  payload(to: string, jti: string, messages: Message[]): Payload {
    return { v: CURRENT_VERSION, from: { url: this.selfUrl, fingerprint: this.identity.fingerprint }, to, iat: Math.floor(this.now() / 1000), jti, messages }
  }

  /** Seals a reply to a payload the inbox applied. */
  async sealReply(to: string, senderKey: JWK, inReplyTo: string, results: unknown[]): Promise<string> {
    const { messages: _none, ...head } = this.payload(to, crypto.randomUUID(), [])
    const reply: ReplyPayload = { ...head, inReplyTo, ok: true, results }
    const keys = await this.keysOf(to, senderKey)
    return seal(reply, this.identity, { fingerprint: to, encryptKey: keys.encryptKey })
  }

  /** Sends one sealed payload to a pod's inbox and opens its reply. */
  async post(peer: Peer, payload: Payload, timeoutMs = this.deliveryTimeoutMs): Promise<PostResult> {
    const keys = await this.keysOf(peer.fingerprint, peer.publicKey)
    const jwe = await seal(payload, this.identity, { fingerprint: peer.fingerprint, encryptKey: keys.encryptKey })
    const res = await this.outbound.post(`${peer.url}/api/v1/pod/inbox`, jwe, {
      contentType: 'application/jose',
      accept: 'application/jose, application/json',
      maxBytes: REPLY_MAX_BYTES,
      timeoutMs,
    })
    if (!res.ok) return fail({ message: `cannot reach ${peer.url}: ${res.error.message}` })
    const json = () => parseJson(res.value.body) as { error?: { code?: unknown; supported?: unknown }; supported?: unknown; duplicate?: unknown } | undefined
    if (res.value.status !== 200) {
      const body = json()
      if (res.value.status === 426)
        return fail({ incompatible: true, message: `the friend does not speak protocol ${CURRENT_VERSION} (it speaks ${JSON.stringify(body?.supported ?? body?.error?.supported ?? '?').slice(0, 100)})` })
      if (res.value.status === 429) return fail({ throttledMs: retryAfterMs(res.value.headers.get('retry-after')), message: `${peer.url} asks to slow down (429)` })
      // A friend receiving too much at once (its inbox's budget of bytes in flight) says when to come back.
      if (res.value.status === 503 && res.value.headers.has('retry-after')) return fail({ throttledMs: retryAfterMs(res.value.headers.get('retry-after')), message: `${peer.url} is busy (503)` })
      // Only the code: the friend's own words are not ours to repeat.
      const code = typeof body?.error?.code === 'string' ? `: ${body.error.code.slice(0, 60)}` : ''
      return fail({ message: `HTTP ${res.value.status} from ${peer.url}${code}` })
    }
    if (res.value.headers.get('content-type')?.includes('application/json'))
      return json()?.duplicate === true ? ok({ duplicate: true }) : fail({ message: 'the friend answered 200 without a signed reply' })
    const r = await openReply(new TextDecoder().decode(res.value.body), this.identity, { fingerprint: peer.fingerprint, verifyKey: keys.verifyKey }, payload.jti, this.now())
    return r.ok ? ok({ reply: r.value }) : fail({ message: `the friend's reply was rejected: ${r.error}` })
  }
}
