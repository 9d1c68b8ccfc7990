/**
 * Networks of real pods on loopback for the friendship tests: start, restart on the same
 * data, wait for a condition, and act as an admin over HTTP.
 */
import type { Video } from '../../src/videos/model'
import { startTestPod, type TestPod } from './pods'
import { freePort } from './ports'
import { valueOf } from './results'

const running = new Set<TestPod>()

/**
 * Stops every pod netPod started and the test file has not stopped. Each test file calls
 * `afterAll(stopPods)` at its top: this module is loaded once for the whole run, so a hook
 * registered here would belong to the first file only.
 */
export async function stopPods(): Promise<void> {
  await Promise.all([...running].map((p) => p.stop()))
}

/** A pod on a free loopback port whose public URL is `http://127.0.0.1:PORT`; stopped after the file. */
export async function netPod(values: Record<string, unknown> = {}): Promise<TestPod> {
  // An undefined value means "choose anew" (a restart on another port).
  const given = Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined))
  const port = (given.port as number | undefined) ?? (await freePort())
  const p = await startTestPod({ url: `http://127.0.0.1:${port}`, ...given, port })
  running.add(p)
  const stop = p.stop
  p.stop = async () => {
    running.delete(p)
    await stop()
  }
  return p
}

/** Restarts a stopped pod on its data folder (same identity), with changes to its config. */
export function restart(p: TestPod, changes: Record<string, unknown> = {}): Promise<TestPod> {
  return netPod({ ...configValues(p), ...changes })
}

function configValues(p: TestPod): Record<string, unknown> {
  const c = p.config
  return { dataDir: c.dataDir, port: c.port, url: c.url, retry: { ...c.retry }, score: { ...c.score }, blacklistRevoked: c.blacklistRevoked, maxMessageBytes: c.maxMessageBytes }
}

/** Polls `check` until it returns a truthy value or `ms` pass. */
export async function until<T>(check: () => T | Promise<T>, ms = 5000, what = 'condition'): Promise<NonNullable<T>> {
  const end = Date.now() + ms
  for (;;) {
    const v = await check()
    if (v) return v as NonNullable<T>
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await Bun.sleep(10)
  }
}

/** A bearer token of a new admin account of the pod. */
export async function adminToken(p: TestPod): Promise<string> {
  const accounts = p.running.pod.accounts
  const name = `admin${Math.floor(Math.random() * 1e9)}`
  const user = valueOf(await accounts.create(name, 'correct horse battery staple', 'admin'))
  return (await accounts.issueToken(user)).accessToken
}

const adminTokens = new WeakMap<TestPod, Promise<string>>()

/** The friends of a pod as `GET /api/v1/friends` shows them to its admin (with `lastError`). */
export async function friendsOf(p: TestPod): Promise<{ url: string; fingerprint: string; score: number; state: string; queued: number; lastError: string | null; nextRetryAt: string | null }[]> {
  if (!adminTokens.has(p)) adminTokens.set(p, adminToken(p))
  const headers = { authorization: `Bearer ${await adminTokens.get(p)}` }
  return ((await (await fetch(`${p.base}/api/v1/friends`, { headers })).json()) as { friends: never[] }).friends
}

/** The fingerprint of a pod. */
export const fp = (p: TestPod) => p.running.pod.identity.fingerprint

/** Video ids in a pod's index. */
export function indexIds(p: TestPod): string[] {
  return (p.running.pod.db.query('SELECT id FROM videos ORDER BY id').all() as { id: string }[]).map((r) => r.id)
}

let n = 0
/** Publishes a (synthetic) video of this pod: into its index and to every friend's outbox. */
export function publish(p: TestPod, fields: Partial<Video> = {}): Video {
  const v = syntheticVideo(p, fields)
  p.running.pod.videos.publish(v)
  return v
}

/** A well-formed Video of the pod (no file behind it): what its messages would carry. */
/** A video id of pod `p` (its ids start with its fingerprint's first 16 characters) ending in `suffix`. */
export const videoId = (p: TestPod, suffix: string) => p.running.pod.identity.fingerprint.slice(0, 16) + suffix

export function syntheticVideo(p: TestPod, fields: Partial<Video> = {}): Video {
  const pod = p.running.pod
  return videoOf({ url: pod.config.url, fingerprint: pod.identity.fingerprint }, { id: videoId(p, `v${Date.now().toString(36)}${n++}`), name: 'A test video', description: 'made by the friendship tests', ...fields })
}

/** A well-formed Video of an origin (a pod, a fake one, a bench's), with `fields` over plain defaults. */
export function videoOf(origin: { url: string; fingerprint: string }, fields: Partial<Video> & { id: string }): Video {
  return {
    name: 'A video',
    description: '',
    uploader: 'alice',
    podUrl: origin.url,
    podFingerprint: origin.fingerprint,
    magnetUri: `magnet:?xt=urn:btih:${'0'.repeat(40)}`,
    torrentUrl: null,
    webseedUrls: [],
    duration: 1,
    size: 1,
    createdAt: new Date().toISOString(),
    ...fields,
  }
}
