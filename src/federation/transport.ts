/**
 * Sending to other pods: seals a payload to a pod's key, posts it to its inbox and opens
 * the sealed reply (docs/protocol.md, "Envelope" and "Inbox"). Keys of peers are imported
 * once and kept while their JWK stays the same. Failures are results, never exceptions:
 * the friend actor scores them.
 */
import type { JWK } from 'jose'
import type { Identity } from '../identity/keys'
import { importPeerKey } from '../identity/keys'
import { openReply, seal, type Message, type Payload, type ReplyPayload } from './envelope'
import { CURRENT_VERSION } from './versions'

/** A pod as the transport reaches it. */
export interface Peer {
  url: string
  fingerprint: string
  publicKey: JWK
}

/** What posting a payload came to. */
export type PostResult = { ok: true; reply?: ReplyPayload; duplicate?: boolean } | { ok: false; incompatible?: boolean; error: string }

/** A peer's key, imported for both uses. */
export interface PeerKeys {
  jwk: string
  verifyKey: CryptoKey
  encryptKey: CryptoKey
}

/** How long a delivery may take (large batches to slow pods). */
const DELIVERY_TIMEOUT_MS = 30_000

/** The pod's side of sending messages. */
export class Transport {
  private readonly keys = new Map<string, PeerKeys>()

  constructor(
    private readonly identity: Identity,
    private readonly selfUrl: string,
    private readonly now: () => number,
  ) {}

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
  async post(peer: Peer, payload: Payload, timeoutMs = DELIVERY_TIMEOUT_MS): Promise<PostResult> {
    const keys = await this.keysOf(peer.fingerprint, peer.publicKey)
    const jwe = await seal(payload, this.identity, { fingerprint: peer.fingerprint, encryptKey: keys.encryptKey })
    let res: Response
    try {
      res = await fetch(`${peer.url}/api/v1/pod/inbox`, {
        method: 'POST',
        headers: { 'content-type': 'application/jose', accept: 'application/jose, application/json' },
        body: jwe,
        redirect: 'error',
        signal: AbortSignal.timeout(timeoutMs),
      })
    } catch (e) {
      return { ok: false, error: `cannot reach ${peer.url}: ${(e as Error).message}` }
    }
    if (res.status !== 200) {
      const body = (await res.json().catch(() => undefined)) as { error?: { code?: string; message?: string; supported?: number[] }; supported?: number[] } | undefined
      const what = body?.error ? `${body.error.code}: ${body.error.message}` : res.statusText
      if (res.status === 426)
        return { ok: false, incompatible: true, error: `the friend does not speak protocol ${CURRENT_VERSION} (it speaks ${JSON.stringify(body?.supported ?? body?.error?.supported ?? '?')})` }
      return { ok: false, error: `HTTP ${res.status} from ${peer.url}: ${what}` }
    }
    if (res.headers.get('content-type')?.includes('application/json')) {
      const body = (await res.json().catch(() => undefined)) as { duplicate?: boolean } | undefined
      return body?.duplicate === true ? { ok: true, duplicate: true } : { ok: false, error: 'the friend answered 200 without a signed reply' }
    }
    const r = await openReply(await res.text(), this.identity, { fingerprint: peer.fingerprint, verifyKey: keys.verifyKey }, payload.jti, this.now())
    return r.ok ? { ok: true, reply: r.reply } : { ok: false, error: `the friend's reply was rejected: ${r.reason}` }
  }
}
