/**
 * The outbound client against real local servers: URL and address checks, the address
 * checked being the one connected to (over http, and over https with a CA made here),
 * redirects, deadlines, the body cap, single flight and the failure memory. (Its pure
 * helpers, pod URLs and public addresses, are test/unit/outbound.test.ts.)
 */
import { afterAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createOutbound, parseJson, type OutboundResult, type OutboundSettings } from '../src/shared/outbound'

const servers: { stop(force?: boolean): unknown }[] = []
const dirs: string[] = []
afterAll(() => {
  for (const s of servers) s.stop(true)
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

/** A loopback server that counts its requests and remembers their Host headers. */
function serve(handler: (req: Request) => Response | Promise<Response> = () => new Response('hello'), hostname = '127.0.0.1') {
  const seen = { hits: 0, hosts: [] as string[] }
  const server = Bun.serve({
    hostname,
    port: 0,
    fetch(req) {
      seen.hits++
      seen.hosts.push(req.headers.get('host') ?? '')
      return handler(req)
    },
  })
  servers.push(server)
  return { seen, url: `http://${hostname.includes(':') ? `[${hostname}]` : hostname}:${server.port}`, port: server.port }
}

function outbound(over: Partial<OutboundSettings> = {}) {
  return createOutbound({
    allowPrivateAddresses: true,
    selfUrl: 'http://self.test:9000',
    selfFingerprint: 'own-fingerprint',
    timeoutMs: 5000,
    maxBytes: 1 << 20,
    failureTtlMs: 0,
    ...over,
  })
}

const reason = (r: OutboundResult) => (r.ok ? `ok ${r.value.status}` : r.error.reason)
const text = (r: OutboundResult) => (r.ok ? new TextDecoder().decode(r.value.body) : `(${r.error.reason})`)

describe('refused before any connection', () => {
  test('user info, a fragment or another scheme', async () => {
    const s = serve()
    const out = outbound()
    const host = s.url.slice('http://'.length)
    for (const url of [`http://user:pw@${host}/`, `http://user@${host}/`, `${s.url}/x#frag`, `${s.url}/x#`, `ftp://${host}/`, 'nonsense'])
      expect(reason(await out.get(url)), url).toBe('bad_url')
    expect(s.seen.hits).toBe(0)
    expect(text(await out.get(`${s.url}/x?page=2`))).toBe('hello')
  })

  test("this pod's own URL and anything under it, however it is spelled", async () => {
    const s = serve()
    const out = outbound({ selfUrl: `${s.url}/` })
    for (const url of [s.url, `${s.url}/api/v1/pod`, `HTTP://127.0.0.1:${s.port}/static/x.torrent`])
      expect(reason(await out.get(url)), url).toBe('self')
    expect(reason(await out.post(`${s.url}/api/v1/pod/inbox`, 'x', { contentType: 'text/plain' }))).toBe('self')
    expect(s.seen.hits).toBe(0)
    expect(out.isSelf('own-fingerprint')).toBe(true)
    expect(out.isSelf('someone-else')).toBe(false)
    expect(() => outbound({ selfUrl: 'http://self.test/?x' })).toThrow()
  })

  test('non-public addresses, after resolving the name, unless allowed', async () => {
    const s = serve()
    const strict = outbound({ allowPrivateAddresses: false })
    // IP literals in every spelling the URL parser knows, and names the system resolves.
    for (const url of [s.url, `http://localhost:${s.port}/`, `http://[::1]:${s.port}/`, `http://[::ffff:127.0.0.1]:${s.port}/`,
      `http://2130706433:${s.port}/`, `http://0x7f.1:${s.port}/`, `http://0.0.0.0:${s.port}/`])
      expect(reason(await strict.get(url)), url).toBe('blocked_address')
    const names: Record<string, string[]> = { 'lan.test': ['10.0.0.7'], 'meta.test': ['169.254.169.254'], 'mixed.test': ['fd00::1', '192.168.0.2'], 'none.test': [] }
    const injected = outbound({ allowPrivateAddresses: false, resolve: async (h) => names[h] ?? [] })
    for (const name of Object.keys(names)) expect(reason(await injected.get(`http://${name}:${s.port}/`)), name).toBe('blocked_address')
    expect(s.seen.hits).toBe(0)

    const lax = outbound({ allowPrivateAddresses: true })
    expect(text(await lax.get(`http://localhost:${s.port}/`))).toBe('hello')
    expect(s.seen.hosts).toEqual([`localhost:${s.port}`])
  })
})

describe('the address checked is the one connected to', () => {
  test('the request goes to the resolved address, named by the Host header', async () => {
    const s = serve((req) => new Response(req.headers.get('host')))
    let lookups = 0
    const out = outbound({ resolve: async () => (lookups++, ['127.0.0.1']) })
    // pod.test has no address but the one resolved here: reaching the server proves the pinning.
    expect(text(await out.get(`http://pod.test:${s.port}/static/x.jpg`))).toBe(`pod.test:${s.port}`)
    expect(lookups).toBe(1)
    const v6 = serve((req) => new Response(req.headers.get('host')), '::1')
    expect(text(await outbound({ resolve: async () => ['::1'] }).get(`http://pod6.test:${v6.port}/`))).toBe(`pod6.test:${v6.port}`)
  })

  test('a name whose check saw a public address is not connected to by a fresh lookup (DNS rebinding)', async () => {
    const s = serve()
    // The check sees a public address for localhost; resolving again at connect time would reach the loopback server.
    const out = outbound({ allowPrivateAddresses: false, timeoutMs: 1000, resolve: async () => ['8.8.8.8'] })
    const r = await out.get(`http://localhost:${s.port}/`)
    expect(['network', 'timeout']).toContain(reason(r))
    expect(s.seen.hits).toBe(0)
  })

  test('over https, the certificate and SNI are the name, not the address (a CA made with openssl)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'seedpod-outbound-'))
    dirs.push(dir)
    const sh = (cmd: string[]) => {
      const p = Bun.spawnSync(cmd, { cwd: dir, stderr: 'pipe' })
      if (p.exitCode !== 0) throw new Error(`${cmd.join(' ')}: ${p.stderr.toString()}`)
    }
    sh(['openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=seedpod test CA',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign'])
    for (const name of ['other.test', 'pod.test']) {
      sh(['openssl', 'req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`])
      writeFileSync(join(dir, `${name}.ext`), `subjectAltName=DNS:${name}\n`)
      sh(['openssl', 'x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`, '-days', '1', '-extfile', `${name}.ext`])
    }
    const read = (f: string) => readFileSync(join(dir, f), 'utf8')
    const hosts: string[] = []
    // The first certificate is the one a client without SNI gets: it is not pod.test's.
    const server = Bun.serve({
      hostname: '127.0.0.1',
      port: 0,
      tls: ['other.test', 'pod.test'].map((n) => ({ serverName: n, cert: read(`${n}.pem`), key: read(`${n}.key`) })),
      fetch: (req) => (hosts.push(req.headers.get('host') ?? ''), new Response('secure')),
    })
    servers.push(server)
    // The test CA is trusted the way an operator would trust one: NODE_EXTRA_CA_CERTS, at process start.
    const script = join(dir, 'client.ts')
    writeFileSync(script, `
      import { createOutbound } from ${JSON.stringify(join(import.meta.dir, '..', 'src', 'shared', 'outbound.ts'))}
      const out = createOutbound({ allowPrivateAddresses: true, selfUrl: 'http://self.test', selfFingerprint: 'me', timeoutMs: 5000,
        maxBytes: 1024, failureTtlMs: 0, resolve: async () => ['127.0.0.1'] })
      const port = ${server.port}
      const show = (r) => (r.ok ? new TextDecoder().decode(r.value.body) : r.error.reason)
      console.log(JSON.stringify([await out.get('https://pod.test:' + port + '/'), await out.get('https://evil.test:' + port + '/'),
        await out.get('https://127.0.0.1:' + port + '/')].map(show)))
    `)
    const child = Bun.spawn([process.execPath, script], { env: { ...process.env, NODE_EXTRA_CA_CERTS: join(dir, 'ca.pem') }, stdout: 'pipe', stderr: 'pipe' })
    const [out, err, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited])
    expect(err).toBe('')
    expect(code).toBe(0)
    // pod.test: SNI chose its certificate, which was checked against the name. evil.test and
    // the bare address get the other certificate, which names neither: refused.
    expect(JSON.parse(out)).toEqual(['secure', 'network', 'network'])
    expect(hosts).toEqual([`pod.test:${server.port}`])
  })
})

test('a redirect is an error and is not followed; it says where it pointed, for a caller that asks again itself', async () => {
  const target = serve()
  for (const status of [301, 302, 303, 307, 308]) {
    const s = serve(() => new Response(null, { status, headers: { location: `${target.url}/elsewhere` } }))
    expect(reason(await outbound().get(s.url)), String(status)).toBe('redirect')
    expect(reason(await outbound().post(s.url, '{}', { contentType: 'application/json' }))).toBe('redirect')
  }
  expect(target.seen.hits).toBe(0)
  const relative = serve(() => new Response(null, { status: 302, headers: { location: '/bucket/file?sig=1' } }))
  const r = await outbound().get(`${relative.url}/static/file`)
  expect(r.ok ? undefined : r.error.location).toBe(`${relative.url}/bucket/file?sig=1`)
})

test('a range is asked as such; GETs of other ranges of one URL are not shared', async () => {
  const ranges: string[] = []
  const s = serve(async (req) => {
    ranges.push(req.headers.get('range') ?? '')
    await Bun.sleep(20)
    return new Response('0123456789'.slice(Number(/bytes=(\d+)/.exec(req.headers.get('range') ?? '')?.[1] ?? 0)), { status: 206 })
  })
  const out = outbound()
  const [a, b, again] = await Promise.all([out.get(s.url, { range: { start: 2, end: 3 } }), out.get(s.url, { range: { start: 7, end: 9 } }), out.get(s.url, { range: { start: 2, end: 3 } })])
  expect([text(a), text(b), text(again)]).toEqual(['23456789', '789', '23456789'])
  expect(ranges.sort()).toEqual(['bytes=2-3', 'bytes=7-9'])
})

test('other statuses are results for the caller, with their headers and body', async () => {
  const s = serve(() => Response.json({ error: 'nope' }, { status: 404, headers: { 'x-pod': 'a' } }))
  const r = await outbound().get(s.url, { accept: 'application/json' })
  if (!r.ok) throw new Error(r.error.message)
  expect(r.value.status).toBe(404)
  expect(r.value.headers.get('x-pod')).toBe('a')
  expect(parseJson(r.value.body)).toEqual({ error: 'nope' })
})

describe('deadline', () => {
  test('a server that never answers times out', async () => {
    const s = serve(async () => (await Bun.sleep(10_000), new Response('late')))
    const start = performance.now()
    const r = await outbound({ timeoutMs: 300 }).get(s.url)
    expect(reason(r)).toBe('timeout')
    expect(performance.now() - start).toBeLessThan(3000)
  })

  test('the deadline covers the body: a server that stalls mid-body times out', async () => {
    const s = serve(() => new Response(new ReadableStream({
      async start(c) {
        c.enqueue(new Uint8Array(100))
        await Bun.sleep(10_000)
        c.close()
      },
    })))
    const r = await outbound().get(s.url, { timeoutMs: 300 })
    expect(reason(r)).toBe('timeout')
  })
})

/**
 * A raw TCP server answering every request with `total` bytes and no length, until the
 * client closes. It writes only what the kernel takes (Bun's socket write returns that), so
 * `sent` counts bytes that really left it; `paced` writes one chunk per millisecond instead.
 */
function streamServer(total: number, paced: boolean) {
  const chunk = new Uint8Array(64 * 1024).fill(120)
  const state = { sent: 0, closed: false, url: '' }
  const pump = (socket: Bun.Socket) => {
    while (state.sent < total && !state.closed) {
      const n = socket.write(chunk)
      state.sent += n
      if (n < chunk.byteLength || paced) return
    }
    if (state.sent >= total) socket.end()
  }
  const server = Bun.listen({
    hostname: '127.0.0.1',
    port: 0,
    socket: {
      data(socket) {
        state.sent = 0
        state.closed = false
        socket.write('HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\nconnection: close\r\n\r\n')
        if (!paced) return pump(socket)
        const timer = setInterval(() => (state.closed || state.sent >= total ? clearInterval(timer) : pump(socket)), 1)
      },
      drain: (socket) => (paced ? undefined : pump(socket)),
      close: () => void (state.closed = true),
      error: () => void (state.closed = true),
    },
  })
  servers.push(server)
  state.url = `http://127.0.0.1:${server.port}/`
  return state
}

const TEN_MB = 10 * 1024 * 1024

describe('body cap', () => {
  test('a 10 MB stream is cut at the cap: the client closes the connection and the server stops sending', async () => {
    const s = streamServer(TEN_MB, true)
    const r = await outbound({ maxBytes: 256 * 1024 }).get(s.url)
    expect(reason(r)).toBe('too_large')
    if (!r.ok) expect(r.error.message.length).toBeLessThan(100)
    await Bun.sleep(100)
    expect(s.closed).toBe(true)
    expect(s.sent).toBeLessThan(TEN_MB / 2)
  })

  test('memory stays small while a fast server pushes 10 MB at a capped client', async () => {
    const s = streamServer(TEN_MB, false)
    const out = outbound({ maxBytes: 256 * 1024 })
    // The first request also pays for loading fetch itself: measure the second.
    expect(reason(await out.get(s.url))).toBe('too_large')
    Bun.gc(true)
    const before = process.memoryUsage().rss
    expect(reason(await out.get(s.url))).toBe('too_large')
    Bun.gc(true)
    // Reading the 10 MB whole, then checking, would grow the process by at least that.
    expect(process.memoryUsage().rss - before).toBeLessThan(TEN_MB / 2)
  })

  test('a declared Content-Length over the cap is refused before reading; a body at the cap passes', async () => {
    const s = serve(() => new Response(new Uint8Array(4096)))
    expect(reason(await outbound().get(s.url, { maxBytes: 4095 }))).toBe('too_large')
    const r = await outbound().get(s.url, { maxBytes: 4096 })
    expect(r.ok && r.value.body.byteLength).toBe(4096)
  })
})

test('concurrent GETs of one key make one request', async () => {
  const s = serve(async () => (await Bun.sleep(200), new Response('shared')))
  const out = outbound()
  const results = await Promise.all(Array.from({ length: 20 }, () => out.get(`${s.url}/details/v1`)))
  expect(results.map(text)).toEqual(Array(20).fill('shared'))
  expect(s.seen.hits).toBe(1)
  // Another key is another request, and so is a later GET (successes are not remembered).
  await Promise.all([out.get(`${s.url}/details/v1`), out.get(`${s.url}/details/v1`, { key: 'v1-thumbnail' })])
  expect(s.seen.hits).toBe(3)
})

test('a failed GET is remembered for failureTtlMs, by the injected clock', async () => {
  let clock = 1_000_000
  const s = serve(() => new Response('broken', { status: 500 }))
  const out = outbound({ failureTtlMs: 30_000, now: () => clock })
  expect(reason(await out.get(s.url))).toBe('ok 500')
  clock += 29_999
  expect(reason(await out.get(s.url))).toBe('ok 500')
  expect(s.seen.hits).toBe(1)
  clock += 1
  expect(reason(await out.get(s.url))).toBe('ok 500')
  expect(s.seen.hits).toBe(2)

  // A failure without an answer (nothing listens there any more) is remembered too.
  const gone = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: () => new Response() })
  const port = gone.port
  gone.stop(true)
  let lookups = 0
  const counted = outbound({ failureTtlMs: 30_000, now: () => clock, resolve: async () => (lookups++, ['127.0.0.1']) })
  expect(reason(await counted.get(`http://gone.test:${port}/`))).toBe('network')
  expect(reason(await counted.get(`http://gone.test:${port}/`))).toBe('network')
  expect(lookups).toBe(1)
})

test('POST sends its body and type, and each POST is its own request', async () => {
  const s = serve(async (req) => new Response(`${req.method} ${req.headers.get('content-type')} ${req.headers.get('accept')} ${await req.text()}`))
  const out = outbound()
  const opts = { contentType: 'application/jose', accept: 'application/jose, application/json' }
  const [a, b] = await Promise.all([out.post(`${s.url}/api/v1/pod/inbox`, 'one', opts), out.post(`${s.url}/api/v1/pod/inbox`, new TextEncoder().encode('two'), opts)])
  expect([text(a), text(b)]).toEqual(['POST application/jose application/jose, application/json one', 'POST application/jose application/jose, application/json two'])
  expect(s.seen.hits).toBe(2)
  expect(reason(await out.post(s.url, 'x', { ...opts, maxBytes: 10 }))).toBe('too_large')
})
