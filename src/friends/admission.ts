/**
 * Who may befriend this pod, and how much any pod may send it (config `friends.*`): the
 * inbox's gate (src/federation/inbox.ts). A pod on the open internet is asked by anyone who
 * can present a key and a URL, so even in the default `open` mode friendship is bounded:
 * friend requests per source address per hour, a cap on friends, payloads per minute per
 * friend and per address (429 with Retry-After, which a friend's outbox waits out without
 * losing score). In `approval` mode a proven request waits for an admin; in `closed` mode
 * there are no new friends.
 */
import type { Message } from '../federation/envelope'
import type { InboxGate, KnownPeer } from '../federation/inbox'
import type { Config } from '../shared/config'
import type { Err, Failure } from '../shared/errors'
import { RateLimiter } from '../shared/rate-limit'
import type { FriendStore } from './store'

/** Most requests kept waiting for an admin; past it, new ones are refused until some are handled. */
const MAX_PENDING = 1000

const limited = (d: Err<{ retryAfterSeconds: number }>, message: string): Failure => ({ kind: 'rate_limited', code: 'rate_limited', message, extra: { retryAfter: d.error.retryAfterSeconds } })

/** The admission rules of one pod. */
export class Admission implements InboxGate {
  private readonly perAddress: RateLimiter
  private readonly perFriend: RateLimiter
  private readonly requests: RateLimiter

  constructor(
    private readonly config: Config['friends'],
    private readonly store: FriendStore,
    now: () => number = Date.now,
  ) {
    this.perAddress = new RateLimiter(config.messagesPerMinutePerAddress, 60_000, now)
    this.perFriend = new RateLimiter(config.messagesPerMinute, 60_000, now)
    this.requests = new RateLimiter(config.requestsPerHour, 3600_000, now)
  }

  fromAddress(address: string): Failure | undefined {
    const d = this.perAddress.take(address)
    return d.ok ? undefined : limited(d, `too many messages from ${address}; try again in ${d.error.retryAfterSeconds} s`)
  }

  admit(sender: string, friend: KnownPeer | undefined, messages: readonly Message[], address: string): Failure | undefined {
    if (friend) {
      const d = this.perFriend.take(sender)
      return d.ok ? undefined : limited(d, `too many messages from this friend; try again in ${d.error.retryAfterSeconds} s`)
    }
    // A stranger: the envelope lets it send only a friend.request.
    if (!messages.some((m) => m.type === 'friend.request')) return undefined
    if (this.config.admission === 'closed') return { kind: 'forbidden', code: 'admission_closed', message: 'this pod takes no new friends' }
    const d = this.requests.take(address)
    if (!d.ok) return limited(d, `too many friend requests from ${address}; try again in ${d.error.retryAfterSeconds} s`)
    if (this.store.count() >= this.config.maxFriends) return { kind: 'forbidden', code: 'too_many_friends', message: `this pod has as many friends as it keeps (${this.config.maxFriends})` }
    if (this.config.admission === 'approval' && !this.store.request(sender) && this.store.requestCount() >= MAX_PENDING)
      return { kind: 'rate_limited', code: 'too_many_requests', message: 'too many friend requests wait for this pod\'s admin; try again later', extra: { retryAfter: 3600 } }
    return undefined
  }

  /** Whether a proven friend request waits for an admin instead of making a friend. */
  get needsApproval(): boolean {
    return this.config.admission === 'approval'
  }
}
