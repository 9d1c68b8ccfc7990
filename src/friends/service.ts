/**
 * Friendships: the friend actors' effects (deliveries from the outbox, revocation), the
 * protocol's friendship messages (`friend.request`, `friend.quit`, `pod.moved`), quitting,
 * and what other features use to reach friends (enqueue, broadcast, ask). Making friends is
 * in making.ts. The friend actors decide when to deliver and how to score; this service
 * does the I/O they ask for and tells them, through the pod actor, what changed.
 */
import type { Database } from 'bun:sqlite'
import type { DeliveryOutcome, FriendRecord } from '../../actors/friend'
import type { Chore } from '../../actors/housekeeper'
import type { PodEvents } from '../../actors/pod'
import { MAX_CLOCK_SKEW_SECONDS, type Message } from '../federation/envelope'
import type { Inbox, KnownPeer } from '../federation/inbox'
import type { Transport } from '../federation/transport'
import type { Config } from '../shared/config'
import { fail, ok, type Result } from '../shared/errors'
import type { Logger } from '../shared/log'
import type { VideoStore } from '../videos/store'
import type { Admission } from './admission'
import type { Friend, FriendRequest, FriendStore } from './store'

/** What changed in the friendships or the index, for features that follow them. */
export type FriendsChange = { type: 'applied'; sender: string } | { type: 'removed'; fingerprint: string }

/** Telling a friend goodbye is best effort: a dead friend must not hold up a quit. */
const GOODBYE_TIMEOUT_MS = 5_000
/** How long a question to a friend (`ask`) may take by default. */
const ASK_TIMEOUT_MS = 10_000
/**
 * How long applied message ids are remembered to catch resends: twice the envelope's clock
 * window (a payload older than that is refused as stale anyway, unless resent with a new
 * `iat`; the message types are idempotent but for view counts, see docs/protocol.md).
 */
export const APPLIED_TTL_MS = 2 * MAX_CLOCK_SKEW_SECONDS * 1000

/** What the friendships are built from. */
export interface FriendsDeps {
  db: Database
  config: Config
  fingerprint: string
  log: Logger
  store: FriendStore
  /** The videos' tables: a friend's videos come and go with it. */
  videoRows: VideoStore
  admission: Admission
  transport: Transport
  inbox: Inbox
  actors: PodEvents
  now?: () => number
}

/** Friendships of one pod. */
export class Friends {
  private readonly listeners: ((change: FriendsChange) => void)[] = []

  private readonly db: Database
  private readonly config: Config
  private readonly fingerprint: string
  private readonly log: Logger
  readonly store: FriendStore
  private readonly videoRows: VideoStore
  private readonly admission: Admission
  readonly transport: Transport
  private readonly actors: PodEvents
  private readonly now: () => number

  constructor(deps: FriendsDeps) {
    ;({
      db: this.db, config: this.config, fingerprint: this.fingerprint, log: this.log, store: this.store, videoRows: this.videoRows,
      admission: this.admission, transport: this.transport, actors: this.actors, now: this.now = Date.now,
    } = deps)
    const { inbox } = deps
    this.pruneApplied()
    inbox.on(
      'friend.request',
      (_data, { sender, friend, proof, address, now }) => {
        const info = proof!
        // A pod this pod asked (and which made us wait for its admin) is expected, not a stranger.
        const expected = this.store.setting(`asked:${sender}`) !== undefined
        if (!friend && this.admission.needsApproval && !expected) {
          this.store.addRequest({ fingerprint: sender, url: info.url, name: info.name, publicKey: info.publicKey, address }, now)
          this.log.info('friend.request.pending', { friend: info.url, fingerprint: sender })
          return { ok: false, error: 'pending' }
        }
        this.store.upsert({ fingerprint: sender, url: info.url, publicKey: info.publicKey, name: info.name }, this.config.score.initial, now)
        if (expected) this.store.removeSetting(`asked:${sender}`)
        return { ok: true, videos: this.videoRows.videosOf(this.fingerprint) }
      },
      { fromStrangers: true },
    )
    inbox.on('friend.quit', (_data, { sender }) => {
      this.videoRows.removeAllOf(sender)
      this.store.remove(sender)
      return { ok: true }
    })
    inbox.on('pod.moved', (_data, { sender, friend, proof, now }) => {
      this.store.setUrl(sender, proof!.url, now)
      this.videoRows.movePod(sender, proof!.url)
      this.log.info('friend.moved', { fingerprint: sender, from: friend!.url, to: proof!.url })
      return { ok: true }
    })
    inbox.onApplied((sender, before) => this.follow(sender, before))
  }

  /** The housekeeper's chores: forgetting old applied message ids. */
  chores(): Chore[] {
    return [{ name: 'applied-messages', everyMs: 60_000, run: () => this.pruneApplied() }]
  }

  /** Forgets applied message ids older than APPLIED_TTL_MS (at start, and by the housekeeper). */
  pruneApplied(): void {
    this.store.pruneApplied(this.now() - APPLIED_TTL_MS)
  }

  /** Every friend, oldest first, with what waits in its outbox. */
  all(): Friend[] {
    return this.store.all()
  }

  /** Whether a pod is a friend. */
  isFriend(fingerprint: string): boolean {
    return this.store.get(fingerprint) !== undefined
  }

  /**
   * A friend's score over time, oldest first (the admin page's chart): its current score
   * alone if it never changed; undefined for a stranger.
   */
  scoreHistory(fingerprint: string): { at: number; score: number }[] | undefined {
    const friend = this.store.get(fingerprint)
    if (!friend) return undefined
    const points = this.store.scoreHistory(fingerprint)
    return points.length ? points : [{ at: friend.createdAt, score: friend.score }]
  }

  /** Friend requests waiting for an admin (friends.admission = "approval"), oldest first. */
  requests(): (FriendRequest & { createdAt: number })[] {
    return this.store.requests()
  }

  /** Refuses a waiting friend request; false when there is none from that pod. */
  refuseRequest(fingerprint: string): boolean {
    if (!this.store.removeRequest(fingerprint)) return false
    this.log.info('friend.request.refused', { fingerprint })
    return true
  }

  /** The blacklisted pods, oldest first. */
  blacklist(): ReturnType<FriendStore['blacklistEntries']> {
    return this.store.blacklistEntries()
  }

  /** Lifts a pod's blacklisting; false when it is not blacklisted. */
  unblacklist(fingerprint: string): boolean {
    if (!this.store.unblacklist(fingerprint)) return false
    this.log.info('blacklist.lifted', { fingerprint })
    return true
  }

  /** The stored friends and their durable records, for the pod actor's start. */
  storedFriends(): { fingerprint: string; record: FriendRecord }[] {
    return this.store.all().map((f) => ({ fingerprint: f.fingerprint, record: f }))
  }

  /** Calls `listener` after each applied inbox message and each ended friendship. */
  onChange(listener: (change: FriendsChange) => void): void {
    this.listeners.push(listener)
  }

  private changed(change: FriendsChange): void {
    for (const l of this.listeners) l(change)
  }

  /**
   * After an applied payload, the actors follow the database: a new friend gets one (and
   * our videos), a leaving one loses it, one that moved or is evidently up is tried now.
   */
  private follow(sender: string, before: KnownPeer | undefined): void {
    const after = this.store.get(sender)
    if (after && !before) {
      // Added by its friend.request: our videos went back in the reply (above), not again by the outbox.
      this.welcome(after, false)
      this.log.info('friend.added', { friend: after.url, fingerprint: sender, by: 'request' })
    } else if (!after && before) {
      this.ended(sender)
      this.log.info('friend.quit', { friend: before.url, fingerprint: sender })
    } else if (after && before && (after.url !== before.url || after.state !== 'active')) {
      this.retryNow(sender)
    }
    this.changed({ type: 'applied', sender })
  }

  /** A pod that friend making added (`isNew`) or refreshed: a new one is welcomed; followers hear of it. */
  befriended(friend: Friend, isNew: boolean): void {
    if (isNew) this.welcome(friend)
    this.changed({ type: 'applied', sender: friend.fingerprint })
  }

  /** A new friend: its actor starts, and it is sent every video of this pod (unless it has them already). */
  private welcome(friend: Friend, sendVideos = true): void {
    this.actors.send({ type: 'pod.friend.start', fingerprint: friend.fingerprint, record: friend })
    if (sendVideos) this.broadcast(this.videoRows.videosOf(this.fingerprint).map((v) => ({ type: 'video.add', data: v })), [friend.fingerprint])
  }

  /** A friendship ended (rows already gone): its actor stops, its key is forgotten. */
  private ended(fingerprint: string): void {
    this.actors.send({ type: 'pod.friend.stop', fingerprint })
    this.transport.forget(fingerprint)
    this.changed({ type: 'removed', fingerprint })
  }

  /**
   * Sends one message straight to a friend, outside the outbox, and returns the result the
   * friend gave for it: for questions that need an answer now (a video's details), not for
   * changes that must arrive eventually.
   */
  async ask(fingerprint: string, message: Message, timeoutMs = ASK_TIMEOUT_MS): Promise<Result<unknown, string>> {
    const f = this.store.get(fingerprint)
    if (!f) return fail('not a friend')
    const r = await this.transport.post(f, this.transport.payload(fingerprint, crypto.randomUUID(), [message]), timeoutMs)
    if (!r.ok) return fail(r.error.message)
    return ok(r.value.reply?.results[0])
  }

  /** Asks a friend's actor to deliver now instead of waiting out its backoff; false for a stranger. */
  retryNow(fingerprint: string): boolean {
    if (!this.store.get(fingerprint)) return false
    this.actors.send({ type: 'pod.friend.tell', fingerprint, event: { type: 'friend.retry.now' } })
    return true
  }

  /** Queues messages for friends (inside the caller's transaction, if any); returns who got them. */
  enqueue(messages: Message[], to: string[] | 'all' = 'all'): string[] {
    return messages.length ? this.store.enqueue(to, messages, this.now()) : []
  }

  /** Counts one view of a friend's video at its origin (through the outbox, aggregated per video). */
  addView(origin: string, video: string): void {
    if (this.store.addViews(origin, video, 1, this.now())) this.wake([origin])
  }

  /** Wakes the actors of the given friends (default: all) to deliver what is queued. */
  wake(fingerprints: string[] = this.store.all().map((f) => f.fingerprint)): void {
    for (const fingerprint of fingerprints) this.actors.send({ type: 'pod.friend.tell', fingerprint, event: { type: 'friend.outbox.updated' } })
  }

  /** Queues messages for friends and wakes their actors. */
  broadcast(messages: Message[], to: string[] | 'all' = 'all'): void {
    this.wake(this.enqueue(messages, to))
  }

  // --- the friend actors' effects ---------------------------------------------------------

  /** Sends the next batch of a friend's outbox. */
  async deliver(fingerprint: string): Promise<DeliveryOutcome> {
    const f = this.store.get(fingerprint)
    if (!f) return { kind: 'empty' }
    const batch = this.store.takeBatch(fingerprint, { messages: this.config.delivery.batchMessages, bytes: Math.floor(this.config.maxMessageBytes / 2.5) })
    if (!batch) return { kind: 'empty' }
    const r = await this.transport.post(f, this.transport.payload(fingerprint, batch.jti, batch.messages))
    if (!r.ok) {
      const { message: error, throttledMs, incompatible } = r.error
      this.log.warn('friend.delivery.failed', { friend: f.url, fingerprint, messages: batch.messages.length, error })
      if (throttledMs !== undefined) return { kind: 'throttled', retryInMs: throttledMs, error }
      return incompatible ? { kind: 'incompatible', error } : { kind: 'failed', error }
    }
    this.store.completeBatch(fingerprint, batch.jti)
    this.log.debug('friend.delivery.succeeded', { friend: f.url, messages: batch.messages.length, duplicate: r.value.duplicate ?? false })
    return { kind: 'delivered', count: batch.messages.length }
  }

  /** Ends a friendship whose score reached 0. */
  revoke(fingerprint: string, reason: string): void {
    const f = this.store.get(fingerprint)
    if (!f) return
    this.db.transaction(() => {
      this.store.remove(fingerprint)
      this.videoRows.removeAllOf(fingerprint)
      if (this.config.blacklistRevoked) this.store.blacklist(fingerprint, f.url, reason, this.now())
    }).immediate()
    // The actor that asked is ending by itself (final state).
    this.transport.forget(fingerprint)
    this.changed({ type: 'removed', fingerprint })
    this.log.warn('friend.revoked', { friend: f.url, fingerprint, reason, blacklisted: this.config.blacklistRevoked })
  }

  // --- ending friendships ---------------------------------------------------------------------

  /** Ends one friendship: tells the friend (best effort), forgets it and its videos. */
  async unfriend(fingerprint: string): Promise<{ told: boolean } | undefined> {
    const f = this.store.get(fingerprint)
    if (!f) return undefined
    this.actors.send({ type: 'pod.friend.stop', fingerprint })
    const r = await this.transport
      .post(f, this.transport.payload(fingerprint, crypto.randomUUID(), [{ type: 'friend.quit', data: {} }]), GOODBYE_TIMEOUT_MS)
      .catch((e: Error) => fail({ message: e.message }))
    this.db.transaction(() => {
      this.videoRows.removeAllOf(fingerprint)
      this.store.remove(fingerprint)
    }).immediate()
    this.ended(fingerprint)
    this.log.info('friend.removed', { friend: f.url, fingerprint, told: r.ok })
    return { told: r.ok }
  }

  /** Leaves the network: tells every friend, forgets them and their videos. */
  async quit(): Promise<{ url: string; fingerprint: string; told: boolean }[]> {
    const all = this.store.all()
    return Promise.all(all.map(async (f) => ({ url: f.url, fingerprint: f.fingerprint, told: (await this.unfriend(f.fingerprint))?.told ?? false })))
  }
}
