/**
 * The friend actor's schedule, scores and revocation, in simulated time: the full
 * 16-hour backoff of the default policy runs in milliseconds. (The network side of the
 * same actor runs for real in test/friends.test.ts.)
 */
import { describe, expect, test } from 'bun:test'
import { createActor, fromPromise, SimulatedClock } from 'xstate'
import { friendMachine, type DeliveryOutcome, type FriendRecord } from '../../actors/friend'
import { retryDelay } from '../../actors/retry'

const DEFAULTS = { retry: { baseMs: 2000, factor: 3, retries: 10 }, score: { step: 10, max: 1000 } }

/** A friend actor whose deliveries succeed while `up` is true; every call is recorded. */
function harness(opts: { record?: Partial<FriendRecord>; up?: boolean; incompatible?: boolean; throttleMs?: number; queued?: number; score?: { step: number; max: number } } = {}) {
  const clock = new SimulatedClock()
  const state = {
    up: opts.up ?? false,
    incompatible: opts.incompatible ?? false,
    throttleMs: opts.throttleMs ?? 0,
    queued: opts.queued ?? 1,
    attemptsAt: [] as number[],
    saved: [] as FriendRecord[],
    revoked: undefined as string | undefined,
  }
  // The machine's effects, provided as the pod provides its own (src/friends/actor.ts).
  const machine = friendMachine.provide({
    actors: {
      deliver: fromPromise<DeliveryOutcome, { fingerprint: string }>(async () => {
        state.attemptsAt.push(clock.now())
        if (!state.queued) return { kind: 'empty' }
        if (state.incompatible) return { kind: 'incompatible', error: 'speaks protocol [2]' }
        if (state.throttleMs) return { kind: 'throttled', retryInMs: state.throttleMs, error: 'asks to slow down (429)' }
        if (!state.up) return { kind: 'failed', error: 'connection refused' }
        state.queued = 0
        return { kind: 'delivered', count: 1 }
      }),
    },
    guards: { hasQueued: () => state.queued > 0 },
    actions: {
      save: (_, { record }) => void state.saved.push(record),
      revoke: (_, { reason }) => void (state.revoked = reason),
    },
  })
  const settings = { now: () => clock.now(), retry: DEFAULTS.retry, score: opts.score ?? DEFAULTS.score, incompatibleRecheckMs: 3600_000 }
  const record: FriendRecord = { score: 100, attempts: 0, nextRetryAt: null, lastError: null, state: 'active', ...opts.record }
  const actor = createActor(machine, { clock, input: { fingerprint: 'fp', record, settings } })
  actor.start()
  return { clock, state, actor, last: () => state.saved.at(-1)! }
}

/** Lets pending promise callbacks (the delivery actor) settle. */
const settle = () => new Promise((r) => setTimeout(r, 0))

describe('friend actor', () => {
  test('the default policy waits 2 s * 3^n between attempts: about 16 hours over 10 retries', () => {
    const delays = Array.from({ length: 10 }, (_, n) => retryDelay(DEFAULTS.retry, n)!)
    expect(delays[0]).toBe(2000)
    expect(delays[9]).toBe(2000 * 3 ** 9)
    const hours = delays.reduce((a, b) => a + b, 0) / 3600_000
    expect(hours).toBeGreaterThan(16)
    expect(hours).toBeLessThan(17)
  })

  test('a friend that stays down loses 10 per attempt on the backoff schedule and is revoked at 0', async () => {
    const h = harness({ record: { score: 100 } })
    await settle()
    for (let n = 0; n < 9; n++) {
      expect(h.last().state).toBe('backoff')
      expect(h.last().score).toBe(100 - 10 * (n + 1))
      const wait = retryDelay(DEFAULTS.retry, n)!
      expect(h.last().nextRetryAt).toBe(h.clock.now() + wait)
      // Not a millisecond early.
      h.clock.increment(wait - 1)
      await settle()
      expect(h.state.attemptsAt.length).toBe(n + 1)
      h.clock.increment(1)
      await settle()
      expect(h.state.attemptsAt.length).toBe(n + 2)
    }
    expect(h.state.revoked).toContain('score reached 0')
    expect(h.actor.getSnapshot().status).toBe('done')
    // Attempts happened at 0, 2 s, 8 s, 26 s ... (cumulative waits).
    expect(h.state.attemptsAt.slice(0, 4)).toEqual([0, 2000, 8000, 26000])
  })

  test('a friend back before 0 earns its score back, never past the max', async () => {
    const h = harness({ record: { score: 100 }, score: { step: 10, max: 110 } })
    await settle()
    h.clock.increment(2000)
    await settle()
    expect(h.last().score).toBe(80)
    h.state.up = true
    h.clock.increment(6000)
    await settle()
    expect(h.last()).toMatchObject({ state: 'active', score: 90, attempts: 0, nextRetryAt: null, lastError: null })
    for (let i = 0; i < 5; i++) {
      h.state.queued = 1
      h.actor.send({ type: 'friend.outbox.updated' })
      await settle()
    }
    expect(h.last().score).toBe(110)
    expect(h.state.revoked).toBeUndefined()
  })

  test('restored in backoff, it waits only what remains of nextRetryAt (timers are not restored from snapshots)', async () => {
    const clock0 = 5000
    const h = harness({ record: { score: 50, attempts: 3, state: 'backoff', nextRetryAt: clock0 } })
    await settle()
    expect(h.state.attemptsAt).toEqual([])
    h.clock.increment(clock0 - 1)
    await settle()
    expect(h.state.attemptsAt).toEqual([])
    h.clock.increment(1)
    await settle()
    expect(h.state.attemptsAt).toEqual([clock0])
    // The 4th failure waits base * 3^3.
    expect(h.last()).toMatchObject({ state: 'backoff', score: 40, attempts: 4, nextRetryAt: clock0 + 2000 * 27 })
  })

  test('an incompatible friend is not scored down and is asked again later', async () => {
    const h = harness({ record: { score: 100 }, incompatible: true })
    await settle()
    expect(h.last()).toMatchObject({ state: 'incompatible', score: 100, lastError: 'speaks protocol [2]' })
    h.clock.increment(3600_000 - 1)
    await settle()
    expect(h.state.attemptsAt.length).toBe(1)
    h.clock.increment(1)
    await settle()
    expect(h.state.attemptsAt.length).toBe(2)
    expect(h.last()).toMatchObject({ state: 'incompatible', score: 100 })
    // It upgraded: the next check delivers and scores.
    h.state.incompatible = false
    h.state.up = true
    h.clock.increment(3600_000)
    await settle()
    expect(h.last()).toMatchObject({ state: 'active', score: 110 })
  })

  test('a friend that asks to slow down (429) is tried again when it said, and loses no score', async () => {
    const h = harness({ record: { score: 100 }, up: true, throttleMs: 30_000 })
    await settle()
    expect(h.last()).toMatchObject({ state: 'backoff', score: 100, attempts: 0, nextRetryAt: 30_000, lastError: 'asks to slow down (429)' })
    h.clock.increment(29_999)
    await settle()
    expect(h.state.attemptsAt).toEqual([0])
    h.state.throttleMs = 0
    h.clock.increment(1)
    await settle()
    expect(h.state.attemptsAt).toEqual([0, 30_000])
    expect(h.last()).toMatchObject({ state: 'active', score: 110, lastError: null })
  })
})
