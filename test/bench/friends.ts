/**
 * Friendship benchmarks:
 *  1. propagation: 20 pods on loopback, all friends; one publishes a video; time until all
 *     19 friends have it in their index (goal <= 2 s). The pods share this one process, so
 *     every seal, open and reply of the fan-out runs on one thread: a worst case.
 *  2. inbox crypto: messages decrypted and verified per second on one core by the pod's
 *     `open` (decrypt, sender lookup, verify, checks), against a bare jose
 *     compactDecrypt + compactVerify loop over the same messages (goal >= 0.7x).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { compactDecrypt, compactVerify } from 'jose'
import { open, seal } from '../../src/federation/envelope'
import { CURRENT_VERSION } from '../../src/federation/versions'
import { importPeerKey, newIdentity } from '../../src/identity/keys'
import { ok } from '../../src/shared/errors'
import { createLogger } from '../../src/shared/log'
import { startPod, type RunningPod } from '../../src/app/server'
import type { Video } from '../../src/videos/model'
import { testConfig } from '../helpers/pods'
import { freePort } from '../helpers/ports'

const PODS = 20
const ROUNDS = 5
const MESSAGES = 400

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

async function propagation(dir: string): Promise<void> {
  const log = createLogger({ level: 'error', format: 'json' })
  const pods: RunningPod[] = []
  for (let i = 0; i < PODS; i++) {
    const port = await freePort()
    // Loopback pods of one address: private addresses allowed, and more friend requests per hour than the default.
    const config = testConfig({ port, url: `http://127.0.0.1:${port}`, dataDir: join(dir, `pod${i}`), friends: { requestsPerHour: 10_000 } })
    pods.push(await startPod(config, log))
  }
  try {
    // Each new pod asks pod 0, whose list names everyone before it: a full mesh.
    for (const p of pods.slice(1)) await p.pod.making.makeFriends([pods[0]!.pod.config.url])
    const friendsOf0 = pods[0]!.pod.friends.store.all().length
    if (friendsOf0 !== PODS - 1) throw new Error(`expected ${PODS - 1} friends, got ${friendsOf0}`)

    const times: number[] = []
    for (let r = 0; r < ROUNDS; r++) {
      const origin = pods[r % PODS]!.pod
      const video: Video = {
        id: `${origin.identity.fingerprint.slice(0, 16)}bench${r}${Date.now().toString(36)}`,
        name: 'x'.repeat(50),
        description: 'd'.repeat(250),
        uploader: 'u'.repeat(50),
        podUrl: origin.config.url,
        podFingerprint: origin.identity.fingerprint,
        magnetUri: 'magnet:?xt=urn:btih:' + '0'.repeat(40),
        torrentUrl: null,
        webseedUrls: [],
        duration: 1,
        size: 1,
        createdAt: new Date().toISOString(),
      }
      const others = pods.filter((p) => p.pod !== origin).map((p) => p.pod.db.query('SELECT 1 FROM videos WHERE id = ?'))
      const t0 = performance.now()
      origin.videos.publish(video)
      const pending = new Set(others)
      while (pending.size) {
        for (const q of pending) if (q.get(video.id)) pending.delete(q)
        if (pending.size) await Bun.sleep(1)
        if (performance.now() - t0 > 30_000) throw new Error('propagation did not finish in 30 s')
      }
      times.push(performance.now() - t0)
    }
    console.log(
      `friends propagation: ${PODS} pods, one video to ${PODS - 1} friends in ${median(times).toFixed(0)} ms median of ${ROUNDS} ` +
        `(all: ${times.map((t) => t.toFixed(0)).join(', ')}) (goal <= 2000 ms)`,
    )
  } finally {
    await Promise.all(pods.map((p) => p.stop()))
  }
}

async function inboxCrypto(): Promise<void> {
  const [{ identity: a }, { identity: b }] = await Promise.all([newIdentity(), newIdentity()])
  const aKeys = await importPeerKey(a.publicJwk)
  const bKeys = await importPeerKey(b.publicJwk)
  const now = Date.now()
  const messages = await Promise.all(
    Array.from({ length: MESSAGES }, (_, i) =>
      seal(
        {
          v: CURRENT_VERSION,
          from: { url: 'http://127.0.0.1:1', fingerprint: b.fingerprint },
          to: a.fingerprint,
          iat: Math.floor(now / 1000),
          jti: `m${i}`,
          messages: [{ type: 'video.add', data: { id: `v${i}`, name: 'x'.repeat(50), description: 'd'.repeat(250) } }],
        },
        b,
        { fingerprint: a.fingerprint, encryptKey: aKeys.encryptKey },
      ),
    ),
  )
  const friendKey = { verifyKey: bKeys.verifyKey }
  const bare = async () => {
    const t0 = performance.now()
    for (const m of messages) {
      const { plaintext } = await compactDecrypt(m, a.decryptKey)
      await compactVerify(new TextDecoder().decode(plaintext), bKeys.verifyKey)
    }
    return MESSAGES / ((performance.now() - t0) / 1000)
  }
  const ours = async () => {
    const t0 = performance.now()
    for (const m of messages) {
      const r = await open(m, a, () => ok(friendKey), now)
      if (!r.ok) throw new Error(r.error.message)
    }
    return MESSAGES / ((performance.now() - t0) / 1000)
  }
  await bare()
  await ours()
  const b1: number[] = []
  const o1: number[] = []
  for (let i = 0; i < 5; i++) {
    // Alternate which goes first so neither always runs on a warmer cache.
    if (i % 2) {
      b1.push(await bare())
      o1.push(await ours())
    } else {
      o1.push(await ours())
      b1.push(await bare())
    }
  }
  const [mb, mo] = [median(b1), median(o1)]
  console.log(`friends inbox crypto: seedpod ${mo.toFixed(0)} msg/s, bare jose ${mb.toFixed(0)} msg/s, ratio ${(mo / mb).toFixed(2)} (goal >= 0.7)`)
}

/** Runs both friendship benchmarks and prints their results. */
export async function run(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'seedpod-bench-friends-'))
  try {
    await inboxCrypto()
    await propagation(dir)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

if (import.meta.main) await run()
