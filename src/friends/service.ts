/**
 * Friendships: making friends, the inbox, deliveries from the outbox, quitting and
 * revocation. The friend actors decide when to deliver and how to score; this service does
 * the I/O they ask for (it implements their ports) and the inbox side of the protocol.
 */
import type { Database } from 'bun:sqlite'
import type { JWK } from 'jose'
import type { DeliveryOutcome, FriendPorts } from '../../actors/friend'
import { tellFriend, type PodActor } from '../../actors/pod'
import { retryDelay } from '../../actors/retry'
import type { Config } from '../shared/config'
import { CURRENT_VERSION, open, openReply, seal, type Message, type Payload, type Refusal, type ReplyPayload } from '../federation/envelope'
import { fingerprintOf, importPeerKey, type Identity } from '../identity/keys'
import type { Logger } from '../shared/log'
import { isVideo, movePod, removeVideo, removeVideosOf, upsertVideo, videosOf, type Video } from '../videos/model'
import { saveRenditions } from '../videos/renditions'
import { chooseFriends, type ListedPod } from './choose'
import { FriendStore, type Friend } from './store'

/** What `GET {url}/api/v1/pod` tells about a pod, checked. */
export interface PodInfo {
  url: string
  name: string
  fingerprint: string
  publicKey: JWK
}

/** The answer the inbox gives: a sealed reply, or a JSON body (errors, duplicates). */
export type InboxAnswer = { status: 200; jose: string } | { status: number; json: unknown }

/**
 * Applies a message type beyond the core protocol (details, mirrors, ...). It runs inside the
 * inbox transaction, so it must be synchronous; its return value is the message's result.
 */
export type MessageHandler = (sender: Friend, data: unknown, now: number) => unknown

/** What changed in the friendships or the index, for services that follow them. */
export type FriendsChange = { type: 'applied'; sender: string } | { type: 'removed'; fingerprint: string }

/** What friend making did for one pod. */
export interface FriendingResult {
  url: string
  fingerprint?: string
  status: 'added' | 'refreshed' | 'failed' | 'skipped'
  videos?: number
  error?: string
}

const FETCH_TIMEOUT_MS = 10_000
const DELIVERY_TIMEOUT_MS = 30_000
/** Telling a friend goodbye is best effort: a dead friend must not hold up a quit. */
const GOODBYE_TIMEOUT_MS = 5_000
/** How long applied message ids are remembered to catch resends. */
const APPLIED_TTL_MS = 30 * 24 * 3600 * 1000

interface PeerKeys {
  jwk: string
  verifyKey: CryptoKey
  encryptKey: CryptoKey
}

/** Friendships of one pod. */
export class Friends {
  readonly store: FriendStore
  /** The ports the friend actors run on. */
  readonly ports: FriendPorts
  private readonly keys = new Map<string, PeerKeys>()
  private readonly handlers = new Map<string, MessageHandler>()
  private readonly listeners: ((change: FriendsChange) => void)[] = []
  private actors?: PodActor

  constructor(
    private readonly db: Database,
    private readonly config: Config,
    private readonly identity: Identity,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.store = new FriendStore(db)
    this.ports = {
      deliver: (fp) => this.deliver(fp),
      hasQueued: (fp) => this.store.hasQueued(fp),
      persist: (fp, record) => this.store.saveRecord(fp, record, this.now()),
      revoke: (fp, reason) => this.revoke(fp, reason),
      now: () => this.now(),
      retry: config.retry,
      score: config.score,
      // An incompatible friend is asked again after the policy's longest wait: it may have upgraded.
      incompatibleRecheckMs: retryDelay(config.retry, config.retry.retries) ?? config.retry.baseMs,
    }
  }

  /** This pod as `from` of its messages. */
  private get me() {
    return { url: this.config.url, fingerprint: this.identity.fingerprint }
  }

  // --- the actors' side ------------------------------------------------------------------

  /** Starts an actor for every stored friend (at start: scores, outboxes and retry times come from the database). */
  attach(actors: PodActor): void {
    this.actors = actors
    this.store.pruneApplied(this.now() - APPLIED_TTL_MS)
    for (const f of this.store.all()) this.startActor(f)
  }

  private startActor(f: Friend): void {
    this.actors?.send({ type: 'pod.friend.start', fingerprint: f.fingerprint, record: f })
  }

  private stopActor(fingerprint: string): void {
    this.actors?.send({ type: 'pod.friend.stop', fingerprint })
  }

  private async peerKeys(fingerprint: string, jwk: JWK): Promise<PeerKeys> {
    const text = JSON.stringify(jwk)
    const cached = this.keys.get(fingerprint)
    if (cached && cached.jwk === text) return cached
    const keys = { jwk: text, ...(await importPeerKey(jwk)) }
    this.keys.set(fingerprint, keys)
    return keys
  }

  /** Calls `listener` after each applied inbox message and each ended friendship. */
  onChange(listener: (change: FriendsChange) => void): void {
    this.listeners.push(listener)
  }

  private changed(change: FriendsChange): void {
    for (const l of this.listeners) l(change)
  }

  /** Registers the handler of an extension message type (see MessageHandler). */
  handle(type: string, handler: MessageHandler): void {
    this.handlers.set(type, handler)
  }

  /**
   * Sends one message straight to a friend, outside the outbox, and returns the result the
   * friend gave for it: for questions that need an answer now (a video's details), not for
   * changes that must arrive eventually.
   */
  async ask(fingerprint: string, message: Message, timeoutMs = FETCH_TIMEOUT_MS): Promise<{ ok: true; result: unknown } | { ok: false; error: string }> {
    const f = this.store.get(fingerprint)
    if (!f) return { ok: false, error: 'not a friend' }
    const r = await this.post(f, this.payload(fingerprint, crypto.randomUUID(), [message]), timeoutMs)
    if (!r.ok) return { ok: false, error: r.error }
    return { ok: true, result: r.reply?.results[0] }
  }

  /** Asks a friend's actor to deliver now instead of waiting out its backoff. */
  retryNow(fingerprint: string): boolean {
    return this.actors !== undefined && tellFriend(this.actors, fingerprint, { type: 'friend.retry.now' })
  }

  /** Queues messages for friends (inside the caller's transaction, if any); returns who got them. */
  enqueue(messages: Message[], to: string[] | 'all' = 'all'): string[] {
    return messages.length ? this.store.enqueue(to, messages, this.now()) : []
  }

  /** Wakes the actors of the given friends (default: all) to deliver what is queued. */
  wake(fingerprints: string[] = this.store.all().map((f) => f.fingerprint)): void {
    if (!this.actors) return
    for (const fp of fingerprints) tellFriend(this.actors, fp, { type: 'friend.outbox.updated' })
  }

  /** Queues messages for friends and wakes their actors. */
  broadcast(messages: Message[], to: string[] | 'all' = 'all'): void {
    this.wake(this.enqueue(messages, to))
  }

  private payload(to: string, jti: string, messages: Message[]): Payload {
    return { v: CURRENT_VERSION, from: this.me, to, iat: Math.floor(this.now() / 1000), jti, messages }
  }

  /** Sends one sealed payload to a pod's inbox and opens its reply. */
  private async post(
    peer: { url: string; fingerprint: string; publicKey: JWK },
    payload: Payload,
    timeoutMs = DELIVERY_TIMEOUT_MS,
  ): Promise<{ ok: true; reply?: ReplyPayload; duplicate?: boolean } | { ok: false; incompatible?: boolean; error: string }> {
    const keys = await this.peerKeys(peer.fingerprint, peer.publicKey)
    const jwe = await seal(payload, this.identity, { fingerprint: peer.fingerprint, encryptKey: keys.encryptKey })
    let res: Response
    try {
      res = await fetch(`${peer.url}/api/v1/pod/inbox`, {
        method: 'POST',
        headers: { 'content-type': 'application/jose', accept: 'application/jose, application/json' },
        body: jwe,
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

  /** Port: sends the next batch of a friend's outbox. */
  private async deliver(fingerprint: string): Promise<DeliveryOutcome> {
    const f = this.store.get(fingerprint)
    if (!f) return { kind: 'empty' }
    const batch = this.store.takeBatch(fingerprint, { messages: this.config.delivery.batchMessages, bytes: Math.floor(this.config.maxMessageBytes / 2.5) })
    if (!batch) return { kind: 'empty' }
    const r = await this.post(f, this.payload(fingerprint, batch.jti, batch.messages))
    if (!r.ok) {
      this.log.warn('friend.delivery.failed', { friend: f.url, fingerprint, messages: batch.messages.length, error: r.error })
      return r.incompatible ? { kind: 'incompatible', error: r.error } : { kind: 'failed', error: r.error }
    }
    this.store.completeBatch(fingerprint, batch.jti)
    this.log.debug('friend.delivery.succeeded', { friend: f.url, messages: batch.messages.length, duplicate: r.duplicate ?? false })
    return { kind: 'delivered', count: batch.messages.length }
  }

  /** Port: ends a friendship whose score reached 0. */
  private revoke(fingerprint: string, reason: string): void {
    const f = this.store.get(fingerprint)
    if (!f) return
    this.db.transaction(() => {
      this.store.remove(fingerprint)
      removeVideosOf(this.db, fingerprint)
      if (this.config.blacklistRevoked) this.store.blacklist(fingerprint, f.url, reason, this.now())
    }).immediate()
    this.keys.delete(fingerprint)
    this.changed({ type: 'removed', fingerprint })
    this.log.warn('friend.revoked', { friend: f.url, fingerprint, reason, blacklisted: this.config.blacklistRevoked })
  }

  // --- the inbox -----------------------------------------------------------------------

  /** Handles one sealed payload posted to this pod's inbox. */
  async receive(jwe: string): Promise<InboxAnswer> {
    const opened = await open(jwe, this.identity, (kid) => this.senderKey(kid), this.now())
    if (!opened.ok) return refusal(opened)
    const p = opened.payload
    const sender = p.from.fingerprint
    const friend = this.store.get(sender)
    const senderKey = opened.newcomerKey ?? friend!.publicKey

    // Checks that need the network come first, outside the transaction.
    const proofs = new Map<Message, PodInfo>()
    for (const m of p.messages) {
      if (m.type !== 'friend.request' && m.type !== 'pod.moved') continue
      const url = (m.data as { url?: unknown })?.url
      const info = typeof url === 'string' ? await this.fetchPodInfo(url).catch((e: Error) => e) : new Error('data.url is missing')
      if (info instanceof Error || info.fingerprint !== sender)
        return refusal({
          ok: false,
          status: 403,
          code: 'url_unproven',
          message: `${String(url)} does not serve this sender's key${info instanceof Error ? ` (${info.message})` : ''}`,
        })
      proofs.set(m, info)
    }
    if (!friend && !proofs.size) return refusal({ ok: false, status: 403, code: 'not_a_friend', message: 'the sender is not a friend of this pod' })

    const now = this.now()
    const results = this.db.transaction(() => {
      if (!this.store.markApplied(sender, p.jti, p.messages.length, now)) return undefined
      return p.messages.map((m) => this.apply(sender, m, proofs.get(m), now))
    }).immediate()
    if (!results) return { status: 200, json: { ok: true, duplicate: true } }

    // Actors follow the database: a new friend gets one (and our videos), a leaving one loses it.
    const after = this.store.get(sender)
    if (after && !friend) {
      this.startActor(after)
      this.broadcast(videosOf(this.db, this.identity.fingerprint).map((v) => ({ type: 'video.add', data: v })), [sender])
      this.log.info('friend.added', { friend: after.url, fingerprint: sender, by: 'request' })
    } else if (!after && friend) {
      this.stopActor(sender)
      this.changed({ type: 'removed', fingerprint: sender })
      this.log.info('friend.quit', { friend: friend.url, fingerprint: sender })
    } else if (after && friend && (after.url !== friend.url || after.state !== 'active')) {
      // It moved, or it is evidently up again: deliver now instead of waiting out a backoff.
      if (this.actors) tellFriend(this.actors, sender, { type: 'friend.retry.now' })
    }
    this.changed({ type: 'applied', sender })

    const keys = await this.peerKeys(sender, senderKey)
    const reply: ReplyPayload = {
      v: CURRENT_VERSION,
      from: this.me,
      to: sender,
      iat: Math.floor(this.now() / 1000),
      jti: crypto.randomUUID(),
      inReplyTo: p.jti,
      ok: true,
      results,
    }
    return { status: 200, jose: await seal(reply, this.identity, { fingerprint: sender, encryptKey: keys.encryptKey }) }
  }

  private async senderKey(kid: string) {
    if (this.store.blacklisted(kid)) return { ok: false, status: 403, code: 'blacklisted', message: 'this pod refuses the sender (blacklisted)' } as Refusal
    const f = this.store.get(kid)
    return f ? { verifyKey: (await this.peerKeys(kid, f.publicKey)).verifyKey } : undefined
  }

  /** Applies one message inside the inbox transaction; returns its result. */
  private apply(sender: string, m: Message, proof: PodInfo | undefined, now: number): unknown {
    // Per message (a batch may hold a friend.request or friend.quit before it), but cheap.
    const friendUrl = () => this.store.urlOf(sender)
    switch (m.type) {
      case 'friend.request': {
        const info = proof!
        this.store.upsert({ fingerprint: sender, url: info.url, publicKey: info.publicKey, name: info.name }, this.config.score.initial, now)
        return { ok: true, videos: videosOf(this.db, this.identity.fingerprint) }
      }
      case 'friend.quit': {
        removeVideosOf(this.db, sender)
        this.store.remove(sender)
        return { ok: true }
      }
      case 'pod.moved': {
        const old = this.store.get(sender)
        if (!old) return { ok: false, error: 'not_a_friend' }
        this.store.setUrl(sender, proof!.url, now)
        movePod(this.db, sender, proof!.url)
        this.log.info('friend.moved', { fingerprint: sender, from: old.url, to: proof!.url })
        return { ok: true }
      }
      case 'video.add':
      case 'video.update': {
        const url = friendUrl()
        if (!url) return { ok: false, error: 'not_a_friend' }
        if (!isVideo(m.data)) return { ok: false, error: 'invalid_video' }
        if (m.data.podFingerprint !== sender) return { ok: false, error: 'not_origin' }
        const ok = upsertVideo(this.db, m.data, url, now)
        if (ok && m.data.files) saveRenditions(this.db, m.data.id, m.data.files)
        return { ok }
      }
      case 'video.remove': {
        const id = (m.data as { id?: unknown })?.id
        if (typeof id !== 'string') return { ok: false, error: 'invalid_id' }
        return { ok: removeVideo(this.db, id, sender) }
      }
      default: {
        const handler = this.handlers.get(m.type)
        const friend = this.store.get(sender)
        if (handler && friend) return handler(friend, m.data, now)
        // Newer pods may send types this one does not know: say so, apply the rest.
        return { ok: false, error: handler ? 'not_a_friend' : 'unknown_type' }
      }
    }
  }

  // --- making friends, quitting ------------------------------------------------------------

  /** Fetches and checks `GET {url}/api/v1/pod`: the key's thumbprint must be the fingerprint. */
  async fetchPodInfo(url: string): Promise<PodInfo> {
    // A pod URL comes from other pods: only plain http(s) origins are fetched (no file:, no credentials).
    const parsed = URL.parse(url)
    if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') || parsed.username || parsed.password || parsed.search || parsed.hash)
      throw new Error(`${url} is not an http(s) pod URL`)
    const res = await fetch(`${url.replace(/\/+$/, '')}/api/v1/pod`, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS), redirect: 'error' })
    if (!res.ok) throw new Error(`GET ${url}/api/v1/pod answered ${res.status}`)
    const body = (await res.json()) as Partial<PodInfo>
    if (typeof body.fingerprint !== 'string' || !body.publicKey || typeof body.url !== 'string') throw new Error(`${url} is not a seedpod`)
    if ((await fingerprintOf(body.publicKey)) !== body.fingerprint) throw new Error(`${url} announces a fingerprint that is not its key's`)
    return { url: body.url.replace(/\/+$/, ''), name: typeof body.name === 'string' ? body.name : '', fingerprint: body.fingerprint, publicKey: body.publicKey }
  }

  private async fetchFriendList(url: string): Promise<ListedPod[]> {
    const res = await fetch(`${url}/api/v1/pod/friends`, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) })
    if (!res.ok) throw new Error(`GET ${url}/api/v1/pod/friends answered ${res.status}`)
    const body = (await res.json()) as { friends?: unknown }
    if (!Array.isArray(body.friends)) throw new Error(`${url} gave no friend list`)
    return body.friends.filter((f): f is ListedPod => typeof f?.url === 'string' && typeof f?.fingerprint === 'string')
  }

  /**
   * Friend making (PROTOCOL.md): asks each pod for its friends, then befriends every asked
   * pod that answered and every pod named in at least half of the lists, never itself.
   */
  async makeFriends(urls: readonly string[]): Promise<FriendingResult[]> {
    const asked = [...new Set(urls.map((u) => u.replace(/\/+$/, '')))]
    const answers = await Promise.all(
      asked.map(async (url) => {
        try {
          const [info, list] = await Promise.all([this.fetchPodInfo(url), this.fetchFriendList(url)])
          return { url, info, list }
        } catch (e) {
          return { url, error: (e as Error).message }
        }
      }),
    )
    const results: FriendingResult[] = []
    const answered: { info: PodInfo; list: ListedPod[] }[] = []
    for (const a of answers) {
      if ('info' in a && a.info && a.list) answered.push({ info: a.info, list: a.list })
      else results.push({ url: a.url, status: 'failed', error: a.error })
    }
    const chosen = chooseFriends(
      answered.map((a) => ({ url: a.info.url, fingerprint: a.info.fingerprint })),
      answered.map((a) => a.list),
      this.identity.fingerprint,
    )
    const known = new Map(answered.map((a) => [a.info.fingerprint, a.info]))
    results.push(...(await Promise.all(chosen.map((c) => this.befriend(c, known.get(c.fingerprint))))))
    this.log.info('friends.made', { asked: asked.length, added: results.filter((r) => r.status === 'added').length, failed: results.filter((r) => r.status === 'failed').length })
    return results
  }

  /** Presents this pod to one pod with `friend.request` and stores the videos it returns. */
  private async befriend(target: ListedPod, known?: PodInfo): Promise<FriendingResult> {
    if (this.store.blacklisted(target.fingerprint)) return { url: target.url, fingerprint: target.fingerprint, status: 'skipped', error: 'blacklisted' }
    try {
      const info = known ?? (await this.fetchPodInfo(target.url))
      if (info.fingerprint !== target.fingerprint) throw new Error(`${target.url} now has another key than its friends list says`)
      const jti = crypto.randomUUID()
      const r = await this.post(info, this.payload(info.fingerprint, jti, [{ type: 'friend.request', data: { url: this.config.url, publicKey: this.identity.publicJwk, name: this.config.name } }]))
      if (!r.ok) throw new Error(r.error)
      const videos = ((r.reply?.results[0] as { videos?: unknown[] } | undefined)?.videos ?? []).filter(isVideo).filter((v: Video) => v.podFingerprint === info.fingerprint)
      const existed = this.store.get(info.fingerprint) !== undefined
      const now = this.now()
      this.db.transaction(() => {
        this.store.upsert(info, this.config.score.initial, now)
        for (const v of videos) if (upsertVideo(this.db, v, info.url, now) && v.files) saveRenditions(this.db, v.id, v.files)
      }).immediate()
      if (!existed) {
        this.startActor(this.store.get(info.fingerprint)!)
        this.broadcast(videosOf(this.db, this.identity.fingerprint).map((v) => ({ type: 'video.add', data: v })), [info.fingerprint])
      }
      this.changed({ type: 'applied', sender: info.fingerprint })
      this.log.info('friend.added', { friend: info.url, fingerprint: info.fingerprint, videos: videos.length, by: 'making' })
      return { url: info.url, fingerprint: info.fingerprint, status: existed ? 'refreshed' : 'added', videos: videos.length }
    } catch (e) {
      this.log.warn('friend.request.failed', { friend: target.url, error: (e as Error).message })
      return { url: target.url, fingerprint: target.fingerprint, status: 'failed', error: (e as Error).message }
    }
  }

  /** Ends one friendship: tells the friend (best effort), forgets it and its videos. */
  async unfriend(fingerprint: string): Promise<{ told: boolean } | undefined> {
    const f = this.store.get(fingerprint)
    if (!f) return undefined
    this.stopActor(fingerprint)
    const r = await this.post(f, this.payload(fingerprint, crypto.randomUUID(), [{ type: 'friend.quit', data: {} }]), GOODBYE_TIMEOUT_MS).catch((e: Error) => ({ ok: false, error: e.message }))
    this.db.transaction(() => {
      removeVideosOf(this.db, fingerprint)
      this.store.remove(fingerprint)
    }).immediate()
    this.keys.delete(fingerprint)
    this.changed({ type: 'removed', fingerprint })
    this.log.info('friend.removed', { friend: f.url, fingerprint, told: r.ok })
    return { told: r.ok }
  }

  /** Leaves the network: tells every friend, forgets them and their videos. */
  async quit(): Promise<{ url: string; fingerprint: string; told: boolean }[]> {
    const all = this.store.all()
    return Promise.all(all.map(async (f) => ({ url: f.url, fingerprint: f.fingerprint, told: (await this.unfriend(f.fingerprint))?.told ?? false })))
  }

  /**
   * At start: makes friends from the config the first time, and tells friends when this
   * pod's URL changed since the last start (`pod.moved`, delivered through the outbox).
   */
  async onStart(): Promise<void> {
    const lastUrl = this.store.setting('url')
    if (lastUrl && lastUrl !== this.config.url) {
      this.log.info('pod.moved', { from: lastUrl, to: this.config.url })
      movePod(this.db, this.identity.fingerprint, this.config.url)
      this.broadcast([{ type: 'pod.moved', data: { url: this.config.url } }])
    }
    this.store.setSetting('url', this.config.url)
    if (this.config.friends.length && !this.store.setting('friendsMadeAt')) {
      const results = await this.makeFriends(this.config.friends)
      // Pods that were all down are asked again at the next start.
      if (results.some((r) => r.status === 'added' || r.status === 'refreshed')) this.store.setSetting('friendsMadeAt', new Date(this.now()).toISOString())
    }
  }
}

/** A refusal as JSON; a 426 also says `supported` at the top level, as PROTOCOL.md words it. */
function refusal(r: Refusal): InboxAnswer {
  const supported = r.supported ? { supported: r.supported } : {}
  return { status: r.status, json: { error: { code: r.code, message: r.message, ...supported }, ...supported } }
}
