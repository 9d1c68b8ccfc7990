/**
 * A bounded fuzz test of a child pod process (`bun src/app/cli.ts serve`, default limits but a
 * body time limit of 3 s, trustProxy on) with hostile big bodies: inbox bodies up to the limit, chunked bodies past it,
 * 100 MB claimed by a Content-Length and never sent, big sealed friend requests of a stranger,
 * JSON bodies at their limit, deep nesting, logins with X-Forwarded-For garbage, and inbox
 * bodies held open at once (`iss` variants, claims past a sender's limit, the budgets of bytes
 * in flight). Asserted: no 5xx, errors as the API's JSON (test/helpers/fuzz-inputs.ts), a
 * claimed or streamed body past the limit refused without being read, a held body cut at the
 * time limit (408) and any other refused at once, the budgets given back after, no error
 * logged, the pod still running, and its resident memory (/proc/PID/status VmRSS) after them
 * within a bound of its idle memory.
 * `FUZZ_SEED` and `FUZZ_SCALE` as in test/helpers/fuzz-fixture.ts.
 */
import { afterAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { importPeerKey, newIdentity } from '../src/identity/keys'
import { deepNesting, headerString, mutateString, randomString, Rng } from './helpers/fuzz'
import { announceSeed, COUNTS, SAFE_URLS } from './helpers/fuzz-fixture'
import { answerProblems, enc, sealJson, type Outcome } from './helpers/fuzz-inputs'
import { childEnv, removeTempDirs, spawnCli, tempDir, waitForPod, type Child } from './helpers/pods'
import { freePort } from './helpers/ports'
import { mb, rssOf } from './helpers/proc'
import { rawHttp } from './helpers/raw-http'

// A child process on a shared machine: far more than it needs.
setDefaultTimeout(120_000)
afterAll(removeTempDirs)

const SEED = announceSeed(import.meta.path)
/** The time an inbox body has to arrive whole (`inbox.bodyTimeoutMs`), short: held bodies are cut at it. */
const BODY_TIMEOUT_MS = 3000
/** How many inbox bodies are held open at once. */
const HELD = 40
/** The child pod may hold this much more memory after the hostile bodies than when idle. */
const RSS_GROWTH_LIMIT = 150 * 1024 * 1024

describe('fuzz', () => {
  test('a child pod refuses big bodies without reading them, and its memory stays bounded', async () => {
    const r = new Rng(SEED ^ 0x4d01)
    const dir = tempDir()
    const port = await freePort()
    const child: Child = spawnCli(['serve', '--host', '127.0.0.1', '--port', String(port), '--data-dir', `${dir}/data`, '--log-format', 'json', '--log-level', 'warn'], {
      cwd: dir,
      env: childEnv({ SEEDPOD_TRUST_PROXY: 'true', SEEDPOD_INBOX_BODY_TIMEOUT_MS: String(BODY_TIMEOUT_MS) }),
    })
    const failures: string[] = []
    try {
      const doc = (await waitForPod(`http://127.0.0.1:${port}`, child)) as { fingerprint: string; publicKey: Parameters<typeof importPeerKey>[0] }
      const to = { fingerprint: doc.fingerprint, encryptKey: (await importPeerKey(doc.publicKey)).encryptKey }
      const stranger = (await newIdentity()).identity
      const seal = (p: unknown) => sealJson(p, stranger, to)
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

      // Streamed past the limit (chunked, 16 MiB offered) after a JWE header naming no sender (a
      // pod of an earlier release: up to maxMessageBytes) or a stranger (a few KiB): refused
      // having read about the limit.
      for (let k = 0; k < 4; k++) {
        const chunk = r.bytes(64 * 1024)
        const header = { alg: 'RSA-OAEP-256', enc: 'A256GCM', kid: doc.fingerprint, cty: 'JWT', ...(k % 2 ? { iss: stranger.fingerprint } : {}) }
        const head = enc.encode(`${Buffer.from(JSON.stringify(header)).toString('base64url')}.`)
        const chunks = [Buffer.concat([enc.encode(`${head.length.toString(16)}\r\n`), head, enc.encode('\r\n')]), ...Array.from({ length: 256 }, () => Buffer.concat([enc.encode('10000\r\n'), chunk, enc.encode('\r\n')]))]
        const res = await rawHttp(port, `POST /api/v1/pod/inbox HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/jose\r\nTransfer-Encoding: chunked\r\n\r\n`, chunks, { timeoutMs: 10_000, expect: 1, stopWritingOnAnswer: true })
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
      // Inbox bodies held open at once, but for their end, from several addresses (trustProxy is
      // on): their JWE headers name the pod or another, a stranger as sender or none or garbage;
      // they claim up to past the limit and send part of it. Each is answered, the held ones cut
      // at the time limit (408), the others at once (401 another recipient or not a JWE, 413
      // past the sender's limit, 429/503 past the budgets of bytes in flight).
      const held = await Promise.all(
        Array.from({ length: HELD }, async (_, k) => {
          const header = r.pick<Record<string, unknown>>([{}, {}, {}, { kid: doc.fingerprint }, { iss: stranger.fingerprint }, { iss: r.uuid() }, { iss: 1 }, { kid: 'x'.repeat(43) }, { iss: stranger.fingerprint, kid: doc.fingerprint }])
          const jwe = r.chance(0.9) ? `${Buffer.from(JSON.stringify({ alg: 'RSA-OAEP-256', enc: 'A256GCM', cty: 'JWT', ...header })).toString('base64url')}.` : 'x'.repeat(5000)
          const claim = r.pick([8 * 1024, 32 * 1024, 33 * 1024, 1024 * 1024, 4 * 1024 * 1024, 4 * 1024 * 1024, 4 * 1024 * 1024, 4 * 1024 * 1024 + 1])
          const sent = jwe + 'A'.repeat(Math.max(0, Math.min(claim - 1, r.int(claim)) - jwe.length))
          // Most from one address (past its budget: 429), the rest from one each (past the pod's: 503).
          const address = k < 24 ? '10.0.0.1' : `10.0.1.${k}`
          const started = performance.now()
          const res = await rawHttp(port, `POST /api/v1/pod/inbox HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/jose\r\nX-Forwarded-For: ${address}\r\nContent-Length: ${claim}\r\n\r\n`, enc.encode(sent.slice(0, claim - 1)), { timeoutMs: BODY_TIMEOUT_MS + 5000, expect: 1 })
          return { what: `inbox body held: header ${JSON.stringify(header)}, ${sent.length} of ${claim} bytes sent from ${address}`, answer: res.responses[0], ms: performance.now() - started }
        }),
      )
      const heldStatuses = new Map<number, number>()
      for (const { what, answer, ms } of held) {
        if (!answer) {
          failures.push(`${what}: no answer within ${BODY_TIMEOUT_MS + 5000} ms (the body was not cut)`)
          continue
        }
        heldStatuses.set(answer.status, (heldStatuses.get(answer.status) ?? 0) + 1)
        check(what, { status: answer.status, contentType: answer.headers['content-type'], retryAfter: answer.headers['retry-after'], body: answer.body, more: [] })
        if (![401, 408, 413, 429, 503].includes(answer.status)) failures.push(`${what}: expected 408 (cut), 401, 413, 429 or 503, got ${answer.status}`)
        if (answer.status === 408 && ms < BODY_TIMEOUT_MS - 100) failures.push(`${what}: cut after ${Math.round(ms)} ms, before the time limit`)
        if (answer.status !== 408 && ms > BODY_TIMEOUT_MS - 100) failures.push(`${what}: a ${answer.status} only after ${Math.round(ms)} ms (the body was read, not refused on sight)`)
      }
      // The budgets were given back: the address that held most may send a friend request again.
      const request = { ...strangerPayload(), messages: [{ type: 'friend.request', data: { url: 'http://127.0.0.1:1', publicKey: stranger.publicJwk, name: 'after' } }] }
      const again = await post('/api/v1/pod/inbox', await seal(request), 'application/jose', { 'x-forwarded-for': '10.0.0.1' })
      if (again.status !== 403 || !again.body?.includes('url_unproven')) failures.push(`a stranger's friend request after the held bodies: expected 403 url_unproven, got ${again.status ?? again.note} ${again.body?.slice(0, 200)}`)
      clearInterval(sampler)
      await Bun.sleep(1000)
      const after = await rssOf(child.pid)
      console.log(`fuzz child: 100 MB claimed, no body sent: ${claimed.join(', ')}`)
      console.log(`fuzz child: ${HELD} inbox bodies held at once: ${[...heldStatuses].map(([st, n]) => `${st} ${n}`).join(', ')}`)
      if (!heldStatuses.get(408)) failures.push('no held inbox body was cut at the time limit (408)')
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
