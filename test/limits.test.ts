/**
 * Request limits of a pod run as a user runs it (`seedpod serve`, a process of its own, so its
 * memory can be read): a body over its route's limit is refused before it is read, whatever
 * it claims, and costs the pod nothing; small routes take no body without a length.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { freePort } from './helpers/ports'
import { childEnv, removeTempDirs, spawnCli, tempDir, waitForPod, type Child } from './helpers/pods'

afterAll(removeTempDirs)

let pod: Child
let base: string
let port: number

const rssMb = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pod.proc.pid}/status`, 'utf8'))![1]) / 1024

beforeAll(async () => {
  port = await freePort()
  base = `http://127.0.0.1:${port}`
  const dir = tempDir()
  pod = spawnCli(['serve', '--data-dir', join(dir, 'data'), '--port', String(port), '--host', '127.0.0.1', '--url', base], { cwd: dir, env: childEnv({ SEEDPOD_REGISTRATIONS: 'open' }) })
  await waitForPod(base, pod)
})

afterAll(async () => {
  pod.proc.kill('SIGTERM')
  await pod.exit()
})

/**
 * Sends a request head claiming `length` bytes, then up to `send` bytes of body (as fast as
 * the pod takes them), over a raw socket as an attacker would; resolves to the status line.
 */
async function claim(path: string, length: number, send: number, headers = 'content-type: application/json\r\n'): Promise<string> {
  let answer = ''
  const { promise, resolve } = Promise.withResolvers<string>()
  const socket = await Bun.connect({
    hostname: '127.0.0.1',
    port,
    socket: {
      data(_s, data) {
        answer += new TextDecoder().decode(data)
        if (answer.includes('\r\n')) resolve(answer.split('\r\n')[0]!)
      },
      close() {
        resolve(answer.split('\r\n')[0] ?? '')
      },
      error() {
        resolve(answer.split('\r\n')[0] ?? '')
      },
    },
  })
  socket.write(`POST ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\n${headers}content-length: ${length}\r\n\r\n`)
  const chunk = new Uint8Array(64 * 1024).fill(0x61)
  for (let sent = 0; sent < send && !answer; sent += chunk.length) {
    socket.write(chunk)
    await Bun.sleep(0)
  }
  const status = await Promise.race([promise, Bun.sleep(10_000).then(() => 'no answer')])
  socket.end()
  return status
}

describe('request bodies are bounded by route, before they are read', () => {
  test('1 GiB claimed on login, registration, a JSON route and the inbox: 413 at once, in parallel, and the pod stays small', async () => {
    const idle = rssMb()
    const GiB = 1024 ** 3
    const paths = ['/api/v1/auth/token', '/api/v1/users', '/api/v1/friends/make', '/api/v1/pod/inbox']
    const statuses = await Promise.all(paths.flatMap((p) => [claim(p, GiB, 32 * 1024 * 1024), claim(p, GiB, 32 * 1024 * 1024)]))
    expect(statuses.every((s) => s.startsWith('HTTP/1.1 413'))).toBe(true)
    // Before: the first of these took the pod from about 60 MB to 2 GB.
    expect(rssMb() - idle).toBeLessThan(64)
    expect((await fetch(`${base}/api/v1/health`)).status).toBe(200)
  })

  test('a small route without a length is 411; with its length a small body is fine; the limit is per route', async () => {
    const chunked = await fetch(`${base}/api/v1/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: new ReadableStream({ start: (c) => (c.enqueue(new TextEncoder().encode('{"username":"a","password":"b"}')), c.close()) }),
    })
    expect(chunked.status).toBe(411)
    expect(((await chunked.json()) as { error: { code: string } }).error.code).toBe('length_required')
    const small = await fetch(`${base}/api/v1/auth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'nobody', password: 'x' }) })
    expect(small.status).toBe(401)
    // 5 KiB: over the 4 KiB of credentials, within the 64 KiB of other JSON routes.
    const padded = JSON.stringify({ username: 'nobody', password: 'x'.repeat(5 * 1024) })
    expect((await fetch(`${base}/api/v1/auth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: padded })).status).toBe(413)
    // Read and parsed there (then refused for its shape), not refused for its size.
    expect((await fetch(`${base}/api/v1/friends/make`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: padded })).status).toBe(400)
  })

  test('an upload over maxUploadBytes is refused by its length; without a login it is 401 before any byte is read', async () => {
    expect(await claim('/api/v1/videos', 8 * 1024 ** 4, 1024 * 1024, 'content-type: multipart/form-data; boundary=x\r\n')).toStartWith('HTTP/1.1 413')
    expect(await claim('/api/v1/videos', 1024 ** 3, 1024 * 1024, 'content-type: multipart/form-data; boundary=x\r\n')).toStartWith('HTTP/1.1 401')
  })
})
