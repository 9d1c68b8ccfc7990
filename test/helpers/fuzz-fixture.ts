/**
 * The settings of the fuzz tests (test/fuzz-*.test.ts: seed, input counts), and the fixture of
 * those of the inbox and the routes (test/fuzz-inbox.test.ts, test/fuzz-routes.test.ts): pod A
 * under fuzz, its friend B, a stranger C, accounts, an own video and a friend's video; and the
 * loop that sends the inputs to A and checks each answer.
 *
 * Pod A takes registrations that wait for an admin (2 per address), uploads of any size (so
 * that a claimed petabyte meets the disk's margin, 507) and prepares one upload at a time with
 * one waiting (so that a burst meets the queue's 429 and 503); the fixture holds media bombs
 * (test/helpers/hostile-media.ts) to upload.
 *
 * What is asserted for every input, besides the answer's own checks (fuzz-inputs.ts): the
 * database (every row of every table) and the data folder's files (videos/, tmp/, torrents/,
 * thumbnails/, mirrors/) are as before unless the input was one that may change it
 * (an authorized valid-shape request, a whole payload sealed by the friend) and was answered
 * 2xx (or not at all: a route that reads no body may act on a request whose client then left);
 * no `error` line in either pod's log (an unexpected exception, even one whose answer reached
 * nobody) and no uncaught error (which bun test reports against the running test).
 *
 * Inputs come from one seeded PRNG, a fixed seed unless `FUZZ_SEED=N` (or `=random`) says
 * otherwise; the seed is printed, and `FUZZ_SEED=N` reproduces them (the encryption inside
 * sealed messages is random by nature; what is mutated and where is not). The number of
 * inputs is fixed (`FUZZ_SCALE=k` multiplies it for longer runs); `FUZZ_TRACE=1` prints every
 * input with its answer.
 */
import { afterAll, beforeAll, setDefaultTimeout } from 'bun:test'
import type { Database } from 'bun:sqlite'
import { join, relative } from 'node:path'
import { importPeerKey, newIdentity, type Identity } from '../../src/identity/keys'
import type { Video } from '../../src/videos/model'
import { makeClip } from './clips'
import { fuzzSeed } from './fuzz'
import { claimsHours, framesHoursApart, hugeFrame, manyTracks, undecodable } from './hostile-media'
import { answerProblems, describeInput, send, type Input, type Outcome, type Recipient } from './fuzz-inputs'
import { fp, netPod, publish, stopPods, until, videoId } from './network'
import { listTree, removeTempDirs, ROOT, tempDir, type TestPod } from './pods'
import { uploadVideo } from './videos'
import { valueOf } from './results'

/** The seed of this run (see {@link fuzzSeed}). */
const SEED = fuzzSeed()
const SCALE = Math.max(1, Number(process.env.FUZZ_SCALE ?? 1) || 1)

/** Prints the seed, and the command that reproduces the inputs of `testFile`; returns the seed. */
export function announceSeed(testFile: string): number {
  console.log(`fuzz: seed ${SEED}; FUZZ_SEED=${SEED} bun test ${relative(ROOT, testFile)} reproduces these inputs`)
  return SEED
}

/** `FUZZ_TRACE=1` prints every input and its answer (with FUZZ_SEED, to see what led to a failure). */
const TRACE = process.env.FUZZ_TRACE === '1'
/** Inputs per part. */
export const COUNTS = { inbox: 1200 * SCALE, anonymous: 1400 * SCALE, authenticated: 900 * SCALE, child: 300 * SCALE }
/** The password of every account of the fixture. */
export const PASSWORD = 'correct horse battery staple'
/** Pod URLs that a proof or friend making may try without leaving the machine or waiting on DNS. */
export const SAFE_URLS = ['http://127.0.0.1:1', 'http://127.0.0.1:9', 'http://[::1]:1', 'http://localhost:1', 'ftp://127.0.0.1/', 'a:b', 'http://user:pw@127.0.0.1:1', 'http://127.0.0.1:1/?q=1', 'javascript:alert(1)', 'http://0.0.0.0:1']
/** The user who uploaded A's own video. */
export const OWNER_NAME = 'fuzzowner'

// --- the database -------------------------------------------------------------------------

/**
 * Every row of every table of a pod's database (virtual tables are covered by their shadow
 * tables), as text per table, and the names of the data folder's files: what "nothing
 * changed" compares.
 */
function snapshot(db: Database, dataDir?: string): Map<string, string> {
  const out = new Map<string, string>()
  // The data folder's files (videos/, tmp/, torrents/, thumbnails/, mirrors/), the database's own aside.
  if (dataDir) out.set('(files of the data folder)', JSON.stringify(listTree(dataDir).filter((f) => !/^seedpod\.db(-wal|-shm|-journal)?$/.test(f))))
  const tables = db.query("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND sql NOT LIKE 'CREATE VIRTUAL%' ORDER BY name").all() as { name: string }[]
  for (const { name } of tables) out.set(name, JSON.stringify(db.query(`SELECT * FROM "${name}"`).values(), (_k, v) => (v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v)))
  return out
}

/** The tables whose rows differ between two snapshots, each with the start of both versions. */
function snapshotDiff(before: Map<string, string>, after: Map<string, string>): string[] {
  const names = new Set([...before.keys(), ...after.keys()])
  const diff: string[] = []
  for (const name of names) {
    const a = before.get(name)
    const b = after.get(name)
    if (a !== b) diff.push(`${name}: before ${(a ?? '(none)').slice(0, 300)} / after ${(b ?? '(none)').slice(0, 300)}`)
  }
  return diff
}

/** Error lines of a pod's log since `from` (an unexpected exception is logged as `http.error`). */
function errorLogs(p: TestPod, from: number): string[] {
  return p.logs.slice(from).filter((l) => l.level === 'error').map((l) => JSON.stringify(l).slice(0, 600))
}

// --- the fixture and the loop -------------------------------------------------------------

/** Counts of a part's inputs and answers, printed after it. */
class Tally {
  private readonly kinds = new Map<string, number>()
  private readonly statuses = new Map<string, number>()
  private readonly transports = new Map<string, number>()
  private readonly codes = new Map<string, number>()
  private readonly ms = new Map<string, number>()
  changed = 0

  add(i: Input, o: Outcome, ms: number): void {
    this.kinds.set(i.kind, (this.kinds.get(i.kind) ?? 0) + 1)
    this.transports.set(i.transport, (this.transports.get(i.transport) ?? 0) + 1)
    this.ms.set(i.transport, (this.ms.get(i.transport) ?? 0) + ms)
    const s = o.status === undefined ? 'none' : String(o.status)
    this.statuses.set(s, (this.statuses.get(s) ?? 0) + 1)
    if (o.status !== undefined && o.status >= 400) {
      let code = '?'
      try {
        code = String((JSON.parse(o.body ?? '') as { error?: { code?: unknown } }).error?.code ?? '?')
      } catch {}
      this.codes.set(`${o.status} ${code}`, (this.codes.get(`${o.status} ${code}`) ?? 0) + 1)
    }
  }

  print(part: string, total: number, ms: number): void {
    const fmt = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ')
    console.log(`fuzz ${part}: ${total} inputs in ${(ms / 1000).toFixed(1)} s; ${this.changed} applied changes\n  kinds: ${fmt(this.kinds)}\n  transports: ${fmt(this.transports)} (seconds: ${[...this.ms].map(([k, v]) => `${k} ${(v / 1000).toFixed(1)}`).join(', ')})\n  statuses: ${fmt(this.statuses)}\n  errors: ${fmt(this.codes)}`)
  }
}

/** The pods, accounts and videos the inputs are made for. */
export interface FuzzFixture {
  /** The pod under fuzz (friend limits out of reach, private addresses allowed, a short fetch timeout). */
  a: TestPod
  /** A's friend. */
  b: TestPod
  /** A stranger: befriends nobody. */
  c: Identity
  aRecipient: Recipient
  aVerifyKey: CryptoKey
  cRecipient: Recipient
  /** A's own video (uploaded by {@link OWNER_NAME}): it lives through the run. */
  own: Video
  /** B's video in A's index, its details cached at A. */
  bFixture: Video
  /** Access tokens of A's admin, the owner, another user; and a token of B's admin. */
  tokens: { admin: string; owner: string; other: string; foreign: string }
  /** The account ids of A's admin, the owner and the other user (never changed by the fuzz: their tokens live through the run). */
  ids: { admin: number; owner: number; other: number }
  /** A good clip (the own video's source), to cut and flip. */
  clip: string
  /** Media bombs (test/helpers/hostile-media.ts), each with the 415 code that refuses it (none unless asked for: they take seconds to make). */
  bombs: { path: string; code?: string }[]
}

/** Starts pods A and B as friends, with accounts and videos (and media bombs if asked), and waits until all is still. */
async function startFuzzFixture(withBombs: boolean): Promise<FuzzFixture> {
  const limitsOff = { messagesPerMinute: 1_000_000, messagesPerMinutePerAddress: 1_000_000, requestsPerHour: 1_000_000 }
  // Registrations wait for an admin, a few per address; uploads may be as large as any
  // number, so that a claimed petabyte meets the disk's margin (507), not the size limit.
  // One upload prepared at a time and one waiting: a burst meets the queue's 429 and 503.
  const aConfig = { registrations: 'approval', auth: { registrationsPerAddress: 2 }, maxUploadBytes: Number.MAX_SAFE_INTEGER, uploads: { concurrency: 1, queueLength: 1 } }
  const [a, b] = await Promise.all([
    netPod({ ...aConfig, friends: limitsOff, transcoding: { enabled: false }, network: { allowPrivateAddresses: true, fetchTimeoutMs: 1000 } }),
    netPod({ transcoding: { enabled: false } }),
  ])
  const made = await a.running.pod.making.makeFriends([b.base])
  if (made[0]?.status !== 'added') throw new Error(`the pods did not become friends: ${JSON.stringify(made)}`)
  const c = (await newIdentity()).identity
  const aKeys = await importPeerKey(a.running.pod.identity.publicJwk)
  const aRecipient = { fingerprint: fp(a), encryptKey: aKeys.encryptKey }
  const aVerifyKey = aKeys.verifyKey
  const cRecipient = { fingerprint: c.fingerprint, encryptKey: (await importPeerKey(c.publicJwk)).encryptKey }

  const accounts = a.running.pod.accounts
  const users = { admin: valueOf(await accounts.create('fuzzadmin', PASSWORD, 'admin')), owner: valueOf(await accounts.create(OWNER_NAME, PASSWORD)), other: valueOf(await accounts.create('fuzzother', PASSWORD)) }
  const token = async (u: (typeof users)['admin']) => (await accounts.issueToken(u)).accessToken
  const bUser = valueOf(await b.running.pod.accounts.create('fuzzforeign', PASSWORD, 'admin'))
  const tokens = { admin: await token(users.admin), owner: await token(users.owner), other: await token(users.other), foreign: (await b.running.pod.accounts.issueToken(bUser)).accessToken }
  const ids = { admin: users.admin.id, owner: users.owner.id, other: users.other.id }

  const media = tempDir()
  const [clip, ...bombPaths] = await Promise.all([
    makeClip(media, { seconds: 1, faststart: true }),
    ...(withBombs ? [hugeFrame(media, '4200x4200'), manyTracks(media, 20), claimsHours(media, 100), framesHoursApart(media, 40), undecodable(media)] : []),
  ])
  // Frames 40 hours apart are refused as too long or implausible, whichever the probe sees first.
  const bombs = bombPaths.map((path, k) => ({ path, code: ['frame_too_large', 'too_many_streams', 'too_long', undefined, 'unreadable_video'][k] }))
  const res = await uploadVideo(a.base, tokens.owner, { file: Bun.file(clip), name: 'The fuzz fixture', description: 'an own video of pod A' })
  if (res.status !== 201) throw new Error(`upload failed: ${res.status} ${await res.text()}`)
  const own = (await res.json()) as Video
  const bFixture = publish(b, { id: videoId(b, 'fixture'), name: 'A friend video' })
  await until(() => a.running.pod.db.query('SELECT 1 FROM videos WHERE id = ?').get(bFixture.id), 10_000, "B's video in A's index")
  // Its details, fetched once from B, stay cached (detailsTtlSeconds): later reads change nothing.
  const details = await fetch(`${a.base}/api/v1/videos/${bFixture.id}/details`)
  if (details.status !== 200) throw new Error(`details of B's video: ${details.status}`)
  await until(async () => (await b.running.pod.db.query('SELECT count(*) AS n FROM outbox').get() as { n: number }).n === 0, 10_000, "B's empty outbox")
  await quiescent(a)
  return { a, b, c, aRecipient, aVerifyKey, cRecipient, own, bFixture, tokens, ids, clip, bombs }
}

/**
 * Sets up a test file that fuzzes pod A: the fixture started before its tests, the pods stopped
 * and the temporary folders removed after them, and a long default timeout (real pods and
 * ffmpeg on a shared machine: far more than they need). `bombs` makes media bombs too. Returns
 * the fixture, filled in before the first test runs.
 */
export function useFuzzFixture(opts: { bombs?: boolean } = {}): FuzzFixture {
  setDefaultTimeout(120_000)
  afterAll(stopPods)
  afterAll(removeTempDirs)
  const fx = {} as FuzzFixture
  beforeAll(async () => {
    Object.assign(fx, await startFuzzFixture(opts.bombs === true))
  })
  return fx
}

/** Waits until pod A has nothing in flight (outbox delivered, views flushed) and its database is still. */
export async function quiescent(a: TestPod): Promise<Map<string, string>> {
  const db = a.running.pod.db
  await until(() => (db.query('SELECT (SELECT count(*) FROM outbox) + (SELECT count(*) FROM pending_views) AS n').get() as { n: number }).n === 0, 10_000, 'an empty outbox')
  let last = snapshot(db, a.config.dataDir)
  for (;;) {
    await Bun.sleep(20)
    const now = snapshot(db, a.config.dataDir)
    if (snapshotDiff(last, now).length === 0) return now
    last = now
  }
}

/**
 * Runs `count` inputs from `next` one at a time against pod A, checking each answer and that
 * the database changed only where allowed. Returns the problems found.
 */
export async function runPart({ a, b }: Pick<FuzzFixture, 'a' | 'b'>, part: string, count: number, next: (n: number) => Promise<Input> | Input, after?: (i: Input, o: Outcome) => Promise<string[]>): Promise<string[]> {
  const failures: string[] = []
  const tally = new Tally()
  const logsFrom = [a.logs.length, b.logs.length]
  const t0 = performance.now()
  let before = await quiescent(a)
  const start = before
  let anyChange = false
  for (let n = 0; n < count; n++) {
    const input = await next(n)
    const sentAt = performance.now()
    const outcome = await send(a.running.port, input)
    tally.add(input, outcome, performance.now() - sentAt)
    const problems = answerProblems(input, outcome)
    if (after) problems.push(...(await after(input, outcome)))
    // A request the client gave up on may still be running: let it finish before comparing.
    if (outcome.status === undefined) await Bun.sleep(50)
    let now = snapshot(a.running.pod.db, a.config.dataDir)
    let diff = snapshotDiff(before, now)
    if (diff.length) {
      // A route that reads no body (views) may act on a request whose client then left: no answer to see.
      // With a Content-Length shorter than the body, the answer read may be Bun's to the
      // leftover bytes, the app's own (to the truncated request) lost: not attributable.
      const answered = outcome.status === undefined || (outcome.status >= 200 && outcome.status < 300) || input.transport === 'cl-short'
      const allowed = input.mayChange && answered
      if (!allowed) problems.push(`the database changed (answer ${outcome.status ?? 'none'}):\n      ${diff.join('\n      ')}`)
      tally.changed++
      anyChange = true
      now = await quiescent(a)
    } else if (input.mayChange && (outcome.status === undefined || outcome.status < 300)) {
      // A change may still be on its way (a delivery, an actor): let it land before the next baseline.
      now = await quiescent(a)
      diff = snapshotDiff(before, now)
      if (diff.length) {
        tally.changed++
        anyChange = true
      }
    }
    before = now
    if (TRACE) console.log(`${describeInput(input)}\n    got: ${outcome.status ?? outcome.note}${diff.length ? ' (changed the database)' : ''}`)
    if (problems.length) failures.push(`${describeInput(input)}\n    got: ${outcome.status ?? outcome.note} ${(outcome.body ?? '').slice(0, 200)}\n    - ${problems.join('\n    - ')}`)
  }
  for (const line of [...errorLogs(a, logsFrom[0]!), ...errorLogs(b, logsFrom[1]!)]) failures.push(`an error was logged during ${part}: ${line}`)
  if (!anyChange) {
    const diff = snapshotDiff(start, await quiescent(a))
    if (diff.length) failures.push(`the database of ${part} differs from its start:\n  ${diff.join('\n  ')}`)
  }
  tally.print(part, count, performance.now() - t0)
  if (failures.length) console.log(`fuzz ${part}: ${failures.length} problem(s) (seed ${SEED}):\n${failures.slice(0, 25).join('\n\n')}`)
  return failures
}
