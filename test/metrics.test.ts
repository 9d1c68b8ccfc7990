/**
 * `GET /metrics` of real pods on loopback: off by default, behind its token, or on an address
 * of its own; each family moved by what a pod really does (requests, an upload transcoded,
 * the web seed read, a tracker announce, friends delivering to each other); the output
 * passed by `promtool check metrics`, and scraped by a real Prometheus (Debian `prometheus`)
 * whose HTTP API then answers for the counter the test moved.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { join } from 'node:path'
import type { Video } from '../src/videos/model'
import { makeClip } from './helpers/clips'
import { fp, netPod, publish, stopPods, until } from './helpers/network'
import { Child, removeTempDirs, tempDir, type TestPod } from './helpers/pods'
import { freePort } from './helpers/ports'
import { uploadVideo, userToken } from './helpers/videos'

afterAll(removeTempDirs)
afterAll(stopPods)

const TOKEN = 'metrics-token-of-the-tests-0123456789'
const AUTH = { authorization: `Bearer ${TOKEN}` }
const TIMEOUT = 60_000

/** The samples of a scrape: `name{labels}` -> value. */
function parse(text: string): { name: string; labels: Record<string, string>; value: number }[] {
  return text
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(l)
      if (!m) throw new Error(`not a sample line: ${l}`)
      const labels = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1]!, x[2]!.replace(/\\(.)/g, '$1')]))
      return { name: m[1]!, labels, value: Number(m[3]) }
    })
}

/** The value of the one sample of `name` whose labels include `labels`, or undefined. */
function value(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const found = parse(text).filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
  if (found.length > 1) throw new Error(`${found.length} samples of ${name} ${JSON.stringify(labels)}`)
  return found[0]?.value
}

const scrape = async (url: string, headers: Record<string, string> = AUTH) => {
  const res = await fetch(url, { headers })
  expect(res.status).toBe(200)
  expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8')
  return res.text()
}

let a: TestPod
let b: TestPod
let video: Video

beforeAll(async () => {
  ;[a, b] = await Promise.all([netPod({ metrics: { token: TOKEN }, transcoding: { resolutions: [144] } }), netPod()])
  await a.running.pod.making.makeFriends([b.base])
}, TIMEOUT)

describe('GET /metrics', () => {
  test('is off by default (404), and behind its token where one is set (401 without it or with another)', async () => {
    expect((await fetch(`${b.base}/metrics`, { headers: AUTH })).status).toBe(404)
    const none = await fetch(`${a.base}/metrics`)
    expect(none.status).toBe(401)
    expect(none.headers.get('www-authenticate')).toContain('Bearer')
    expect(((await none.json()) as { error: { code: string } }).error.code).toBe('unauthenticated')
    expect((await fetch(`${a.base}/metrics`, { headers: { authorization: `Bearer ${TOKEN.slice(0, -1)}x` } })).status).toBe(401)
    expect((await fetch(`${a.base}/metrics`, { headers: { authorization: `Basic ${btoa(`x:${TOKEN}`)}` } })).status).toBe(401)
  })

  test('counts what the pod did: requests by route pattern, an upload transcoded, the web seed, the tracker, deliveries and inbox messages', async () => {
    const before = await scrape(`${a.base}/metrics`)
    const id = 'not-a-video-id'
    for (let i = 0; i < 3; i++) expect((await fetch(`${a.base}/api/v1/videos/${id}-${i}`)).status).toBe(404)
    await fetch(`${a.base}/no/such/path`)

    const res = await uploadVideo(a.base, await userToken(a), { file: Bun.file(await makeClip(tempDir())), name: 'Measured' })
    expect(res.status).toBe(201)
    video = (await res.json()) as Video
    const file = await fetch(video.webseedUrls[0]!, { headers: { range: 'bytes=0-999' } })
    expect(file.status).toBe(206)
    await file.arrayBuffer()
    const whole = await (await fetch(video.webseedUrls[0]!)).arrayBuffer()
    const infoHash = Array.from(Buffer.from(video.infoHash!, 'hex'), (x) => `%${x.toString(16).padStart(2, '0')}`).join('')
    expect((await fetch(`${a.base}/tracker/announce?info_hash=${infoHash}&peer_id=-SP0001-abcdefghijkl&port=6881&uploaded=0&downloaded=0&left=100&compact=1&event=started`)).status).toBe(200)
    // The friend's video comes in through the inbox; this pod's upload goes out to the friend.
    publish(b, { name: 'From b' })
    const text = await until(
      async () => {
        const t = await scrape(`${a.base}/metrics`)
        const done = value(t, 'seedpod_transcode_jobs', { state: 'done' }) ?? 0
        const open = (value(t, 'seedpod_transcode_jobs', { state: 'queued' }) ?? 0) + (value(t, 'seedpod_transcode_jobs', { state: 'running' }) ?? 0)
        const applied = value(t, 'seedpod_inbox_messages_total', { type: 'video.add', outcome: 'applied' }) ?? 0
        const delivered = value(t, 'seedpod_outbox_deliveries_total', { friend: fp(b), outcome: 'delivered' }) ?? 0
        return done > 0 && open === 0 && applied > 0 && delivered > 0 ? t : undefined
      },
      40_000,
      'the transcoding done, a delivery each way',
    )

    // Route patterns, not paths: three ids are one series; a path no route has is `unmatched`.
    expect(value(text, 'seedpod_http_requests_total', { method: 'GET', route: '/api/v1/videos/:id', status: '404' })).toBe(3)
    expect(text).not.toContain(id)
    expect(value(text, 'seedpod_http_requests_total', { method: 'GET', route: 'unmatched', status: '404' })).toBe(1)
    expect(value(text, 'seedpod_http_requests_total', { method: 'POST', route: '/api/v1/videos/', status: '201' })).toBe(1)
    expect(value(text, 'seedpod_http_request_duration_seconds_count', { route: '/api/v1/videos/:id' })).toBe(3)
    expect(value(text, 'seedpod_http_request_duration_seconds_bucket', { route: '/api/v1/videos/:id', le: '+Inf' })).toBe(3)
    expect(value(before, 'seedpod_webseed_bytes_total')).toBe(0)
    expect(value(text, 'seedpod_webseed_bytes_total')).toBe(1000 + whole.byteLength)
    expect(value(text, 'seedpod_tracker_swarms')).toBeGreaterThanOrEqual(1)
    expect(value(text, 'seedpod_tracker_peers', { role: 'leecher' })).toBeGreaterThanOrEqual(1)
    expect(value(text, 'seedpod_transcode_duration_seconds_count', { kind: 'transcode', outcome: 'done' })).toBe(1)
    expect(value(text, 'seedpod_transcode_duration_seconds_sum', { kind: 'transcode', outcome: 'done' })).toBeGreaterThan(0)
    expect(value(text, 'seedpod_friends')).toBe(1)
    expect(value(text, 'seedpod_friend_info', { friend: fp(b), url: b.base })).toBe(1)
    expect(value(text, 'seedpod_friend_score', { friend: fp(b) })).toBeGreaterThan(0)
    expect(value(text, 'seedpod_outbox_messages', { friend: fp(b) })).toBeGreaterThanOrEqual(0)
    expect(value(text, 'seedpod_outbox_delivery_seconds_count', { friend: fp(b) })).toBeGreaterThanOrEqual(1)
    expect(value(text, 'seedpod_sqlite_database_bytes')).toBeGreaterThan(0)
    expect(value(text, 'seedpod_sqlite_wal_bytes')).toBeGreaterThanOrEqual(0)
    expect(value(text, 'seedpod_media_tools_ready')).toBe(1)
    expect(value(text, 'seedpod_info', { version: a.running.pod.version })).toBe(1)
    expect(value(text, 'process_resident_memory_bytes')).toBeGreaterThan(10 * 1024 * 1024)
    expect(value(text, 'process_cpu_seconds_total')).toBeGreaterThan(0)
    expect(value(text, 'process_open_fds')).toBeGreaterThan(0)
    expect(value(text, 'seedpod_event_loop_lag_seconds_count')).toBeGreaterThanOrEqual(1)
    // The friend's inbox counted the friend request that began it all, and this pod's video.
    const atB = b.running.pod.metrics.render()
    expect(value(atB, 'seedpod_inbox_messages_total', { type: 'friend.request', outcome: 'applied' })).toBe(1)
    expect(value(atB, 'seedpod_inbox_messages_total', { type: 'video.add', outcome: 'applied' })).toBeGreaterThanOrEqual(1)
  }, TIMEOUT)

  test('passes promtool check metrics (format and lint)', async () => {
    const text = await scrape(`${a.base}/metrics`)
    const check = Bun.spawn(['promtool', 'check', 'metrics'], { stdin: new TextEncoder().encode(text), stdout: 'pipe', stderr: 'pipe' })
    const [code, out, err] = await Promise.all([check.exited, new Response(check.stdout).text(), new Response(check.stderr).text()])
    expect(`${out}${err}`).toBe('')
    expect(code).toBe(0)
  })

  test('on an address of its own (metrics.listen): not on the pod\'s port, and behind the token there too', async () => {
    const port = await freePort()
    const c = await netPod({ metrics: { listen: `127.0.0.1:${port}`, token: TOKEN } })
    expect((await fetch(`${c.base}/metrics`, { headers: AUTH })).status).toBe(404)
    expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).toBe(401)
    expect(value(await scrape(`http://127.0.0.1:${port}/metrics`), 'seedpod_friends')).toBe(0)
    expect((await fetch(`http://127.0.0.1:${port}/api/v1/health`, { headers: AUTH })).status).toBe(404)
    await c.stop()
    // Stopped with the pod.
    expect(await fetch(`http://127.0.0.1:${port}/metrics`).then(() => 'answered', () => 'refused')).toBe('refused')
  })

  test('an address that is taken stops the start, naming the key', async () => {
    const taken = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } })
    try {
      await expect(netPod({ metrics: { listen: `127.0.0.1:${taken.port}` } })).rejects.toThrow(`metrics.listen = "127.0.0.1:${taken.port}" cannot be listened on`)
    } finally {
      taken.stop(true)
    }
  })
})

describe('a real Prometheus', () => {
  let prometheus: Child | undefined
  afterAll(() => prometheus?.kill())

  test('scrapes a pod with its token, and its HTTP API answers for the requests the test made', async () => {
    const pod = await netPod({ metrics: { token: TOKEN } })
    const dir = tempDir('seedpod-prometheus-')
    const config = join(dir, 'prometheus.yml')
    await Bun.write(
      config,
      [
        'global:',
        '  scrape_interval: 1s',
        '  scrape_timeout: 1s',
        'scrape_configs:',
        '  - job_name: seedpod',
        '    authorization:',
        '      type: Bearer',
        `      credentials: ${TOKEN}`,
        '    static_configs:',
        `      - targets: ['127.0.0.1:${pod.config.port}']`,
        '',
      ].join('\n'),
    )
    const port = await freePort()
    const api = `http://127.0.0.1:${port}/api/v1`
    prometheus = new Child(
      ['prometheus', `--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
      { cwd: dir, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir } },
    )
    for (let i = 0; i < 3; i++) expect((await fetch(`${pod.base}/api/v1/health`)).status).toBe(200)
    /** The value Prometheus has now for an instant query, or undefined (none yet, or not up). */
    const query = async (q: string) => {
      const r = await fetch(`${api}/query?query=${encodeURIComponent(q)}`).catch(() => undefined)
      const body = r?.ok ? ((await r.json()) as { data: { result: { value: [number, string] }[] } }) : undefined
      return body?.data.result[0]?.value[1]
    }
    const requests = 'seedpod_http_requests_total{job="seedpod",route="/api/v1/health",status="200"}'
    expect(await until(async () => (await query(requests)) === '3' && '3', 30_000, 'Prometheus to have scraped the 3 requests')).toBe('3')
    expect(await query('up{job="seedpod"}')).toBe('1')
    // What a scrape costs, as Prometheus measured it.
    console.log(`scrape_duration_seconds: ${await query('scrape_duration_seconds{job="seedpod"}')}, samples: ${await query('scrape_samples_scraped{job="seedpod"}')}`)
    prometheus.proc.kill('SIGTERM')
    expect(await prometheus.exit(10_000)).toBe(0)
  }, TIMEOUT)
})
