/**
 * A bounded fuzz test of the pod's HTTP surface, against real pods on loopback:
 *
 * 1. the inbox (`POST /api/v1/pod/inbox`) of pod A, friend of pod B: random bytes, JWE-shaped
 *    garbage, real JWEs truncated or mutated, JWEs of arbitrary plaintexts (JWS with other
 *    algorithms, no kid, non-JSON payloads), and real JWEs sealed by B (a friend) or C (a
 *    stranger) whose payloads are mutated: wrong types for v/from/to/iat/jti/messages, huge
 *    arrays, deep nesting, known and unknown message types with random data, big strings;
 *    sent with random content types, with fetch or by hand (chunked, a Content-Length that
 *    lies, both Content-Length and Transfer-Encoding, an empty body);
 * 2. every route of the app (src/*\/routes.ts), anonymous or with garbage credentials, with
 *    random and mutated bodies, content types, headers (Authorization, X-Forwarded-For, Range,
 *    Host, ...), path parameters (unicode, very long, `../`, undecodable percent escapes) and
 *    query strings; the database must not change;
 * 3. the same routes with admin and user tokens, where a request with a valid shape may change
 *    things (then only its 2xx may change the database, and the fixture is protected: the own
 *    video is never deleted, the friendship never ended, friend making only given URLs that
 *    fail at once);
 * 4. a child pod process (`bun src/app/cli.ts serve`, default limits, trustProxy on): hostile
 *    big bodies (inbox bodies up to the limit, chunked bodies past it, 100 MB claimed by a
 *    Content-Length and never sent), and its resident memory (/proc/PID/status VmRSS) after
 *    them, against its idle memory.
 *
 * What is asserted for every input: no 5xx; every error answer of a JSON route is
 * `{ error: { code, message } }` JSON (not: the pages, the tracker's bencoded answers, file
 * bodies, HEAD, and what Bun's HTTP parser answers itself to a broken framing); the database
 * (every row of every table) is as before unless the input was one that may change it (an
 * authorized valid-shape request, a whole payload sealed by the friend) and was answered 2xx
 * (or not at all: a route that reads no body may act on a request whose client then left);
 * a sealed 200 opens as the friend's reply; no `error` line in either pod's log (an
 * unexpected exception, even one whose answer reached nobody) and no uncaught error (which
 * bun test reports against the running test).
 *
 * Inputs come from one seeded PRNG, a fixed seed unless `FUZZ_SEED=N` (or `=random`) says otherwise; the seed is printed, and `FUZZ_SEED=N` reproduces them
 * (the encryption inside sealed messages is random by nature; what is mutated and where is
 * not). The number of inputs is fixed (`FUZZ_SCALE=k` multiplies it for longer runs);
 * `FUZZ_TRACE=1` prints every input with its answer.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { CompactEncrypt, CompactSign } from 'jose'
import { openReply } from '../src/federation/envelope'
import { CURRENT_VERSION } from '../src/federation/versions'
import { importPeerKey, newIdentity, type Identity } from '../src/identity/keys'
import type { Video } from '../src/videos/model'
import { makeClip } from './helpers/clips'
import {
  bodyExcerpt,
  chunked,
  deepNesting,
  deepValue,
  errorShapeProblem,
  fuzzSeed,
  headerString,
  mutateJson,
  mutateString,
  mutateText,
  pathSegment,
  randomJson,
  randomString,
  rawHttp,
  Rng,
  rssOf,
  safeEncode,
  snapshot,
  snapshotDiff,
  type RawResult,
} from './helpers/fuzz'
import { fp, netPod, publish, stopPods, until, videoId } from './helpers/network'
import { childEnv, removeTempDirs, spawnCli, tempDir, waitForPod, type Child, type TestPod } from './helpers/pods'
import { freePort } from './helpers/ports'
import { uploadVideo } from './helpers/videos'

// Real pods, ffmpeg and a child process on a shared machine: far more than they need.
setDefaultTimeout(120_000)
afterAll(stopPods)
afterAll(removeTempDirs)

const SEED = fuzzSeed()
const SCALE = Math.max(1, Number(process.env.FUZZ_SCALE ?? 1) || 1)
console.log(`fuzz: seed ${SEED}; FUZZ_SEED=${SEED} bun test test/fuzz.test.ts reproduces these inputs`)

/** `FUZZ_TRACE=1` prints every input and its answer (with FUZZ_SEED, to see what led to a failure). */
const TRACE = process.env.FUZZ_TRACE === '1'
/** Inputs per part. */
const COUNTS = { inbox: 1200 * SCALE, anonymous: 1400 * SCALE, authenticated: 900 * SCALE, child: 300 * SCALE }
/** The child pod may hold this much more memory after the hostile bodies than when idle. */
const RSS_GROWTH_LIMIT = 150 * 1024 * 1024
const PASSWORD = 'correct horse battery staple'
/** Pod URLs that a proof or friend making may try without leaving the machine or waiting on DNS. */
const SAFE_URLS = ['http://127.0.0.1:1', 'http://127.0.0.1:9', 'http://[::1]:1', 'http://localhost:1', 'ftp://127.0.0.1/', 'a:b', 'http://user:pw@127.0.0.1:1', 'http://127.0.0.1:1/?q=1', 'javascript:alert(1)', 'http://0.0.0.0:1']

/** One fuzz input, as sent and as printed when it fails. */
interface Input {
  part: string
  n: number
  kind: string
  method: string
  path: string
  headers: Record<string, string>
  body?: Uint8Array | string
  /** How it is sent: fetch, or by hand with one of the framings of {@link sendRaw}. */
  transport: 'fetch' | 'chunked' | 'cl-short' | 'cl-long-halfclose' | 'cl-long-wait' | 'cl-and-te' | 'cl-garbage' | 'raw-path' | 'raw-host'
  /** With `raw-host`: the Host header sent (default: the pod's address). */
  host?: string
  /** Whether a 2xx answer may change the database (a valid-shape authorized request; an applied payload). */
  mayChange: boolean
  /** Whether the error answers of this route are the API's JSON. */
  json: boolean
  /** For a payload sealed by the friend: its jti, to open the sealed reply. */
  jti?: string
}

/** What came back for an input: the first answer (if any) and any further ones on the connection. */
interface Outcome {
  status?: number
  contentType?: string | null
  body?: string
  more: { status: number; contentType?: string }[]
  note?: string
}

function describeInput(i: Input): string {
  const headers = Object.entries(i.headers)
    .map(([k, v]) => `${k}: ${v.length > 120 ? `${v.slice(0, 120)}…(${v.length})` : v}`)
    .join(' | ')
  return `#${i.n} [${i.part}/${i.kind}] ${i.method} ${i.path.length > 300 ? `${i.path.slice(0, 300)}…(${i.path.length})` : i.path} via ${i.transport}${i.host !== undefined ? ` (Host: ${i.host.slice(0, 60)})` : ''}\n    headers: ${headers || '(none)'}\n    body: ${bodyExcerpt(i.body)}`
}

const enc = new TextEncoder()
const bytesOf = (b: Uint8Array | string | undefined) => (b === undefined ? new Uint8Array(0) : typeof b === 'string' ? enc.encode(b) : b)

/** Sends an input to `port` and returns what came back. */
async function send(port: number, i: Input): Promise<Outcome> {
  if (i.transport === 'fetch') {
    const noBody = i.method === 'GET' || i.method === 'HEAD'
    try {
      const res = await fetch(`http://127.0.0.1:${port}${i.path}`, { method: i.method, headers: i.headers, body: noBody ? undefined : (i.body as BodyInit | undefined), redirect: 'manual' })
      return { status: res.status, contentType: res.headers.get('content-type'), body: await res.text(), more: [] }
    } catch (e) {
      return { more: [], note: `fetch failed: ${(e as Error).message}` }
    }
  }
  return outcomeOf(await sendRaw(port, i))
}

function outcomeOf(r: RawResult): Outcome {
  const [first, ...rest] = r.responses
  return {
    status: first?.status,
    contentType: first?.headers['content-type'] ?? null,
    body: first?.body,
    more: rest.map((x) => ({ status: x.status, contentType: x.headers['content-type'] })),
    note: first ? undefined : r.timedOut ? 'no answer (the client gave up)' : 'no answer (closed)',
  }
}

/** Sends an input by hand over TCP, framed as its transport says. */
function sendRaw(port: number, i: Input): Promise<RawResult> {
  const body = bytesOf(i.body)
  const headerLines = Object.entries(i.headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')
  const line = `${i.method} ${i.path} HTTP/1.1\r\nHost: ${i.host ?? `127.0.0.1:${port}`}\r\n${headerLines}`
  switch (i.transport) {
    case 'chunked':
      return rawHttp(port, `${line}Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n`, chunked(new Rng(body.length), body), { timeoutMs: 5000 })
    case 'cl-short':
      // The rest of the body is read as the next request.
      return rawHttp(port, `${line}Content-Length: ${Math.max(0, body.length - 1 - (body.length >> 2))}\r\n\r\n`, body, { halfClose: true, timeoutMs: 1500 })
    case 'cl-long-halfclose':
      return rawHttp(port, `${line}Content-Length: ${body.length + 100}\r\nConnection: close\r\n\r\n`, body, { halfClose: true, timeoutMs: 1500 })
    case 'cl-long-wait':
      return rawHttp(port, `${line}Content-Length: ${body.length + 100}\r\nConnection: close\r\n\r\n`, body, { timeoutMs: 300 })
    case 'cl-and-te':
      return rawHttp(port, `${line}Content-Length: ${body.length}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n`, body, { timeoutMs: 1500 })
    case 'cl-garbage': {
      const cl = new Rng(body.length + 7).pick(['abc', '-1', '1e3', `${body.length}, ${body.length}`, '99999999999999999999999', ' ', `0x${body.length.toString(16)}`, `+${body.length}`])
      return rawHttp(port, `${line}Content-Length: ${cl}\r\nConnection: close\r\n\r\n`, body, { timeoutMs: 1500 })
    }
    default:
      return rawHttp(port, `${line}Content-Length: ${body.length}\r\nConnection: close\r\n\r\n`, body, { timeoutMs: 5000 })
  }
}

/** Framings whose refusal may come from Bun's HTTP parser, before the app (its own plain answer). */
const FRAMING_ERRORS = new Set<Input['transport']>(['cl-and-te', 'cl-garbage', 'cl-short'])

/** The checks every answer passes; returns what is wrong. */
function answerProblems(i: Input, o: Outcome): string[] {
  const problems: string[] = []
  // A Content-Length shorter than the body leaves bytes that Bun's parser reads as a garbage
  // request line, which it may answer 505 (HTTP version not supported) and close, at times
  // before the app's answer to the request itself was written: a 505 there is Bun's (the app
  // has no 505), the app's own answer is then missing.
  const bunParser = (status: number) => status === 505 && i.transport === 'cl-short'
  if (o.status !== undefined && o.status >= 500 && !bunParser(o.status)) problems.push(`answered ${o.status}: ${(o.body ?? '').slice(0, 300)}`)
  for (const m of o.more) if (m.status >= 500 && !bunParser(m.status)) problems.push(`a further answer on the connection was ${m.status}`)
  // Bun's parser answers what is not HTTP it routes (a bad framing, an asterisk-form target) itself.
  const bunItself = FRAMING_ERRORS.has(i.transport) || !i.path.startsWith('/')
  if (o.status !== undefined && o.status >= 400 && i.json && i.method !== 'HEAD' && !bunItself) {
    const shape = errorShapeProblem(o.contentType ?? null, o.body ?? '')
    if (shape) problems.push(`error answer ${o.status} is not the API's JSON: ${shape}`)
  }
  if (o.status === undefined && i.transport === 'fetch') problems.push(o.note ?? 'no answer')
  return problems
}

/** Error lines of a pod's log since `from` (an unexpected exception is logged as `http.error`). */
function errorLogs(p: TestPod, from: number): string[] {
  return p.logs.slice(from).filter((l) => l.level === 'error').map((l) => JSON.stringify(l).slice(0, 600))
}

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

describe('fuzz', () => {
  let a: TestPod
  let b: TestPod
  let c: Identity
  let aRecipient: { fingerprint: string; encryptKey: CryptoKey }
  let aVerifyKey: CryptoKey
  let cRecipient: { fingerprint: string; encryptKey: CryptoKey }
  let own: Video
  let bFixture: Video
  let tokens: { admin: string; owner: string; other: string; foreign: string }
  const ownerName = 'fuzzowner'

  /** Waits until pod A has nothing in flight (outbox delivered, views flushed) and its database is still. */
  async function quiescent(): Promise<Map<string, string>> {
    const db = a.running.pod.db
    await until(() => (db.query('SELECT (SELECT count(*) FROM outbox) + (SELECT count(*) FROM pending_views) AS n').get() as { n: number }).n === 0, 10_000, 'an empty outbox')
    let last = snapshot(db)
    for (;;) {
      await Bun.sleep(20)
      const now = snapshot(db)
      if (snapshotDiff(last, now).length === 0) return now
      last = now
    }
  }

  beforeAll(async () => {
    const limitsOff = { messagesPerMinute: 1_000_000, messagesPerMinutePerAddress: 1_000_000, requestsPerHour: 1_000_000 }
    ;[a, b] = await Promise.all([
      netPod({ friends: limitsOff, transcoding: { enabled: false }, network: { allowPrivateAddresses: true, fetchTimeoutMs: 1000 } }),
      netPod({ transcoding: { enabled: false } }),
    ])
    const made = await a.running.pod.making.makeFriends([b.base])
    if (made[0]?.status !== 'added') throw new Error(`the pods did not become friends: ${JSON.stringify(made)}`)
    c = (await newIdentity()).identity
    const aKeys = await importPeerKey(a.running.pod.identity.publicJwk)
    aRecipient = { fingerprint: fp(a), encryptKey: aKeys.encryptKey }
    aVerifyKey = aKeys.verifyKey
    cRecipient = { fingerprint: c.fingerprint, encryptKey: (await importPeerKey(c.publicJwk)).encryptKey }

    const accounts = a.running.pod.accounts
    const mk = async (name: string, role?: 'admin') => {
      const u = await accounts.create(name, PASSWORD, role)
      if ('code' in u) throw new Error(u.message)
      return (await accounts.issueToken(u)).accessToken
    }
    const bUser = await b.running.pod.accounts.create('fuzzforeign', PASSWORD, 'admin')
    if ('code' in bUser) throw new Error(bUser.message)
    tokens = { admin: await mk('fuzzadmin', 'admin'), owner: await mk(ownerName), other: await mk('fuzzother'), foreign: (await b.running.pod.accounts.issueToken(bUser)).accessToken }

    const clip = await makeClip(tempDir(), { seconds: 1, faststart: true })
    const res = await uploadVideo(a.base, tokens.owner, { file: Bun.file(clip), name: 'The fuzz fixture', description: 'an own video of pod A' })
    if (res.status !== 201) throw new Error(`upload failed: ${res.status} ${await res.text()}`)
    own = (await res.json()) as Video
    bFixture = publish(b, { id: videoId(b, 'fixture'), name: 'A friend video' })
    await until(() => a.running.pod.db.query('SELECT 1 FROM videos WHERE id = ?').get(bFixture.id), 10_000, "B's video in A's index")
    // Its details, fetched once from B, stay cached (detailsTtlSeconds): later reads change nothing.
    const details = await fetch(`${a.base}/api/v1/videos/${bFixture.id}/details`)
    if (details.status !== 200) throw new Error(`details of B's video: ${details.status}`)
    await until(async () => (await b.running.pod.db.query('SELECT count(*) AS n FROM outbox').get() as { n: number }).n === 0, 10_000, "B's empty outbox")
    await quiescent()
  })

  /**
   * Runs `count` inputs from `next` one at a time against pod A, checking each answer and that
   * the database changed only where allowed. Returns the problems found.
   */
  async function runPart(part: string, count: number, next: (n: number) => Promise<Input> | Input, after?: (i: Input, o: Outcome) => Promise<string[]>): Promise<string[]> {
    const failures: string[] = []
    const tally = new Tally()
    const logsFrom = [a.logs.length, b.logs.length]
    const t0 = performance.now()
    let before = await quiescent()
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
      let now = snapshot(a.running.pod.db)
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
        now = await quiescent()
      } else if (input.mayChange && (outcome.status === undefined || outcome.status < 300)) {
        // A change may still be on its way (a delivery, an actor): let it land before the next baseline.
        now = await quiescent()
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
      const diff = snapshotDiff(start, await quiescent())
      if (diff.length) failures.push(`the database of ${part} differs from its start:\n  ${diff.join('\n  ')}`)
    }
    tally.print(part, count, performance.now() - t0)
    if (failures.length) console.log(`fuzz ${part}: ${failures.length} problem(s) (seed ${SEED}):\n${failures.slice(0, 25).join('\n\n')}`)
    return failures
  }

  // --- 1. the inbox -----------------------------------------------------------------------

  test('the inbox: random, mutated and sealed hostile bodies', async () => {
    const r = new Rng(SEED ^ 0x1b0c)
    const bId = b.running.pod.identity
    const now = () => Math.floor(Date.now() / 1000)
    const infoHash = /btih:([0-9a-f]{40})/.exec(own.magnetUri)![1]!
    const bVideo = (n: number): Video => ({ ...bFixture, id: videoId(b, `fz${n}`), name: `fuzz ${n}`, createdAt: new Date().toISOString() })
    const applied: string[] = []

    /** A message's `data` that fits its type, for the types the registry knows. */
    const goodData = (type: string, n: number): unknown => {
      switch (type) {
        case 'friend.request':
          return { url: r.pick([b.base, ...SAFE_URLS]), publicKey: r.chance(0.7) ? bId.publicJwk : c.publicJwk, name: randomString(r, 50) }
        case 'pod.moved':
          return { url: r.pick([b.base, ...SAFE_URLS]) }
        case 'video.add':
        case 'video.update':
          return r.chance(0.8) ? bVideo(r.int(40)) : { ...bVideo(n), id: own.id }
        case 'video.remove':
          return { id: r.chance(0.5) ? videoId(b, `fz${r.int(40)}`) : randomString(r, 64) || 'x' }
        case 'video.mirror':
        case 'video.unmirror':
          return { id: r.chance(0.5) ? own.id : bFixture.id, infoHash: r.chance(0.7) ? infoHash : '0'.repeat(40) }
        case 'video.details':
          return { id: r.pick([own.id, bFixture.id, 'nothing']) }
        case 'video.viewed':
          return { id: r.pick([own.id, bFixture.id, 'nothing']), ...(r.chance(0.5) ? { count: r.pick([1, 5, 1_000_000]) } : {}) }
        default:
          return randomJson(r, 3)
      }
    }
    const KNOWN = ['friend.request', 'friend.quit', 'pod.moved', 'video.add', 'video.update', 'video.remove', 'video.mirror', 'video.unmirror', 'video.details', 'video.viewed']
    const UNKNOWN = ['video.sparkle', '', ' ', 'VIDEO.ADD', 'video.add ', '__proto__', 'constructor', 'toString', 'hasOwnProperty', 'friend.request\u0000']

    /** A message: a known type with good, mutated or random data, or an unknown type, or not a message. */
    const message = (n: number): unknown => {
      if (r.chance(0.05)) return randomJson(r, 2)
      const type = r.chance(0.75) ? r.pick(KNOWN) : r.chance(0.7) ? r.pick(UNKNOWN) : randomString(r, 40)
      const k = r.int(10)
      let data = k < 4 ? goodData(type, n) : k < 8 ? mutateJson(r, goodData(type, n), { keepStrings: type === 'friend.request' || type === 'pod.moved' }) : randomJson(r, 3)
      // The fixture's friendship must last the run: a well-formed friend.quit would end it.
      if (type === 'friend.quit' && data !== null && typeof data === 'object' && !Array.isArray(data)) data = r.pick([[], 'quit', 1, null])
      // A URL to prove is always one that fails (or B's own) at once, never a name to resolve.
      if ((type === 'friend.request' || type === 'pod.moved') && data !== null && typeof data === 'object' && typeof (data as { url?: unknown }).url === 'string')
        data = { ...(data as object), url: r.pick([b.base, ...SAFE_URLS]) }
      return r.chance(0.03) ? { type, data, extra: randomJson(r, 1) } : { type, data }
    }

    /** A payload as `sender` would send it, then mutated. */
    const payload = (n: number, sender: { url: string; fingerprint: string }): unknown => {
      const count = r.chance(0.03) ? r.pick([1000, 10_000, 10_001]) : r.pick([0, 1, 1, 1, 2, 3, 5])
      const messages = count > 100 ? Array.from({ length: count }, (_, i) => ({ type: i % 2 ? 'fuzz.noop' : 'video.sparkle', data: i })) : Array.from({ length: count }, () => message(n))
      const p: Record<string, unknown> = { v: CURRENT_VERSION, from: { ...sender }, to: fp(a), iat: now(), jti: r.uuid(), messages }
      const mutations = r.chance(0.45) ? r.range(1, 3) : 0
      for (let m = 0; m < mutations; m++) {
        switch (r.int(9)) {
          case 0:
            p.v = r.pick(['1', 2, 0, null, [1], {}, 1.5, -1, 1e308, true, undefined])
            break
          case 1:
            p.from = r.pick([undefined, 'x', null, { url: 1, fingerprint: sender.fingerprint }, { url: sender.url, fingerprint: c.fingerprint }, { url: sender.url }, { fingerprint: sender.fingerprint }, mutateJson(r, p.from)])
            break
          case 2:
            p.to = r.pick([undefined, fp(b), c.fingerprint, `${fp(a)}x`, '', 1, null, randomString(r, 60)])
            break
          case 3:
            p.iat = r.pick([undefined, String(now()), now() - 301, now() + 301, now() - 1e6, 1e308, -1, null, now() + 0.5, [now()], now() * 1000])
            break
          case 4:
            p.jti = r.pick([undefined, '', 'x'.repeat(201), 'x'.repeat(200), 1, null, randomString(r, 300), applied.length ? r.pick(applied) : 'none', { id: 1 }])
            break
          case 5:
            p.messages = r.pick([undefined, null, {}, 'x', [null], [1], [{}], [{ type: 1 }], [{ type: null, data: 1 }], [deepValue(r.range(10, 1500))], Array.from({ length: 10_001 }, () => ({ type: 'x' }))])
            break
          case 6:
            Object.defineProperty(p, r.pick(['__proto__', 'constructor', 'extra', 'ok', 'inReplyTo', 'results']), { value: randomJson(r, 2), enumerable: true, configurable: true, writable: true })
            break
          case 7:
            // A big string somewhere: some stay under the 4 MiB body limit once sealed, some do not.
            ;(p.messages as unknown[] | undefined)?.push?.({ type: r.pick(['video.sparkle', 'video.add', 'video.remove']), data: { id: 'x'.repeat(r.pick([65, 1000, 100_000, 1_500_000, 2_400_000])) } })
            break
          default:
            return mutateJson(r, p)
        }
      }
      return p
    }

    const signBytes = (bytes: Uint8Array, signer: Identity, header: Record<string, unknown> = { alg: 'PS256', kid: signer.fingerprint }) =>
      new CompactSign(bytes).setProtectedHeader(header as { alg: string }).sign(signer.signKey)
    const encrypt = (text: string, to = aRecipient, header: Record<string, unknown> = { alg: 'RSA-OAEP-256', enc: 'A256GCM', kid: to.fingerprint, cty: 'JWT' }) =>
      new CompactEncrypt(enc.encode(text)).setProtectedHeader(header as { alg: string; enc: string }).encrypt(to.encryptKey)
    const sealJson = async (p: unknown, signer: Identity, to = aRecipient) => encrypt(await signBytes(enc.encode(JSON.stringify(p)), signer), to)
    const b64 = (s: string | Uint8Array) => Buffer.from(s).toString('base64url')

    // Real JWEs to cut and flip: payloads already applied (a copy that still decrypts is a
    // duplicate) and payloads the inbox refuses (invalid_message).
    const pool: string[] = []
    for (let k = 0; k < 8; k++) {
      const p = { v: 1, from: { url: b.base, fingerprint: fp(b) }, to: fp(a), iat: now(), jti: `pool-${SEED}-${k}`, messages: [{ type: 'fuzz.noop', data: k }] }
      const jwe = await sealJson(p, bId)
      const res = await fetch(`${a.base}/api/v1/pod/inbox`, { method: 'POST', headers: { 'content-type': 'application/jose' }, body: jwe })
      if (res.status !== 200) throw new Error(`pool payload ${k}: ${res.status} ${await res.text()}`)
      applied.push(p.jti)
      pool.push(jwe)
      pool.push(await sealJson({ ...p, jti: `bad-${SEED}-${k}`, messages: [{ type: 'video.remove', data: { id: '' } }] }, bId))
    }
    await quiescent()

    const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
    const mutateJwe = (jwe: string): string => {
      const parts = jwe.split('.')
      switch (r.int(8)) {
        case 0: {
          // Characters replaced (within the alphabet, or not).
          const chars = [...jwe]
          for (let t = r.range(1, 8); t > 0; t--) chars[r.int(chars.length)] = r.chance(0.8) ? r.pick([...B64URL]) : r.pick(['.', '=', '+', '/', ' ', '\n', '\0', 'é'])
          return chars.join('')
        }
        case 1: {
          const other = r.pick(pool).split('.')
          const i = r.int(5)
          parts[i] = other[i]!
          return parts.join('.')
        }
        case 2:
          parts.splice(r.int(parts.length), 1)
          return parts.join('.')
        case 3:
          parts.splice(r.int(parts.length), 0, parts[r.int(parts.length)]!)
          return parts.join('.')
        case 4:
          return `${jwe}.${jwe}`
        case 5:
          return `  \n${jwe}\r\n\t `
        case 6:
          parts[0] = b64(JSON.stringify(mutateJson(r, JSON.parse(Buffer.from(parts[0]!, 'base64url').toString()))))
          return parts.join('.')
        default:
          return jwe.toUpperCase()
      }
    }

    const jweShaped = (): string => {
      const header = r.pick<unknown>([
        { alg: 'RSA-OAEP-256', enc: 'A256GCM', kid: fp(a) },
        { alg: 'RSA-OAEP', enc: 'A256GCM' },
        { alg: 'dir', enc: 'A256GCM' },
        { alg: 'PBES2-HS512+A256KW', enc: 'A256GCM', p2c: 100_000_000, p2s: 'AAAA' },
        { alg: 'RSA-OAEP-256', enc: 'A128CBC-HS256', zip: 'DEF' },
        { alg: 'ECDH-ES', enc: 'A256GCM', epk: { kty: 'EC', crv: 'P-256', x: 'AA', y: 'AA' } },
        { alg: 'none' },
        { alg: 'RSA-OAEP-256', enc: 'A256GCM', crit: ['exp'], exp: 1 },
        randomJson(r, 2),
      ])
      const seg = () => (r.chance(0.8) ? b64(r.bytes(r.length(600))) : randomString(r, 40))
      const first = r.chance(0.85) ? b64(JSON.stringify(r.chance(0.5) ? header : mutateJson(r, header))) : seg()
      return [first, seg(), seg(), seg(), seg()].slice(0, r.chance(0.8) ? 5 : r.range(1, 7)).join('.')
    }

    /**
     * A JWE to A of some plaintext other than a plain good JWS: what the layers under the
     * payload must refuse; or (with `jti`) a good payload of B's in an unusual wrapping (no
     * `kid` in the JWE, another `cty`, duplicate keys in its JSON) that the inbox may apply.
     */
    const customPlaintext = async (): Promise<{ body: string; jti?: string }> => {
      const jti = r.uuid()
      const payloadText = JSON.stringify({ v: 1, from: { url: b.base, fingerprint: fp(b) }, to: fp(a), iat: now(), jti, messages: [] })
      switch (r.int(9)) {
        case 0:
          return { body: await encrypt(randomString(r, 500)) }
        case 1:
          return { body: await encrypt(`${b64(JSON.stringify({ alg: 'none', kid: fp(b) }))}.${b64(payloadText)}.`) }
        case 2: {
          const header = r.pick<unknown>([{ alg: 'PS256' }, { alg: 'PS256', kid: 123 }, { alg: 'HS256', kid: fp(b) }, { alg: 'RS256', kid: fp(b) }, { alg: 'PS256', kid: fp(b), crit: ['b64'], b64: false }, randomJson(r, 2)])
          return { body: await encrypt(`${b64(JSON.stringify(header))}.${b64(payloadText)}.${b64(r.bytes(256))}`) }
        }
        case 3:
          // A plausible JWS whose signature is not B's.
          return { body: await encrypt(`${b64(JSON.stringify({ alg: 'PS256', kid: fp(b) }))}.${b64(payloadText)}.${b64(r.bytes(256))}`) }
        case 4:
          // Signed by B, but not a JSON object.
          return { body: await encrypt(await signBytes(enc.encode(r.pick(['null', '[]', '1', '"s"', 'true', '', '{', '\ufeff{}', deepNesting(r, r.range(1000, 200_000))])), bId)) }
        case 5:
          return { body: await encrypt(await signBytes(r.bytes(r.length(2000)), bId)) }
        case 6:
          // Signed by C, but claiming B's kid.
          return { body: await encrypt(await signBytes(enc.encode(payloadText), c, { alg: 'PS256', kid: fp(b) })) }
        case 7: {
          const header = r.pick<Record<string, unknown>>([{ alg: 'RSA-OAEP-256', enc: 'A256GCM' }, { alg: 'RSA-OAEP-256', enc: 'A256GCM', kid: fp(a), cty: 'text/plain', extra: randomJson(r, 2) }])
          return { body: await encrypt(await signBytes(enc.encode(payloadText), bId), aRecipient, header), jti }
        }
        default:
          // A JSON payload as text, with duplicate keys and __proto__, signed by B.
          return {
            body: await encrypt(await signBytes(enc.encode(`{"v":1,"v":1,"__proto__":{"v":2},"from":{"url":"${b.base}","fingerprint":"${fp(b)}"},"to":"${fp(a)}","iat":${now()},"jti":"${jti}","messages":[],"messages":[{"type":"video.sparkle","data":null}]}`), bId)),
            jti,
          }
      }
    }

    const OTHER_TYPES = ['APPLICATION/JOSE; charset=utf-8', 'application/jose ; x=y', 'application/jose+json', 'application/json', 'text/plain', '', 'multipart/form-data', 'application/x-www-form-urlencoded']
    const next = async (n: number): Promise<Input> => {
      const k = r.float()
      let kind: string
      let body: Uint8Array | string
      let mayChange = false
      let jti: string | undefined
      if (k < 0.08) {
        kind = 'random-bytes'
        body = r.bytes(r.chance(0.05) ? r.pick([1 << 20, 4 * 1024 * 1024, 4 * 1024 * 1024 + 1]) : r.length(5000))
      } else if (k < 0.16) {
        kind = 'jwe-shaped'
        body = jweShaped()
      } else if (k < 0.24) {
        kind = 'truncated-jwe'
        const jwe = r.pick(pool)
        body = jwe.slice(0, r.int(jwe.length))
      } else if (k < 0.36) {
        kind = 'mutated-jwe'
        body = mutateJwe(r.pick(pool))
      } else if (k < 0.48) {
        kind = 'custom-plaintext'
        const made = await customPlaintext()
        body = made.body
        jti = made.jti
        mayChange = jti !== undefined
      } else if (k < 0.86) {
        kind = 'sealed-by-friend'
        const p = payload(n, { url: b.base, fingerprint: fp(b) }) as { jti?: unknown } | null
        body = await sealJson(p, bId)
        mayChange = true
        jti = typeof p?.jti === 'string' ? p.jti : undefined
      } else if (k < 0.95) {
        kind = 'sealed-by-stranger'
        const p = payload(n, { url: 'http://127.0.0.1:1', fingerprint: c.fingerprint }) as Record<string, unknown>
        // Mostly the one message a stranger may send; its URL is one that fails (or B's: not C's key).
        if (r.chance(0.6) && p !== null && typeof p === 'object')
          p.messages = [{ type: 'friend.request', data: mutateJson(r, { url: r.pick(SAFE_URLS.concat(b.base)), publicKey: r.pick([c.publicJwk, bId.publicJwk, { kty: 'RSA', n: 'AQAB', e: 'AQAB' }, { kty: 'EC', crv: 'P-256' }]) }, { keepStrings: true }) }]
        body = await sealJson(p, c)
      } else {
        kind = 'sealed-to-another-pod'
        const p = payload(n, { url: b.base, fingerprint: fp(b) })
        const jws = await signBytes(enc.encode(JSON.stringify(p)), bId)
        body = await encrypt(jws, cRecipient, { alg: 'RSA-OAEP-256', enc: 'A256GCM', cty: 'JWT', ...r.pick([{ kid: c.fingerprint }, { kid: fp(a) }, {}]) })
      }
      const headers: Record<string, string> = {}
      const ct = r.chance(0.8) ? 'application/jose' : r.chance(0.8) ? r.pick(OTHER_TYPES) : headerString(r, 40)
      if (ct !== '' || r.chance(0.5)) headers['content-type'] = ct
      if (r.chance(0.2)) headers['x-forwarded-for'] = r.pick([headerString(r, 60), '1.2.3.4', '::1, 10.0.0.1', 'unknown', '999.1.1.1', '1.2.3.4'.repeat(100)])
      const t = r.float()
      const transport: Input['transport'] =
        t < 0.82 ? 'fetch' : t < 0.88 ? 'chunked' : t < 0.91 ? 'cl-short' : t < 0.94 ? 'cl-long-halfclose' : t < 0.95 ? 'cl-long-wait' : t < 0.975 ? 'cl-and-te' : 'cl-garbage'
      // An applied payload is only one sent whole, as a friend sends it.
      if (transport !== 'fetch' && transport !== 'chunked') mayChange = false
      if (typeof body === 'string' && r.chance(0.03)) body = ''
      return { part: 'inbox', n, kind, method: 'POST', path: '/api/v1/pod/inbox', headers, body, transport, mayChange, json: true, jti }
    }

    const after = async (i: Input, o: Outcome): Promise<string[]> => {
      if (o.status !== 200) return []
      if (o.contentType?.includes('application/jose')) {
        if (!i.mayChange) return ['a sealed reply (applied) for an input that is not a whole payload from the friend']
        const reply = await openReply(o.body ?? '', bId, { fingerprint: fp(a), verifyKey: aVerifyKey }, i.jti ?? '', Date.now())
        if (!reply.ok) return [`the sealed reply does not open: ${reply.reason}`]
        if (i.jti) applied.push(i.jti)
        return []
      }
      let duplicate = false
      try {
        duplicate = (JSON.parse(o.body ?? '') as { duplicate?: unknown }).duplicate === true
      } catch {}
      return duplicate ? [] : [`a 200 that is neither a sealed reply nor a duplicate: ${(o.body ?? '').slice(0, 200)}`]
    }

    const failures = await runPart('inbox', COUNTS.inbox, next, after)
    // The fixture's friendship survived the run.
    expect(a.running.pod.friends.store.get(fp(b))).toBeDefined()
    expect(failures).toEqual([])
  })

  // --- 2 and 3. every route ---------------------------------------------------------------

  type Auth = 'none' | 'identify' | 'watch' | 'user' | 'admin'
  type BodyKind = 'none' | 'credentials' | 'edit' | 'details' | 'make' | 'upload'
  interface Route {
    method: string
    path: string
    auth: Auth
    body: BodyKind
    mutating: boolean
    /** Errors are the API's JSON (false: pages, the tracker, file bodies). */
    json: boolean
    weight: number
  }
  const route = (method: string, path: string, auth: Auth = 'none', extra: Partial<Route> = {}): Route => ({
    method,
    path,
    auth,
    body: 'none',
    mutating: method !== 'GET' && method !== 'HEAD' && method !== 'OPTIONS',
    json: true,
    weight: 1,
    ...extra,
  })
  /** Every route of the app (src/*\/routes.ts, src/torrents/tracker-routes.ts), the inbox aside (part 1). */
  const ROUTES: Route[] = [
    route('GET', '/api/v1/pod'),
    route('HEAD', '/api/v1/pod'),
    route('GET', '/api/v1/health'),
    route('GET', '/api/v1/pod/friends'),
    route('GET', '/api/v1/friends', 'identify'),
    route('GET', '/api/v1/tracker'),
    route('POST', '/api/v1/users', 'none', { body: 'credentials', weight: 3 }),
    route('POST', '/api/v1/auth/token', 'none', { body: 'credentials', weight: 2, mutating: false }),
    route('GET', '/api/v1/users', 'admin'),
    route('GET', '/api/v1/users/me', 'user'),
    route('GET', '/api/v1/friends/:fp/scores', 'admin'),
    route('POST', '/api/v1/friends/make', 'admin', { body: 'make', weight: 3 }),
    route('POST', '/api/v1/friends/quit', 'admin'),
    route('DELETE', '/api/v1/friends/:fp', 'admin'),
    route('POST', '/api/v1/friends/:fp/retry', 'admin'),
    route('GET', '/api/v1/friends/requests', 'admin'),
    route('POST', '/api/v1/friends/requests/:fp/accept', 'admin'),
    route('DELETE', '/api/v1/friends/requests/:fp', 'admin'),
    route('GET', '/api/v1/blacklist', 'admin'),
    route('DELETE', '/api/v1/blacklist/:fp', 'admin'),
    route('GET', '/api/v1/videos', 'watch', { weight: 4 }),
    route('GET', '/api/v1/videos/:id', 'watch', { weight: 2 }),
    route('POST', '/api/v1/videos', 'user', { body: 'upload' }),
    route('PATCH', '/api/v1/videos/:id', 'user', { body: 'edit', weight: 4 }),
    route('PUT', '/api/v1/videos/:id', 'user', { body: 'edit', weight: 3 }),
    route('DELETE', '/api/v1/videos/:id', 'user', { weight: 2 }),
    route('GET', '/api/v1/videos/:id/details', 'watch', { weight: 2 }),
    route('PATCH', '/api/v1/videos/:id/details', 'user', { body: 'details', weight: 4 }),
    route('POST', '/api/v1/videos/:id/views', 'watch', { weight: 2 }),
    route('POST', '/api/v1/videos/:id/transcode', 'user', { weight: 2 }),
    route('GET', '/api/v1/videos/transcoding/jobs', 'admin'),
    route('GET', '/api/v1/videos/mirrors', 'admin'),
    route('GET', '/api/v1/storage', 'admin'),
    route('GET', '/api/v1/runners', 'admin'),
    route('DELETE', '/api/v1/runners/:id', 'admin'),
    route('GET', '/api/v1/runners/tokens', 'admin'),
    route('POST', '/api/v1/runners/tokens', 'admin'),
    route('DELETE', '/api/v1/runners/tokens/:id', 'admin'),
    // A runner's routes: no fuzzer holds a runner's secret, so each must refuse and change nothing.
    route('POST', '/api/v1/runners/register'),
    route('POST', '/api/v1/runners/jobs/claim'),
    route('GET', '/api/v1/runners/jobs/:id/source'),
    route('POST', '/api/v1/runners/jobs/:id/progress'),
    route('POST', '/api/v1/runners/jobs/:id/fail'),
    route('POST', '/api/v1/runners/jobs/:id/release'),
    route('PUT', '/api/v1/runners/jobs/:id/result'),
    route('GET', '/static/webseed/:file', 'none', { weight: 2 }),
    route('HEAD', '/static/webseed/:file'),
    route('OPTIONS', '/static/webseed/:file'),
    route('GET', '/static/torrents/:file'),
    route('OPTIONS', '/static/torrents/:file'),
    route('GET', '/static/thumbnails/:file', 'watch'),
    route('GET', '/tracker/announce', 'none', { json: false }),
    route('GET', '/tracker/scrape', 'none', { json: false }),
    route('GET', '/', 'none', { json: false }),
    route('GET', '/videos/:id', 'none', { json: false }),
    route('GET', '/upload', 'none', { json: false }),
    route('GET', '/admin', 'none', { json: false }),
    route('GET', '/assets/:file'),
    route('GET', '/vendor/webtorrent.min.js', 'none', { json: false }),
    route('GET', '/sw.min.js', 'none', { json: false }),
  ]
  const totalWeight = ROUTES.reduce((s, x) => s + x.weight, 0)
  const pickRoute = (r: Rng): Route => {
    let w = r.float() * totalWeight
    for (const x of ROUTES) if ((w -= x.weight) < 0) return x
    return ROUTES[0]!
  }

  /** One route input; `valid` chooses the credentials (a real admin or user token, or not). */
  function routeInput(r: Rng, part: string, n: number, valid: boolean): Input {
    const infoHash = /btih:([0-9a-f]{40})/.exec(own.magnetUri)![1]!
    let rt = pickRoute(r)
    let method = rt.method
    // Sometimes a method the route does not take, or a path no route has.
    let kind = `${rt.method} ${rt.path}`
    if (r.chance(0.04)) {
      method = r.pick(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD', 'PROPFIND'])
      kind = `${method}* ${rt.path}`
      rt = { ...rt, mutating: true }
    }
    const token = valid ? r.pick(['admin', 'admin', 'owner', 'owner', 'other', 'garbage'] as const) : r.pick(['none', 'none', 'none', 'garbage', 'garbage', 'foreign', 'basic', 'twoTokens', 'tampered'] as const)
    const bearer = { admin: tokens.admin, owner: tokens.owner, other: tokens.other }
    const headers: Record<string, string> = {}
    switch (token) {
      case 'none':
        break
      case 'garbage':
        headers.authorization = r.pick([`Bearer ${headerString(r, 300)}`, 'Bearer', 'Bearer ', `Bearer ${'a'.repeat(8000)}`, 'Bearer a.b.c', `Bearer ${b64url('{"alg":"none"}')}.${b64url('{"sub":"1"}')}.`, headerString(r, 80), 'Negotiate abc'])
        if (headers.authorization === '') delete headers.authorization
        break
      case 'foreign':
        // A real token of pod B (another issuer and secret).
        headers.authorization = `Bearer ${tokens.foreign}`
        break
      case 'basic':
        headers.authorization = `Basic ${Buffer.from(`${ownerName}:${PASSWORD}`).toString('base64')}`
        break
      case 'twoTokens':
        headers.authorization = `Bearer ${tokens.admin} ${tokens.admin}`
        break
      case 'tampered': {
        // A's admin token with a changed claim: the signature no longer fits.
        const [h, p, s] = tokens.admin.split('.')
        const claims = JSON.parse(Buffer.from(p!, 'base64url').toString()) as Record<string, unknown>
        headers.authorization = `Bearer ${h}.${b64url(JSON.stringify({ ...claims, sub: String(r.range(1, 5)), role: 'admin', exp: 9_999_999_999 }))}.${s}`
        break
      }
      default:
        headers.authorization = `${r.pick(['Bearer', 'bearer', 'BEARER'])} ${bearer[token]}`
    }
    const authorized = (token === 'admin' && (rt.auth !== 'none' || rt.mutating)) || ((token === 'owner' || token === 'other') && rt.auth !== 'admin')

    // Path parameters.
    const bIds = [bFixture.id, videoId(b, `fz${r.int(40)}`)]
    let id = r.pick([own.id, own.id, ...bIds, pathSegment(r), pathSegment(r), `${own.id}x`, 'transcoding', 'mirrors', safeEncode(randomString(r, 20)) || 'x'])
    let fpParam = r.pick([fp(b), fp(b), fp(a), c.fingerprint, pathSegment(r), fp(b).toUpperCase(), `${fp(b)}x`])
    let mayChange = rt.mutating && authorized
    // Anonymous views count (that is their job): in the anonymous part only unknown ids.
    if (rt.path.endsWith('/views')) {
      if (!valid) id = r.pick([pathSegment(r), `${own.id}x`, 'nothing'])
      else mayChange = true
    }
    // The fixture lives through the run: its video is not deleted, its friendship not ended.
    if (valid && method === 'DELETE' && rt.path === '/api/v1/videos/:id' && id === own.id) id = `${own.id}-not`
    if (valid && method === 'DELETE' && rt.path === '/api/v1/friends/:fp' && fpParam === fp(b)) fpParam = pathSegment(r)
    if (valid && rt.path === '/api/v1/friends/quit' && token === 'admin') headers.authorization = `Bearer ${tokens.other}`
    // A path one segment longer than the route's.
    if (r.chance(0.02)) id = `${id}/${pathSegment(r)}`
    const files = {
      '/static/webseed/:file': r.pick([`${own.id}.mp4`, `${own.id}.240.mp4`, `${own.id}.webm`, own.id, `${bFixture.id}.mp4`, `${own.id}.99999.mp4`, pathSegment(r), `${pathSegment(r)}.mp4`]),
      '/static/torrents/:file': r.pick([`${infoHash}.torrent`, `${'0'.repeat(40)}.torrent`, `${infoHash.toUpperCase()}.torrent`, pathSegment(r)]),
      '/static/thumbnails/:file': r.pick([`${own.id}.jpg`, `${bFixture.id}.jpg`, `${pathSegment(r)}.jpg`, pathSegment(r)]),
      '/assets/:file': r.pick([pathSegment(r), 'app.js', 'index-00000000.js']),
    } as Record<string, string>
    let path = rt.path.replace(':id', id).replace(':fp', fpParam).replace(':file', files[rt.path] ?? pathSegment(r))
    path += queryString(r, rt.path)

    // Headers a client (or an attacker) adds.
    if (r.chance(0.3)) headers['x-forwarded-for'] = r.pick([headerString(r, 80), '127.0.0.1', '::1', `${r.int(256)}.${r.int(256)}.${r.int(256)}.${r.int(256)}`, '1.1.1.1, 2.2.2.2', 'unknown, ::ffff:1.2.3.4', 'x'.repeat(4000)])
    if (r.chance(0.15)) headers.range = r.pick(['bytes=0-', 'bytes=-5', 'bytes=999999999-', 'bytes=5-1', 'bytes=0-1,2-3', `bytes=${headerString(r, 20)}`, 'items=0-5', 'bytes=-0', 'bytes=0-99999999999999999999'])
    if (r.chance(0.1)) headers['if-none-match'] = r.pick(['*', '"x"', headerString(r, 40)])
    if (r.chance(0.1)) headers['if-modified-since'] = r.pick(['Thu, 01 Jan 1970 00:00:00 GMT', headerString(r, 30), 'Sat, 01 Jan 3000 00:00:00 GMT'])
    if (r.chance(0.1)) headers.accept = r.pick(['*/*', 'text/html', 'application/json;q=0', headerString(r, 40)])
    if (r.chance(0.1)) headers['accept-encoding'] = r.pick(['gzip', 'br', 'identity;q=0', headerString(r, 30)])
    if (r.chance(0.05)) headers['content-encoding'] = r.pick(['gzip', 'deflate', 'br', 'x'])
    if (r.chance(0.05)) headers['x-http-method-override'] = r.pick(['DELETE', 'PUT', 'PATCH'])
    if (r.chance(0.05)) headers.origin = r.pick(['null', 'http://evil.example', headerString(r, 30)])
    if (r.chance(0.05)) headers[`x-${headerString(r, 12).toLowerCase().replace(/[^a-z0-9-]/g, '') || 'z'}`] = headerString(r, 200)

    // The body.
    let body: Uint8Array | string | undefined
    const bodyKind = rt.body === 'none' && rt.mutating && r.chance(0.3) ? 'edit' : rt.body
    if (bodyKind !== 'none' && method !== 'GET' && method !== 'HEAD') {
      const made = makeBody(r, bodyKind, valid && token === 'admin')
      body = made.body
      if (made.contentType !== undefined) headers['content-type'] = made.contentType
    }
    const t = r.float()
    const transport: Input['transport'] =
      t < 0.85 ? 'fetch' : t < 0.9 ? 'chunked' : t < 0.92 ? 'cl-short' : t < 0.94 ? 'cl-long-halfclose' : t < 0.945 ? 'cl-long-wait' : t < 0.96 ? 'cl-and-te' : t < 0.97 ? 'cl-garbage' : 'raw-path'
    if (transport === 'raw-path') path = r.pick(['/api/v1/videos/../../etc/passwd', '/api/v1/pod/../users', '//api/v1/videos', '/api/v1/videos/%', `/api/v1/videos/${own.id}/../../users`, '/./api/v1/health', '/api/v1/videos?%', '/static/webseed/..%2f..%2fdata%2fseedpod.db', `/static/webseed/${own.id}.mp4/..`, '*', '/api/v1/videos/\u00e9']) + (r.chance(0.3) ? queryString(r, '/api/v1/videos') : '')
    // Paths must be sendable by the raw client too: only ASCII.
    if (transport !== 'fetch') path = path.replace(/[^\x21-\x7e]/g, (ch) => safeEncode(ch))
    if (method === 'GET' || method === 'HEAD') mayChange = false
    // Sometimes another Host (Elysia reads the path from the URL's 11th character on: a Host
    // of 1 to 3 characters shifts it, and the request then goes to a suffix of its path).
    if (transport === 'fetch' && r.chance(0.03))
      return { part, n, kind, method, path: path.replace(/[^\x21-\x7e]/g, (ch) => safeEncode(ch)), headers, body, transport: 'raw-host', host: r.pick(['x', 'x:1', 'ab', 'abc', 'localhost', 'evil.example', '', '[::1]:1', 'a'.repeat(1000), headerString(r, 30)]), mayChange, json: rt.json }
    return { part, n, kind, method, path, headers, body, transport, mayChange, json: rt.json }
  }

  const b64url = (s: string) => Buffer.from(s).toString('base64url')

  /** A query string: mostly for the video list, sometimes for any route. */
  function queryString(r: Rng, path: string): string {
    if (path === '/static/webseed/:file' && r.chance(0.3)) return `?head=${r.pick(['1', '0', '-1', '99999999999999999', 'abc', '1e3', ''])}`
    if (path === '/vendor/webtorrent.min.js' && r.chance(0.5)) return `?v=${pathSegment(r)}`
    if (path !== '/api/v1/videos' && !r.chance(0.05)) return ''
    if (r.chance(0.1)) return r.pick(['?', '?&&=&', '?%', '?search=%', '?search=%ff%fe', '?count[]=1', '?count[a]=1', '?sort=-createdAt&sort=name', `?search=${'a'.repeat(7000)}`, '?start=1e400', '?__proto__=1', '?constructor=x'])
    const params: string[] = []
    const n = r.range(0, 5)
    for (let k = 0; k < n; k++) {
      const key = r.pick(['search', 'search', 'start', 'count', 'sort', 'scope', randomString(r, 10)])
      const values: Record<string, () => string> = {
        search: () => (r.chance(0.6) ? randomString(r, 120) : r.pick(['fuzz', 'fixture', 'the fuzz', 'fu', '"', '*', 'a OR b', 'NEAR(a b)', '-x', 'x'.repeat(201), 'é ', 'İ'])),
        start: () => r.pick(['0', '1', '-1', '1000000', '1000001', '1.5', 'abc', '', '1e3', '0x10', ' 1']),
        count: () => r.pick(['1', '100', '101', '0', '-1', '20', '1.5', 'abc', '', 'NaN', 'Infinity']),
        sort: () => r.pick(['-createdAt', 'createdAt', 'name', '-name', 'relevance', 'Name', '', randomString(r, 10)]),
        scope: () => r.pick(['local', 'network', 'LOCAL', '', 'all', randomString(r, 10)]),
      }
      params.push(`${safeEncode(key)}=${safeEncode(Object.hasOwn(values, key) ? values[key]!() : randomString(r, 30))}`)
    }
    return params.length ? `?${params.join('&')}` : ''
  }

  /** A body for a route that takes one: its template mutated, random JSON, broken JSON, deep nesting, other encodings. */
  function makeBody(r: Rng, kind: BodyKind, adminMake: boolean): { body: Uint8Array | string; contentType?: string } {
    const templates: Record<string, () => unknown> = {
      credentials: () => ({ username: r.pick([ownerName, 'fuzzadmin', randomString(r, 40)]), password: r.pick([PASSWORD, randomString(r, 60)]) }),
      edit: () => ({ name: r.pick(['Renamed by the fuzz', randomString(r, 150)]), description: r.pick(['A description', randomString(r, 400)]) }),
      details: () => ({ description: randomString(r, 300), tags: ['music', randomString(r, 30)], license: r.pick(['CC-BY-4.0', randomString(r, 50), null]), language: r.pick(['en', 'pt-br', randomString(r, 10), null]) }),
      make: () => ({ pods: Array.from({ length: r.range(1, 4) }, () => r.pick(SAFE_URLS)) }),
    }
    if (kind === 'upload') {
      const boundary = r.pick(['x', 'fuzzboundary', '', headerString(r, 70)])
      const part = (name: string, value: string | Uint8Array, filename?: string) =>
        Buffer.concat([enc.encode(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"${filename !== undefined ? `; filename="${filename}"` : ''}\r\n\r\n`), typeof value === 'string' ? enc.encode(value) : value, enc.encode('\r\n')])
      const parts = [
        ...(r.chance(0.8) ? [part('name', randomString(r, 150))] : []),
        ...(r.chance(0.5) ? [part('description', randomString(r, 200))] : []),
        ...(r.chance(0.7) ? [part(r.pick(['file', 'file', 'other']), r.bytes(r.length(20_000)), r.pick(['a.mp4', '../../x', '', headerString(r, 40)]))] : []),
      ]
      const bodyBytes = Buffer.concat([...parts, enc.encode(r.chance(0.8) ? `--${boundary}--\r\n` : '')])
      return { body: r.chance(0.2) ? mutateText(r, bodyBytes.toString('latin1')) : bodyBytes, contentType: r.chance(0.85) ? `multipart/form-data; boundary=${boundary}` : r.pick(['multipart/form-data', 'application/json', 'text/plain', headerString(r, 40)]) }
    }
    const template = (templates[kind] ?? (() => ({ x: 1 })))()
    const JSON_TYPES = ['application/json', 'application/json', 'application/json; charset=utf-8', 'APPLICATION/JSON', 'application/vnd.api+json', 'text/json']
    const OTHER_TYPES = ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data', 'multipart/form-data; boundary=x', 'application/octet-stream', 'application/jose', '', 'application/json; charset=utf-16']
    const contentType = r.chance(0.75) ? r.pick(JSON_TYPES) : r.chance(0.8) ? r.pick(OTHER_TYPES) : headerString(r, 40)
    const k = r.float()
    // Friend making by an admin fetches what it is given: only URLs that fail at once.
    if (adminMake && kind === 'make') {
      const v = k < 0.6 ? mutateJson(r, template, { keepStrings: true }) : r.pick<unknown>([{ pods: [] }, { pods: 'http://127.0.0.1:1' }, { pods: Array(101).fill('http://127.0.0.1:1') }, { pods: [1, null] }, null, [], { pods: ['not a url'] }])
      return { body: JSON.stringify(v) ?? 'null', contentType }
    }
    if (k < 0.5) return { body: JSON.stringify(mutateJson(r, template)) ?? '', contentType }
    if (k < 0.6) return { body: JSON.stringify(template), contentType }
    if (k < 0.68) return { body: JSON.stringify(randomJson(r, 4)) ?? 'null', contentType }
    if (k < 0.78) return { body: mutateText(r, JSON.stringify(template)), contentType }
    if (k < 0.82) return { body: deepNesting(r, r.range(100, 30_000)), contentType }
    if (k < 0.86) return { body: r.bytes(r.length(3000)), contentType }
    if (k < 0.89) return { body: '', contentType }
    if (k < 0.93) {
      const o = template as Record<string, unknown>
      return { body: Object.entries(o).map(([key, v]) => `${safeEncode(key)}=${safeEncode(typeof v === 'string' ? v : JSON.stringify(v) ?? '')}`).join('&') + (r.chance(0.3) ? `&${safeEncode(randomString(r, 10))}=1&name=2` : ''), contentType: 'application/x-www-form-urlencoded' }
    }
    if (k < 0.96) {
      const fields = Object.entries(template as Record<string, unknown>).map(([key, v]) => `--fz\r\nContent-Disposition: form-data; name="${key}"\r\n\r\n${typeof v === 'string' ? v : JSON.stringify(v)}\r\n`)
      return { body: `${fields.join('')}--fz--\r\n`, contentType: 'multipart/form-data; boundary=fz' }
    }
    // Around the 64 KiB limit of JSON bodies (4 KiB for credentials).
    const size = r.pick([4095, 4097, 65_535, 65_537, 70_000, 200_000])
    return { body: JSON.stringify({ name: 'x'.repeat(Math.max(0, size - 12)) }), contentType }
  }

  test('every route, anonymous or with invalid credentials: no 5xx, JSON errors, no change', async () => {
    const r = new Rng(SEED ^ 0x2a17)
    const failures = await runPart('routes-anonymous', COUNTS.anonymous, (n) => routeInput(r, 'routes-anonymous', n, false))
    expect(failures).toEqual([])
  })

  test('every route with admin and user tokens: no 5xx, JSON errors, changes only by authorized 2xx', async () => {
    const r = new Rng(SEED ^ 0x3c55)
    const failures = await runPart('routes-authenticated', COUNTS.authenticated, (n) => routeInput(r, 'routes-authenticated', n, true))
    // The fixture survived: the own video, the friendship.
    expect(a.running.pod.videos.localFile(own.id)).toBeDefined()
    expect(a.running.pod.friends.store.get(fp(b))).toBeDefined()
    expect(failures).toEqual([])
  })

  // --- 4. a child pod: big bodies and memory ----------------------------------------------

  test('a child pod refuses big bodies without reading them, and its memory stays bounded', async () => {
    const r = new Rng(SEED ^ 0x4d01)
    const dir = tempDir()
    const port = await freePort()
    const child: Child = spawnCli(['serve', '--host', '127.0.0.1', '--port', String(port), '--data-dir', `${dir}/data`, '--log-format', 'json', '--log-level', 'warn'], {
      cwd: dir,
      env: childEnv({ SEEDPOD_TRUST_PROXY: 'true' }),
    })
    const failures: string[] = []
    try {
      const doc = (await waitForPod(`http://127.0.0.1:${port}`, child)) as { fingerprint: string; publicKey: Parameters<typeof importPeerKey>[0] }
      const to = { fingerprint: doc.fingerprint, encryptKey: (await importPeerKey(doc.publicKey)).encryptKey }
      const stranger = c
      const seal = async (p: unknown) =>
        new CompactEncrypt(enc.encode(await new CompactSign(enc.encode(JSON.stringify(p))).setProtectedHeader({ alg: 'PS256', kid: stranger.fingerprint }).sign(stranger.signKey)))
          .setProtectedHeader({ alg: 'RSA-OAEP-256', enc: 'A256GCM', kid: to.fingerprint, cty: 'JWT' })
          .encrypt(to.encryptKey)
      const strangerPayload = () => ({
        v: 1,
        from: { url: 'http://127.0.0.1:1', fingerprint: stranger.fingerprint },
        to: to.fingerprint,
        iat: Math.floor(Date.now() / 1000),
        jti: r.uuid(),
        messages: [{ type: 'friend.request', data: { url: r.pick(SAFE_URLS), publicKey: stranger.publicJwk, name: 'x'.repeat(r.pick([10, 100_000, 1_000_000])) } }],
      })
      const check = (what: string, o: Outcome, json = true) => {
        const problems = answerProblems({ part: 'child', n: 0, kind: what, method: 'POST', path: what, headers: {}, transport: 'fetch', mayChange: false, json }, o)
        if (problems.length) failures.push(`${what}: ${o.status ?? o.note} ${(o.body ?? '').slice(0, 200)}\n    - ${problems.join('\n    - ')}`)
      }
      const post = async (path: string, body: Uint8Array | string, contentType: string, headers: Record<string, string> = {}): Promise<Outcome> => {
        try {
          const res = await fetch(`http://127.0.0.1:${port}${path}`, { method: 'POST', headers: { 'content-type': contentType, ...headers }, body: body as BodyInit })
          return { status: res.status, contentType: res.headers.get('content-type'), body: await res.text(), more: [] }
        } catch (e) {
          return { more: [], note: `fetch failed: ${(e as Error).message}` }
        }
      }

      // Warm up what a first request loads (the app, jose, the parsers), then measure idle.
      for (let k = 0; k < 20; k++) {
        await post('/api/v1/pod/inbox', await seal(strangerPayload()), 'application/jose')
        await post('/api/v1/auth/token', '{"username":"nobody","password":"nothing"}', 'application/json')
        await fetch(`http://127.0.0.1:${port}/api/v1/videos?search=x`).then((res) => res.text())
      }
      await Bun.sleep(500)
      const idle = Math.min(await rssOf(child.pid), await Bun.sleep(100).then(() => rssOf(child.pid)))
      let peak = idle
      const sampler = setInterval(() => {
        rssOf(child.pid).then((v) => (peak = Math.max(peak, v)), () => undefined)
      }, 50)

      // 100 MB claimed by Content-Length, not one byte sent: refused at once (the pod does not wait for the body).
      const claim = 100 * 1024 * 1024
      const claimed: string[] = []
      for (const [path, type] of [
        ['/api/v1/pod/inbox', 'application/jose'],
        ['/api/v1/videos/x', 'application/json'],
        ['/api/v1/auth/token', 'application/json'],
        ['/api/v1/friends/make', 'application/json'],
        ['/api/v1/nothing-here', 'application/json'],
        ['/api/v1/videos', 'multipart/form-data; boundary=x'],
      ] as const) {
        const method = path === '/api/v1/videos/x' ? 'PATCH' : 'POST'
        const res = await rawHttp(port, `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: ${type}\r\nContent-Length: ${claim}\r\n\r\n`, new Uint8Array(0), { timeoutMs: 10_000, expect: 1 })
        const first = res.responses[0]
        claimed.push(`${method} ${path} ${first?.status ?? 'none'}`)
        if (!first) failures.push(`${method} ${path} with Content-Length ${claim} and no body: no answer within 10 s (the pod waits for the body)`)
        else {
          check(`${method} ${path} claiming ${claim} bytes`, { status: first.status, contentType: first.headers['content-type'], body: first.body, more: [] })
          if (first.status !== 413 && first.status !== 401) failures.push(`${method} ${path} claiming ${claim} bytes: expected 413 (or 401 before an upload), got ${first.status}`)
        }
      }

      // Streamed past the limit (chunked, 16 MiB offered): refused having read about the limit.
      for (let k = 0; k < 4; k++) {
        const chunk = r.bytes(64 * 1024)
        const res = await rawHttp(port, `POST /api/v1/pod/inbox HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/jose\r\nTransfer-Encoding: chunked\r\n\r\n`, Array.from({ length: 256 }, () => Buffer.concat([enc.encode('10000\r\n'), chunk, enc.encode('\r\n')])), { timeoutMs: 10_000, expect: 1, stopWritingOnAnswer: true })
        const first = res.responses[0]
        if (!first) failures.push(`a chunked inbox body of 16 MiB: no answer within 10 s (written ${res.written} bytes)`)
        else {
          check('a chunked inbox body of 16 MiB', { status: first.status, contentType: first.headers['content-type'], body: first.body, more: [] })
          if (first.status !== 413) failures.push(`a chunked inbox body of 16 MiB: expected 413, got ${first.status}`)
        }
      }

      // Hostile bodies the pod must read and refuse: big random JWE-like bodies up to the
      // limit, big sealed friend requests of a stranger, JSON bodies at their limit, deep
      // nesting, and logins with X-Forwarded-For garbage (trustProxy is on).
      let bytesSent = 0
      for (let n = 0; n < COUNTS.child; n++) {
        const k = r.int(6)
        let o: Outcome
        let what: string
        if (k === 0) {
          const size = r.pick([1 << 20, 2 << 20, 4 * 1024 * 1024 - 10, 4 * 1024 * 1024 + 1])
          what = `inbox, ${size} random base64url bytes in five parts`
          const text = Buffer.from(r.bytes(Math.floor((size * 3) / 4))).toString('base64url')
          const cut = (i: number) => Math.floor((text.length * i) / 5)
          o = await post('/api/v1/pod/inbox', [0, 1, 2, 3, 4].map((i) => text.slice(cut(i), cut(i + 1))).join('.'), 'application/jose')
          bytesSent += size
        } else if (k === 1) {
          what = 'inbox, a sealed friend request of a stranger'
          o = await post('/api/v1/pod/inbox', await seal(strangerPayload()), 'application/jose', { 'x-forwarded-for': r.pick(['1.2.3.4', headerString(r, 40), `10.0.${r.int(256)}.${r.int(256)}`]) })
        } else if (k === 2) {
          what = 'PATCH /api/v1/videos/x, 60 KiB of JSON'
          o = await fetch(`http://127.0.0.1:${port}/api/v1/videos/x`, { method: 'PATCH', headers: { 'content-type': 'application/json', authorization: 'Bearer x' }, body: JSON.stringify({ name: randomString(r, 10).repeat(3000).slice(0, 60_000) }) }).then(async (res) => ({ status: res.status, contentType: res.headers.get('content-type'), body: await res.text(), more: [] }))
          bytesSent += 60_000
        } else if (k === 3) {
          what = 'POST /api/v1/friends/make, deep nesting'
          o = await post('/api/v1/friends/make', deepNesting(r, 32_000), 'application/json')
        } else if (k === 4) {
          what = 'POST /api/v1/auth/token, X-Forwarded-For garbage'
          // A few real attempts only: each costs an argon2 verification.
          const body = n % 20 === 0 ? JSON.stringify({ username: mutateString(r, 'admin'), password: randomString(r, 40) || 'x' }) : JSON.stringify({ username: 1 })
          o = await post('/api/v1/auth/token', body, 'application/json', { 'x-forwarded-for': r.pick([headerString(r, 100), '1.1.1.1, 2.2.2.2', 'unknown']) })
        } else {
          what = 'inbox, random bytes'
          o = await post('/api/v1/pod/inbox', r.bytes(r.length(100_000)), r.pick(['application/jose', 'text/plain']))
        }
        check(what, o)
      }
      clearInterval(sampler)
      await Bun.sleep(1000)
      const after = await rssOf(child.pid)
      const mb = (x: number) => `${(x / 1024 / 1024).toFixed(0)} MB`
      console.log(`fuzz child: 100 MB claimed, no body sent: ${claimed.join(', ')}`)
      console.log(`fuzz child: ${COUNTS.child} hostile inputs (${mb(bytesSent)} of bodies) + 6 claims of 100 MB + 4 chunked bodies of 16 MiB; RSS idle ${mb(idle)}, peak ${mb(peak)}, after ${mb(after)} (limit: idle + ${mb(RSS_GROWTH_LIMIT)})`)
      if (after - idle > RSS_GROWTH_LIMIT) failures.push(`the child's RSS grew from ${mb(idle)} to ${mb(after)} (peak ${mb(peak)})`)
      const errors = child.stderr.split('\n').filter((l) => l.includes('"level":"error"'))
      for (const e of errors.slice(0, 10)) failures.push(`the child logged an error: ${e.slice(0, 500)}`)
      expect(child.proc.exitCode).toBeNull()
    } finally {
      child.proc.kill('SIGTERM')
      await child.exit(10_000)
    }
    if (failures.length) console.log(`fuzz child: ${failures.length} problem(s) (seed ${SEED}):\n${failures.join('\n\n')}`)
    expect(failures).toEqual([])
  })
})
