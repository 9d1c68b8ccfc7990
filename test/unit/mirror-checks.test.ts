/**
 * The schedule of mirror checks (src/redundancy/checks.ts) on a real database and a simulated
 * clock: a mirror is listed only after a check passed, checked again every recheck, unlisted
 * by a failed check and checked again with a doubling backoff; a pod's hourly budget defers
 * checks to its next hour; the schedule survives a restart; few checks run at once, one per
 * pod; at most 8 pods per video, a failing one giving way.
 */
import { afterAll, beforeEach, describe, expect, test } from 'bun:test'
import type { Database } from 'bun:sqlite'
import { join } from 'node:path'
import { backoffMs, FIRST_BACKOFF_MS, LATER_MS, MirrorChecks, type CheckOutcome } from '../../src/redundancy/checks'
import { KnownMirrors, MAX_MIRRORS, type DueMirror } from '../../src/redundancy/known-store'
import { openDatabase } from '../../src/shared/db'
import type { Video } from '../../src/videos/model'
import { VideoStore } from '../../src/videos/store'
import { removeTempDirs, tempDir } from '../helpers/temp'

afterAll(removeTempDirs)

const SELF = { fingerprint: 'self-fp', url: 'http://self.example' }
const ORIGIN = { fingerprint: 'origin-fp', url: 'http://origin.example' }
const pod = (n: number) => ({ fingerprint: `pod${n}-fp`, url: `http://pod${n}.example` })
const HASH = 'ab'.repeat(20)
const RECHECK = 6 * 3600_000
const BUDGET = 1000
const silent = { debug() {}, info() {}, warn() {}, error() {} }

let path: string
let db: Database
let known: KnownMirrors
let clock: number
/** What the next checks find, by pod URL (default: proven, 100 bytes); and every check made, with its allowance. */
let outcomes: Map<string, CheckOutcome>
let made: { pod: string; allowance: number }[]

function open() {
  db = openDatabase(path)
  const rows = new VideoStore(db)
  known = new KnownMirrors(db, rows, SELF)
  return rows
}

function checks() {
  return new MirrorChecks({
    known,
    check: async (m: DueMirror, allowance: number) => {
      made.push({ pod: m.podUrl, allowance })
      return outcomes.get(m.podUrl) ?? { kind: 'proven', bytes: 100 }
    },
    settings: { recheckMs: RECHECK, bytesPerHour: BUDGET },
    log: silent,
    now: () => clock,
  })
}

const listedPods = () => known.listed('v1').map((m) => m.podUrl)
const announce = (p: { fingerprint: string; url: string }, infoHash = HASH) => known.announce('v1', infoHash, 0, p, () => true, clock)

beforeEach(() => {
  path = join(tempDir(), 'seedpod.db')
  const rows = open()
  clock = 1_000_000
  outcomes = new Map()
  made = []
  const video: Video = {
    id: 'v1', name: 'A video', description: '', uploader: 'alice', podUrl: ORIGIN.url, podFingerprint: ORIGIN.fingerprint,
    magnetUri: `magnet:?xt=urn:btih:${HASH}`, torrentUrl: null, webseedUrls: [], duration: 1, size: 1, createdAt: new Date().toISOString(),
  }
  rows.upsert(video, ORIGIN.url, clock)
  rows.saveStreams('v1', [{ rendition: 0, infoHash: HASH, size: 1, width: 2, height: 2, bandwidth: 1 }])
})

describe('mirror checks', () => {
  test('listed after a passing check, checked again every recheck; a failure unlists it, then the backoff doubles; a pass lists it again', async () => {
    const c = checks()
    expect(announce(pod(1))).toBe(true)
    expect(listedPods()).toEqual([])
    await c.run()
    expect(listedPods()).toEqual([pod(1).url])
    expect(made.length).toBe(1)

    // Not due again until the recheck.
    clock += RECHECK - 1
    await c.run()
    expect(made.length).toBe(1)
    outcomes.set(pod(1).url, { kind: 'failed', bytes: 10, reason: 'piece 3 is not the torrent\'s' })
    clock += 1
    await c.run()
    expect(made.length).toBe(2)
    expect(listedPods()).toEqual([])

    // Each failure in a row doubles the wait: 1, 2, 4 minutes.
    for (const failures of [1, 2, 3]) {
      const waited = made.length
      clock += backoffMs(failures) - 1
      await c.run()
      expect(made.length).toBe(waited)
      clock += 1
      await c.run()
      expect(made.length).toBe(waited + 1)
    }
    expect([backoffMs(1), backoffMs(2), backoffMs(3)]).toEqual([FIRST_BACKOFF_MS, 2 * FIRST_BACKOFF_MS, 4 * FIRST_BACKOFF_MS])
    expect(backoffMs(100)).toBe(24 * 3600_000)

    // It answers again: listed, and the backoff starts over.
    outcomes.delete(pod(1).url)
    clock += backoffMs(4)
    await c.run()
    expect(listedPods()).toEqual([pod(1).url])
    const row = db.query('SELECT failures, check_at FROM video_mirrors').get()
    expect(row).toEqual({ failures: 0, check_at: clock + RECHECK })
  })

  test("a pod's checks share its hourly budget: one that would cost more waits for the next hour", async () => {
    const c = checks()
    const other = 'cd'.repeat(20)
    new VideoStore(db).saveStreams('v1', [
      { rendition: 0, infoHash: HASH, size: 1, width: 2, height: 2, bandwidth: 1 },
      { rendition: 144, infoHash: other, size: 1, width: 2, height: 2, bandwidth: 1 },
    ])
    outcomes.set(pod(1).url, { kind: 'proven', bytes: 700 })
    announce(pod(1))
    await c.run()
    expect(made).toEqual([{ pod: pod(1).url, allowance: BUDGET }])
    // The second file of the same pod gets what is left, 300 bytes; its check would take 700.
    outcomes.set(pod(1).url, { kind: 'over_budget', cost: 700 })
    expect(known.announce('v1', other, 144, pod(1), () => true, clock)).toBe(true)
    clock += 1000
    await c.run()
    expect(made[1]).toEqual({ pod: pod(1).url, allowance: 300 })
    expect(known.listed('v1').map((m) => m.infoHash)).toEqual([HASH])
    // Deferred to the end of the pod's hour, not retried before.
    clock += 3600_000 - 1000 - 1
    await c.run()
    expect(made.length).toBe(2)
    outcomes.delete(pod(1).url)
    clock += 1
    await c.run()
    expect(made[2]).toEqual({ pod: pod(1).url, allowance: BUDGET })
    expect(known.listed('v1').map((m) => m.infoHash).sort()).toEqual([HASH, other].sort())
  })

  test('the schedule survives a restart; a check this pod could not make changes nothing but its time', async () => {
    announce(pod(1))
    await checks().run()
    db.close()
    open()
    const c = checks()
    clock += RECHECK - 1
    await c.run()
    expect(made.length).toBe(1)
    expect(listedPods()).toEqual([pod(1).url])
    outcomes.set(pod(1).url, { kind: 'later', reason: "the origin's .torrent could not be fetched" })
    clock += 1
    await c.run()
    expect(made.length).toBe(2)
    // Still listed (its last check passed), checked again soon.
    expect(listedPods()).toEqual([pod(1).url])
    expect(db.query('SELECT failures, check_at FROM video_mirrors').get()).toEqual({ failures: 0, check_at: clock + LATER_MS })
  })

  test('a file no longer the video is forgotten; this pod\'s copy is listed without a check', async () => {
    const c = checks()
    known.addOwn('v1', HASH, 0, clock)
    expect(listedPods()).toEqual([SELF.url])
    announce(pod(1))
    outcomes.set(pod(1).url, { kind: 'gone', reason: 'the file is no longer one of the video' })
    await c.run()
    expect(made.map((m) => m.pod)).toEqual([pod(1).url])
    expect(db.query('SELECT count(*) AS n FROM video_mirrors').get()).toEqual({ n: 1 })
    // A record of this pod's copy of an earlier release (due at once) is listed once the check says it is its own.
    db.query('UPDATE video_mirrors SET proven_at = NULL, check_at = 0').run()
    expect(listedPods()).toEqual([])
    outcomes.set(SELF.url, { kind: 'own' })
    await c.run()
    expect(listedPods()).toEqual([SELF.url])
    expect(db.query('SELECT check_at FROM video_mirrors').get()).toEqual({ check_at: null })
  })

  test('a few checks at once, never two of one pod', async () => {
    let running = 0
    let most = 0
    const perPod = new Map<string, number>()
    let twice = false
    const c = new MirrorChecks({
      known,
      check: async (m) => {
        running++
        most = Math.max(most, running)
        perPod.set(m.podUrl, (perPod.get(m.podUrl) ?? 0) + 1)
        if (perPod.get(m.podUrl)! > 1) twice = true
        await Bun.sleep(5)
        perPod.set(m.podUrl, perPod.get(m.podUrl)! - 1)
        running--
        return { kind: 'proven', bytes: 1 }
      },
      settings: { recheckMs: RECHECK, bytesPerHour: BUDGET },
      log: silent,
      now: () => clock,
    })
    const streams = Array.from({ length: 3 }, (_, i) => ({ rendition: i === 0 ? 0 : 100 + i, infoHash: String(i).repeat(40), size: 1, width: 2, height: 2, bandwidth: 1 }))
    new VideoStore(db).saveStreams('v1', streams)
    for (let p = 1; p <= 8; p++) for (const s of streams) expect(known.announce('v1', s.infoHash, s.rendition, pod(p), () => true, clock)).toBe(true)
    await c.run()
    expect(most).toBe(4)
    expect(twice).toBe(false)
    expect(known.listed('v1').length).toBe(24)
  })

  test(`at most ${MAX_MIRRORS} pods per video besides this one; a pod whose checks failed gives way`, async () => {
    const c = checks()
    known.addOwn('v1', HASH, 0, clock)
    for (let p = 1; p <= MAX_MIRRORS; p++) expect(announce(pod(p))).toBe(true)
    expect(announce(pod(9))).toBe(false)
    // One more stream of a pod already recorded is no new pod.
    expect(announce(pod(1))).toBe(true)
    outcomes.set(pod(3).url, { kind: 'failed', bytes: 0, reason: 'answered 404' })
    await c.run()
    expect(announce(pod(9))).toBe(true)
    const pods = (db.query('SELECT DISTINCT pod FROM video_mirrors').all() as { pod: number }[]).length
    expect(pods).toBe(MAX_MIRRORS + 1)
    const urls = (db.query('SELECT p.url FROM video_mirrors m JOIN pods p ON p.id = m.pod').all() as { url: string }[]).map((r) => r.url)
    expect(urls).not.toContain(pod(3).url)
    expect(urls).toContain(pod(9).url)
    // Proven ones never give way.
    expect(announce(pod(10))).toBe(false)
  })
})
