/**
 * A bucket that takes connections and never answers (a stalled gateway, a black-holed route):
 * the pod, talking to radosgw through a TCP relay the test can freeze, gives up on each
 * request after `storage.requestTimeoutMs`. Uploads answer 503 storage_unavailable in
 * seconds and change nothing, the admin API says what failed, and once the bucket answers
 * again all works as before.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { randomBytes } from 'node:crypto'
import { createServer, connect, type Server, type Socket } from 'node:net'
import { mkdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { createLogger } from '../src/shared/log'
import { StorageMoves } from '../src/storage/moves'
import type { Video } from '../src/videos/model'
import { makeClip } from './helpers/clips'
import { adminToken, netPod, stopPods, until } from './helpers/network'
import { listTree, removeTempDirs, tempDir, type TestPod } from './helpers/pods'
import { startRadosgw, type Radosgw } from './helpers/radosgw'
import { movedToBucket, uploadVideo, userToken } from './helpers/videos'

setDefaultTimeout(60_000)

/** A TCP relay to `port` that can freeze: while frozen, nothing passes either way (connections stay open). */
function relay(port: number): Promise<{ port: number; freeze(frozen: boolean): void; close(): void }> {
  let frozen = false
  const pairs = new Set<[Socket, Socket]>()
  const server: Server = createServer((client) => {
    const upstream = connect(port, '127.0.0.1')
    const pair: [Socket, Socket] = [client, upstream]
    pairs.add(pair)
    if (!frozen) {
      client.pipe(upstream)
      upstream.pipe(client)
    }
    const end = () => {
      pairs.delete(pair)
      client.destroy()
      upstream.destroy()
    }
    client.on('close', end).on('error', end)
    upstream.on('close', end).on('error', end)
  })
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        port: (server.address() as { port: number }).port,
        freeze: (f) => {
          frozen = f
          for (const [c, u] of pairs) {
            if (f) {
              c.unpipe(u)
              u.unpipe(c)
              c.pause()
              u.pause()
            } else {
              c.pipe(u)
              u.pipe(c)
              c.resume()
              u.resume()
            }
          }
        },
        close: () => {
          for (const [c, u] of pairs) (c.destroy(), u.destroy())
          server.close()
        },
      }),
    ),
  )
}

const BUCKET = 'stalled'
let gw: Radosgw
let gate: Awaited<ReturnType<typeof relay>>
let pod: TestPod
let clip: string

beforeAll(async () => {
  ;[gw, clip] = await Promise.all([startRadosgw({ bucket: BUCKET }), makeClip(tempDir(), { seconds: 2 })])
  gate = await relay(Number(new URL(gw.endpoint).port))
  const storage = gw.settings(BUCKET, { endpoint: `http://127.0.0.1:${gate.port}`, requestTimeoutMs: 1500 })
  pod = await netPod({ storage, transcoding: { enabled: false } })
}, 120_000)

afterAll(async () => {
  await stopPods()
  gate?.close()
  await gw?.stop()
  removeTempDirs()
})

describe('a bucket that stops answering', () => {
  test('uploads answer 503 within the request timeout and change nothing; the admin API says why; then all works again', async () => {
    const token = await userToken(pod)
    const admin = { authorization: `Bearer ${await adminToken(pod)}` }
    const health = async () => ((await (await fetch(`${pod.base}/api/v1/storage`, { headers: admin })).json()) as { health: { state: string; error?: string } }).health
    const rows = () => (pod.running.pod.db.query('SELECT count(*) AS n FROM videos').get() as { n: number }).n
    const upload = (name: string) => uploadVideo(pod.base, token, { file: Bun.file(clip), name })

    expect((await upload('Before')).status).toBe(201)
    const before = rows()
    gate.freeze(true)
    try {
      const t0 = Date.now()
      const res = await upload('While it hangs')
      const waited = Date.now() - t0
      expect(res.status).toBe(503)
      expect(((await res.json()) as { error: { code: string; message: string } }).error).toMatchObject({ code: 'storage_unavailable' })
      // Not held until the test's own timeout: a few request timeouts at most (the put, its clean-up).
      expect(waited).toBeLessThan(20_000)
      expect(rows()).toBe(before)
      expect(listTree(join(pod.config.dataDir, 'tmp'))).toEqual([])
      const down = await health()
      expect(down.state).toBe('unavailable')
      expect(down.error).toContain('no answer within 1.5 s')
      // Known unavailable: the next upload is refused at once.
      expect((await upload('Again')).status).toBe(503)
    } finally {
      gate.freeze(false)
    }
    await until(async () => (await health()).state === 'ok', 20_000, 'the bucket answering again')
    const res = await upload('After')
    expect(res.status).toBe(201)
    const id = ((await res.json()) as Video).id
    await movedToBucket(pod)
    expect(await gw.client().exists(`videos/${id}.mp4`)).toBe(true)
    expect(rows()).toBe(before + 1)
  })

  test('a file the bucket will not take is tried again later and later, not at every run', async () => {
    // A queued key whose "file" is a folder: the upload fails, and not for want of a bucket.
    const key = 'videos/unreadable.mp4'
    mkdirSync(join(pod.config.dataDir, key), { recursive: true })
    const lines: string[] = []
    let now = Date.now()
    const moves = new StorageMoves({
      db: pod.running.pod.db,
      storage: pod.running.pod.videos.files.storage,
      log: createLogger({ level: 'warn', format: 'json', write: (l) => lines.push(l) }),
      isOwnKey: () => false,
      now: () => now,
    })
    const failures = () => lines.filter((l) => l.includes('storage.move.failed') && l.includes(key)).length
    pod.running.pod.db.query('INSERT INTO storage_moves (key, queued_at) VALUES (?, ?)').run(key, now)
    try {
      await moves.run()
      // A file that cannot be read says nothing of the bucket: uploads are still taken.
      expect(pod.running.pod.videos.files.storage.available()).toBe(true)
      await moves.run()
      expect(failures()).toBe(1)
      now += 5_000
      await moves.run()
      expect(failures()).toBe(2)
      // Then 10 s: not yet at 5.
      now += 5_000
      await moves.run()
      expect(failures()).toBe(2)
      now += 5_000
      await moves.run()
      expect(failures()).toBe(3)
      expect(moves.pending()).toBeGreaterThan(0)
    } finally {
      pod.running.pod.db.query('DELETE FROM storage_moves WHERE key = ?').run(key)
      rmSync(join(pod.config.dataDir, key), { recursive: true, force: true })
    }
  })

  test('a video deleted while its file goes to the bucket leaves nothing there, nor in the data folder', async () => {
    const token = await userToken(pod)
    const res = await uploadVideo(pod.base, token, { file: Bun.file(clip), name: 'Gone on the way' })
    expect(res.status).toBe(201)
    const id = ((await res.json()) as Video).id
    await movedToBucket(pod)
    // A file in the data folder and queued, as an upload leaves it (large: its upload, in
    // parts, ends after the delete of the object); the move hangs at the bucket while the
    // video is deleted.
    const key = `videos/${id}.mp4`
    const local = join(pod.config.dataDir, key)
    await gw.client().delete(key)
    await Bun.write(local, randomBytes(40 * 1024 * 1024))
    const { moves } = pod.running.pod.videos.files
    pod.running.pod.db.query('INSERT INTO storage_moves (key, queued_at) VALUES (?, ?)').run(key, Date.now())
    gate.freeze(true)
    let moved: Promise<void>
    try {
      moved = moves.run()
      await Bun.sleep(100)
      const del = await fetch(`${pod.base}/api/v1/videos/${id}`, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } })
      expect(del.status).toBe(204)
      // Less than the request timeout (1.5 s): the move and the delete both go on once it thaws.
      await Bun.sleep(300)
    } finally {
      gate.freeze(false)
    }
    await moved
    await until(async () => !(await gw.client().exists(key)), 10_000, 'the object gone')
    await Bun.sleep(500)
    expect(await gw.client().exists(key)).toBe(false)
    expect(listTree(pod.config.dataDir).filter((f) => f.includes(id))).toEqual([])
    expect(moves.pending()).toBe(0)
  })
})
