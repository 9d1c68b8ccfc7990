/**
 * The inbox (docs/protocol.md, "Inbox"): opens a sealed payload, checks its messages against
 * the registry (src/federation/messages.ts), proves the URLs that `friend.request` and
 * `pod.moved` claim, and applies every message in one transaction, each through the handler
 * its feature registered. Nothing is applied twice (`jti`), and a payload refused for any
 * reason changes nothing.
 */
import type { Database } from 'bun:sqlite'
import type { JWK } from 'jose'
import type { Identity } from '../identity/keys'
import { DomainError, fail, failure, ok, type Failure, type Result } from '../shared/errors'
import { open, type Message, type Opened, type SenderKey } from './envelope'
import { isKnownType, messageProblem, type MessageData, type MessageType } from './messages'
import type { Peer, Transport } from './transport'

/** What `GET {url}/api/v1/pod` tells about a pod, checked. */
export interface PodInfo extends Peer {
  name: string
}

/** A peer this pod knows, as the inbox sees it (a friend). */
export interface KnownPeer extends Peer {
  name: string
}

/** What the inbox needs to know of peers: the friends feature's store. */
export interface InboxPeers {
  get(fingerprint: string): KnownPeer | undefined
  blacklisted(fingerprint: string): boolean
  /** Records a payload's `jti` as applied; false if it was already. */
  markApplied(sender: string, jti: string, count: number, now: number): boolean
  /** Whether a payload's `jti` was applied (read before any outbound work). */
  isApplied(sender: string, jti: string): boolean
}

/** Limits the inbox applies before it does any work for a payload (the friends feature's admission). */
export interface InboxGate {
  /** Before anything is decrypted: a refusal for this source address (too many payloads). */
  fromAddress(address: string): Failure | undefined
  /** Before any outbound work: a refusal for this sender (its rate, or, for a stranger, the admission rules). */
  admit(sender: string, friend: KnownPeer | undefined, messages: readonly Message[], address: string): Failure | undefined
}

/** What a handler knows of the message it applies. */
export interface InboxContext {
  sender: string
  /** Where the payload came from (the client address). */
  address: string
  /** The sender as a friend, as it is now (a `friend.request` earlier in the batch may have made it one). */
  friend: KnownPeer | undefined
  /** The checked pod document of the URL a `friend.request` or `pod.moved` claims. */
  proof: PodInfo | undefined
  now: number
}

/** Applies one message of a type inside the inbox transaction (so it is synchronous); returns its result. */
export type Handler<K extends MessageType> = (data: MessageData<K>, ctx: InboxContext) => unknown

/** How a handler is registered. */
export interface HandlerOptions {
  /** Whether a non-friend may send it (only `friend.request`); default false: answered `not_a_friend`. */
  fromStrangers?: boolean
}

/** After a payload was applied: the sender before it, for those who follow friendships. */
export type AppliedListener = (sender: string, before: KnownPeer | undefined) => void

/** The inbox's answer: a sealed reply (none for a payload applied already), or a refusal (its route maps the kind to a status). */
export type InboxAnswer = Result<{ jose: string } | { duplicate: true }>

/** The message types whose `data.url` must serve the sender's key before anything is applied. */
const PROVEN: ReadonlySet<string> = new Set(['friend.request', 'pod.moved'])

/** What the inbox is built from. */
export interface InboxDeps {
  db: Database
  identity: Identity
  transport: Transport
  peers: InboxPeers
  gate: InboxGate
  /** Fetches and checks a pod's document (the URL proof). */
  prove: (url: string) => Promise<Result<PodInfo, string>>
  now: () => number
  /**
   * Told of each message of an opened payload, with its outcome: `applied`, the error its
   * handler answered (`pending`, `too_many_videos`, ...), or the code of the payload's
   * refusal (`not_a_friend`, `rate_limited`, `duplicate`, ...). For the pod's metrics.
   */
  counted?: (type: string, outcome: string) => void
}

/** An outcome as the metrics take it: a short code of ours, never a peer's free text. */
const outcomeLabel = (outcome: unknown) => (typeof outcome === 'string' && /^[a-z][a-z_]{0,39}$/.test(outcome) ? outcome : 'refused')

/** One pod's inbox. */
export class Inbox {
  private readonly handlers = new Map<string, { apply: Handler<any>; fromStrangers: boolean }>()
  private readonly listeners: AppliedListener[] = []

  private readonly db: Database
  private readonly identity: Identity
  private readonly transport: Transport
  private readonly peers: InboxPeers
  private readonly gate: InboxGate
  private readonly prove: (url: string) => Promise<Result<PodInfo, string>>
  private readonly now: () => number
  private readonly counted: (type: string, outcome: string) => void

  constructor(deps: InboxDeps) {
    ;({ db: this.db, identity: this.identity, transport: this.transport, peers: this.peers, gate: this.gate, prove: this.prove, now: this.now } = deps)
    this.counted = deps.counted ?? (() => {})
  }

  /** Registers the handler of a message type; each type has exactly one. */
  on<K extends MessageType>(type: K, apply: Handler<K>, opts: HandlerOptions = {}): void {
    if (this.handlers.has(type)) throw new DomainError('internal', 'handler_registered', `a handler for ${type} is registered already`)
    this.handlers.set(type, { apply, fromStrangers: opts.fromStrangers ?? false })
  }

  /** Calls `listener` after each applied payload. */
  onApplied(listener: AppliedListener): void {
    this.listeners.push(listener)
  }

  /** Before a payload's body is read: a refusal for its source address (too many payloads), or undefined. */
  fromAddress(address: string): Failure | undefined {
    return this.gate.fromAddress(address)
  }

  /** Handles one sealed payload posted to this pod's inbox from `address` (admitted by `fromAddress`). */
  async receive(jwe: string, address: string): Promise<InboxAnswer> {
    const opened = await open(jwe, this.identity, (kid) => this.senderKey(kid), this.now())
    if (!opened.ok) return opened
    const { messages } = opened.value.payload
    const { answer, results } = await this.handle(opened.value, address)
    const refused = answer.ok ? 'duplicate' : outcomeLabel(answer.error.code)
    messages.forEach((m, i) => {
      const result = results?.[i] as { ok?: boolean; error?: unknown } | undefined
      this.counted(isKnownType(m.type) ? m.type : 'unknown', !results ? refused : result?.ok === false ? outcomeLabel(result.error) : 'applied')
    })
    return answer
  }

  /** The inbox's answer to an opened payload, and the results of its messages if they were applied. */
  private async handle(opened: Opened, address: string): Promise<{ answer: InboxAnswer; results?: unknown[] }> {
    const p = opened.payload
    const sender = p.from.fingerprint
    for (const [i, m] of p.messages.entries()) {
      const problem = messageProblem(m)
      if (problem) return { answer: failure('invalid', 'invalid_message', `message ${i}: ${problem}`) }
    }
    const toProve = p.messages.filter((m) => PROVEN.has(m.type))
    // One proof is one outbound fetch: a payload gets at most one.
    if (toProve.length > 1) return { answer: failure('invalid', 'too_many_proofs', 'a payload holds at most one friend.request or pod.moved') }
    // A resend is answered from the database, before anything costs a fetch.
    if (this.peers.isApplied(sender, p.jti)) return { answer: ok({ duplicate: true }) }
    const before = this.peers.get(sender)
    const refused = this.gate.admit(sender, before, p.messages, address)
    if (refused) return { answer: fail(refused) }
    const senderKey: JWK = opened.newcomerKey ?? before!.publicKey

    // The check that needs the network comes first, outside the transaction.
    const proofs = new Map<Message, PodInfo>()
    for (const m of toProve) {
      const url = (m.data as { url: string }).url
      const info = await this.prove(url)
      if (!info.ok || info.value.fingerprint !== sender)
        return { answer: failure('forbidden', 'url_unproven', `${url} does not serve this sender's key${info.ok ? '' : ` (${info.error})`}`) }
      proofs.set(m, info.value)
    }
    if (!before && !proofs.size) return { answer: failure('forbidden', 'not_a_friend', 'the sender is not a friend of this pod') }

    const now = this.now()
    const results = this.db.transaction(() => {
      if (!this.peers.markApplied(sender, p.jti, p.messages.length, now)) return undefined
      return p.messages.map((m) => this.apply(sender, m, proofs.get(m), address, now))
    }).immediate()
    if (!results) return { answer: ok({ duplicate: true }) }
    for (const l of this.listeners) l(sender, before)
    return { answer: ok({ jose: await this.transport.sealReply(sender, senderKey, p.jti, results) }), results }
  }

  private async senderKey(kid: string): Promise<Result<SenderKey | undefined>> {
    if (this.peers.blacklisted(kid)) return failure('forbidden', 'blacklisted', 'this pod refuses the sender (blacklisted)')
    const f = this.peers.get(kid)
    return ok(f ? { verifyKey: (await this.transport.keysOf(kid, f.publicKey)).verifyKey } : undefined)
  }

  /** Applies one (validated) message; returns its result. */
  private apply(sender: string, m: Message, proof: PodInfo | undefined, address: string, now: number): unknown {
    // Newer pods may send types this one does not know: say so, apply the rest.
    const handler = isKnownType(m.type) ? this.handlers.get(m.type) : undefined
    if (!handler) return { ok: false, error: 'unknown_type' }
    // Per message: a batch may hold a friend.request or friend.quit before it.
    const friend = this.peers.get(sender)
    if (!friend && !handler.fromStrangers) return { ok: false, error: 'not_a_friend' }
    return handler.apply(m.data, { sender, address, friend, proof, now })
  }
}
