/**
 * The runners' store on a real database with an injected clock: tokens and secrets, leases
 * that expire, are extended, swept back to the queue and refused once lost; the pod's own
 * claim that leaves a fresh job to the runners; and the runner's backoff policy.
 */
import { afterAll, describe, expect, test } from 'bun:test'
import { join } from 'node:path'
import { openDatabase } from '../../src/shared/db'
import { backoffDelay } from '../../src/runners/backoff'
import { RunnerStore } from '../../src/runners/store'
import { judgeResult } from '../../src/runners/verify'
import type { Probed } from '../../src/media/probe'
import { fail, ok } from '../../src/shared/errors'
import { MAX_ATTEMPTS, TranscodeQueue } from '../../src/transcoding/queue'
import { removeTempDirs, tempDir } from '../helpers/temp'

afterAll(removeTempDirs)

const LEASE = 10_000

/** The runners' store, the pod's queue (which holds the leases) and a clock the test moves, with one video's jobs queued. */
function setup() {
  const clock = { now: 1_000_000 }
  const now = () => clock.now
  const db = openDatabase(join(tempDir(), 'seedpod.db'))
  // The jobs' video rows are not what this test is about.
  db.exec('PRAGMA foreign_keys = OFF')
  const queue = new TranscodeQueue(db, now)
  const store = new RunnerStore(db, queue, now)
  queue.enqueue('video1', [240, 480])
  const token = store.createToken('rack')
  const a = store.register(token.token, 'a')!
  const b = store.register(token.token, 'b')!
  const state = (id: number) => (db.query('SELECT state FROM transcode_jobs WHERE id = ?').get(id) as { state: string }).state
  return { clock, db, store, queue, token, a, b, state }
}

describe('runner store and leases', () => {
  test('a token registers runners; each gets its own secret; only a hash is stored, and a wrong or revoked one is refused', () => {
    const { db, store, token, a, b } = setup()
    expect(store.authenticate(a.secret)).toEqual({ id: a.runner.id, name: 'a' })
    expect(store.authenticate(b.secret)?.name).toBe('b')
    // A's id with B's secret, a changed character, junk: nobody.
    expect(store.authenticate(`${a.runner.id}.${b.secret.split('.')[1]}`)).toBeUndefined()
    expect(store.authenticate(a.secret.slice(0, -1) + (a.secret.endsWith('A') ? 'B' : 'A'))).toBeUndefined()
    expect(store.authenticate('nonsense')).toBeUndefined()
    expect(store.register(token.token.replace(/.$/, (c) => (c === 'x' ? 'y' : 'x')), 'c')).toBeUndefined()
    const raw = JSON.stringify(db.query('SELECT * FROM runners').all()) + JSON.stringify(db.query('SELECT * FROM runner_tokens').all())
    expect(raw).not.toContain(a.secret.split('.')[1]!)
    expect(raw).not.toContain(token.token.split('.')[1]!)
    expect(store.tokens()).toEqual([{ id: token.id, name: 'rack', createdAt: token.createdAt, runners: 2 }])
    expect(store.revokeToken(token.id)).toBe(true)
    expect(store.authenticate(a.secret)).toBeUndefined()
    expect(store.register(token.token, 'd')).toBeUndefined()
    expect(store.runners()).toEqual([])
  })

  test('a lease is held until it expires; reports extend it; a foreign, unknown or expired lease changes nothing', () => {
    const { clock, store, queue, a, b, state } = setup()
    const job = queue.leaseTo(a.runner.id, LEASE)!
    expect(job).toMatchObject({ resolution: 240, leaseMs: LEASE, leaseExpiresAt: new Date(clock.now + LEASE).toISOString() })
    expect(queue.checkLease(a.runner.id, job.id, job.lease).ok).toBe(true)
    expect(queue.checkLease(b.runner.id, job.id, job.lease)).toEqual(fail('not_your_lease'))
    expect(queue.checkLease(a.runner.id, job.id, 'forged')).toEqual(fail('not_your_lease'))
    expect(queue.checkLease(a.runner.id, 999, job.lease)).toEqual(fail('not_found'))
    expect(queue.extendLease(b.runner.id, job.id, job.lease, LEASE, 0.9).ok).toBe(false)
    expect(store.runners()[0]!.job).toMatchObject({ id: job.id, progress: 0 })
    // A report at 9 s holds it to 19 s.
    clock.now += 9_000
    expect(queue.extendLease(a.runner.id, job.id, job.lease, LEASE, 0.5)).toMatchObject(ok({ leaseExpiresAt: new Date(clock.now + LEASE).toISOString() }))
    clock.now += 9_000
    expect(queue.sweepLeases()).toBe(0)
    expect(queue.checkLease(a.runner.id, job.id, job.lease).ok).toBe(true)
    // Silent past its expiry: refused even before the sweep, then back in the queue.
    clock.now += 1_000
    expect(queue.checkLease(a.runner.id, job.id, job.lease)).toEqual(fail('lease_expired'))
    expect(queue.sweepLeases()).toBe(1)
    expect(state(job.id)).toBe('queued')
    expect(queue.extendLease(a.runner.id, job.id, job.lease, LEASE, 0.7)).toEqual(fail('lease_expired'))
    // Another runner takes it: the first one's lease is now someone else's job.
    const again = queue.leaseTo(b.runner.id, LEASE)!
    expect(again.id).toBe(job.id)
    expect(again.lease).not.toBe(job.lease)
    expect(queue.checkLease(a.runner.id, job.id, job.lease)).toEqual(fail('not_your_lease'))
    expect(store.runners().map((r) => r.job?.id ?? null)).toEqual([null, job.id])
  })

  test(`a job that runners lose ${MAX_ATTEMPTS} times fails; removing a runner puts its job back at once`, () => {
    const { clock, store, queue, a, b, state } = setup()
    let job = queue.leaseTo(a.runner.id, LEASE)!
    for (let i = 1; i < MAX_ATTEMPTS; i++) {
      clock.now += LEASE
      queue.sweepLeases()
      expect(state(job.id)).toBe('queued')
      // Taken by the runners in turn (each gets first what it did not lose itself).
      const again = queue.leaseTo((i % 2 ? b : a).runner.id, LEASE)!
      expect(again.id).toBe(job.id)
      job = again
    }
    clock.now += LEASE
    queue.sweepLeases()
    expect(state(job.id)).toBe('failed')
    const other = queue.leaseTo(b.runner.id, LEASE)!
    expect(other.resolution).toBe(480)
    expect(store.removeRunner(b.runner.id)).toBe(true)
    expect(state(other.id)).toBe('queued')
    expect(store.authenticate(b.secret)).toBeUndefined()
    expect(store.removeRunner(b.runner.id)).toBe(false)
  })

  test('a runner that lost or handed back a job gets another queued job first, and that one again when none is left', () => {
    const { clock, queue, a, b, state } = setup()
    const lost = queue.leaseTo(a.runner.id, LEASE)!
    clock.now += LEASE
    queue.sweepLeases()
    expect(state(lost.id)).toBe('queued')
    const next = queue.leaseTo(a.runner.id, LEASE)!
    expect(next.id).not.toBe(lost.id)
    expect(queue.releaseLease(a.runner.id, next.id, next.lease, 'stopped').ok).toBe(true)
    // Both queued, both last tried by a: the older one; b would get it first too.
    expect(queue.leaseTo(a.runner.id, LEASE)!.id).toBe(lost.id)
    expect(queue.leaseTo(b.runner.id, LEASE)!.id).toBe(next.id)
  })

  test("the pod's own claim leaves a fresh job to runners, and does not resume a runner's job after a restart", () => {
    const { clock, store, queue, a } = setup()
    const wait = 5_000
    expect(store.anyActive(LEASE)).toBe(true)
    expect(queue.claim(clock.now - wait)).toBeUndefined()
    clock.now += wait
    const local = queue.claim(clock.now - wait)!
    expect(local.resolution).toBe(240)
    const leased = queue.leaseTo(a.runner.id, LEASE)!
    // A restart puts the pod's own running job back, not the runner's.
    expect(queue.resume()).toBe(1)
    expect(queue.checkLease(a.runner.id, leased.id, leased.lease).ok).toBe(true)
    clock.now += LEASE * 2
    expect(store.anyActive(LEASE)).toBe(false)
  })
})

describe('runner backoff', () => {
  test('doubles from the base up to the cap, with jitter between half and all of it', () => {
    const policy = { baseMs: 1000, maxMs: 60_000 }
    expect([0, 1, 2, 3].map((n) => backoffDelay(policy, n, 1))).toEqual([1000, 2000, 4000, 8000])
    expect(backoffDelay(policy, 0, 0)).toBe(500)
    expect(backoffDelay(policy, 50, 1)).toBe(60_000)
    expect(backoffDelay(policy, 50, 0)).toBe(30_000)
    const spread = new Set(Array.from({ length: 20 }, (_, i) => backoffDelay(policy, 3, i / 19)))
    expect(spread.size).toBe(20)
  })
})

describe('result verification', () => {
  const original: Probed = { durationSeconds: 60, width: 1280, height: 720, frameRate: 30, streams: 2, videoCodec: 'h264', audioCodec: 'aac', container: 'mov,mp4', sizeBytes: 1e7 }
  const result: Probed = { ...original, width: 854, height: 480, durationSeconds: 60.4 }
  /** The verdict on a result probed as `probe` against `source`, as the pod would give it. */
  const judge = (probe: Probed, source: Pick<Probed, 'durationSeconds' | 'audioCodec'> = original, height = 480) => judgeResult(ok(probe), ok(source), height)
  test('takes H.264 at the asked height with AAC as long as the original, and nothing else', () => {
    expect(judge(result)).toEqual(ok())
    expect(judge(result, original, 240)).toEqual(fail('the result is 480 pixels high, not 240'))
    expect(judge({ ...result, videoCodec: 'vp9' })).toEqual(fail("the result's video is vp9, not h264"))
    const { audioCodec: _, ...silent } = result
    expect(judge(silent)).toEqual(fail("the result's audio is missing, not aac"))
    const { audioCodec: __, ...silentOriginal } = original
    expect(judge(result, silentOriginal)).toEqual(fail('the result has audio, the original has none'))
    // Within 1 s (or 2% of a long video) of the original's length.
    expect(judge({ ...result, durationSeconds: 61.1 })).toEqual(ok())
    expect(judge({ ...result, durationSeconds: 30 })).toMatchObject({ ok: false })
    expect(judge({ ...result, durationSeconds: 2.5 }, { ...original, durationSeconds: 1 })).toMatchObject({ ok: false })
    expect(judgeResult(fail('the file is empty'), ok(original), 480)).toEqual(fail('the result is not a playable video: the file is empty'))
    expect(judgeResult(ok(result), fail('file not found'), 480)).toEqual(fail('the original cannot be read any more'))
  })
})
