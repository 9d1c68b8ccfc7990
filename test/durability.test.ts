/**
 * The durable outbox: a pod killed with SIGKILL in the middle of a fan-out delivers every
 * queued message after it restarts, and each friend applies each message exactly once.
 */
import { afterAll, expect, test } from 'bun:test'
import { join } from 'node:path'
import { openDatabase } from '../src/shared/db'
import { FriendStore } from '../src/friends/store'
import type { Video } from '../src/videos/model'
import { VideoStore } from '../src/videos/store'
import { fp, indexIds, netPod, stopPods, until } from './helpers/network'
import { BUN, Child, childEnv, CLI, removeTempDirs, ROOT, tempDir, type TestPod } from './helpers/pods'
import { freePort } from './helpers/ports'

afterAll(stopPods)
afterAll(removeTempDirs)

const MESSAGES = 100

/** The pod under test, as a real child process of the CLI. */
async function spawnPod(dataDir: string, port: number): Promise<Child> {
  const child = new Child([BUN, CLI, 'serve', '--data-dir', dataDir, '--port', String(port), '--host', '127.0.0.1', '--url', `http://127.0.0.1:${port}`], {
    cwd: ROOT,
    env: childEnv({
      SEEDPOD_RETRY_BASE_MS: '50',
      SEEDPOD_RETRY_FACTOR: '1',
      // Small batches, so that a fan-out is many requests and a kill lands in the middle of it.
      SEEDPOD_DELIVERY_BATCH_MESSAGES: '5',
      SEEDPOD_LOG_FORMAT: 'json',
    }),
  })
  await until(async () => (await fetch(`http://127.0.0.1:${port}/api/v1/health`).catch(() => undefined))?.ok, 10_000, 'pod up')
  return child
}

test('SIGKILL during a fan-out of 100 messages: after restart every friend has all 100, none twice', async () => {
  const friends: TestPod[] = await Promise.all([netPod(), netPod(), netPod()])
  const dataDir = join(tempDir(), 'data')
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`

  // Make friends while the pod runs, then stop it cleanly.
  let pod = await spawnPod(dataDir, port)
  for (const f of friends) expect((await f.running.pod.making.makeFriends([url]))[0]!.status).toBe('added')
  pod.proc.kill('SIGTERM')
  expect(await pod.proc.exited).toBe(0)

  // The fan-out: 100 new videos, queued for every friend in one transaction, as publishing does.
  const db = openDatabase(join(dataDir, 'seedpod.db'))
  const me = (db.query('SELECT value FROM settings WHERE key = ?').get('url') as { value: string }).value
  expect(me).toBe(url)
  const store = new FriendStore(db)
  const origin = (await (await fetch(`${friends[0]!.base}/api/v1/friends`)).json()) as { friends: { fingerprint: string }[] }
  const podFingerprint = origin.friends[0]!.fingerprint
  const videos: Video[] = Array.from({ length: MESSAGES }, (_, i) => ({
    // Ids of this pod start with its fingerprint (friends refuse others).
    id: `${podFingerprint.slice(0, 16)}fanout${i}`,
    name: `Fan-out video ${i}`,
    description: '',
    uploader: 'alice',
    podUrl: url,
    podFingerprint,
    magnetUri: 'magnet:?xt=urn:btih:' + i.toString(16).padStart(40, '0'),
    torrentUrl: null,
    webseedUrls: [],
    duration: 1,
    size: 1,
    createdAt: new Date().toISOString(),
  }))
  db.transaction(() => {
    for (const v of videos) new VideoStore(db).upsert(v, url, Date.now())
    store.enqueue('all', videos.map((v) => ({ type: 'video.add', data: v })), Date.now())
  }).immediate()
  db.close()

  // Start it, and kill it -9 as soon as the first friend has part of the fan-out.
  const applied = (f: TestPod) => f.running.pod.friends.store.appliedCount(podFingerprint)
  pod = await spawnPod(dataDir, port)
  await until(() => friends.some((f) => applied(f) > 0), 10_000, 'first deliveries')
  pod.proc.kill('SIGKILL')
  await pod.proc.exited
  const atKill = friends.map(applied)
  expect(atKill.reduce((a, b) => a + b, 0)).toBeLessThan(MESSAGES * friends.length)

  pod = await spawnPod(dataDir, port)
  try {
    await until(() => friends.every((f) => applied(f) === MESSAGES), 15_000, 'every message at every friend')
    for (const f of friends) {
      // Each applied exactly once (resent batches were recognised by their jti) ...
      expect(applied(f)).toBe(MESSAGES)
      // ... and every video is in its index.
      expect(indexIds(f).filter((id) => id.startsWith(`${podFingerprint.slice(0, 16)}fanout`)).length).toBe(MESSAGES)
      expect(fp(f)).toBeString()
    }
    // The sender's outbox empties once the last replies are in.
    await until(async () => {
      const after = (await (await fetch(`${url}/api/v1/friends`)).json()) as { friends: { queued: number; state: string }[] }
      return after.friends.length === friends.length && after.friends.every((f) => f.queued === 0 && f.state === 'active')
    }, 5000, 'empty outboxes')
  } finally {
    pod.proc.kill('SIGTERM')
    await pod.proc.exited
  }
})
