/**
 * The crash test's checks between pods, once deliveries settle: each friend's index holds the
 * other's own videos as they are at their origin (names, files, streams), both outboxes are
 * empty, every view was counted exactly once at its origin, and the copied video's origin has
 * heard of every ready copy (and of no copy that is gone).
 */
import { Database } from 'bun:sqlite'
import { join } from 'node:path'
import { videosOf, type ApiMirror, type ApiVideo } from './files'
import type { CrashPod } from './pod-process'

/** Views posted (and answered) per video id: what its origin must count, once each. */
export type ViewCounts = Map<string, number>

/** A video as a friend's index must hold it: what its origin says of it. */
function shape(v: ApiVideo): string {
  const files = (v.files ?? []).map((f) => `${f.resolution}:${f.infoHash}:${f.size}`).join(',')
  const streams = (v.streams ?? []).map((s) => `${s.rendition}:${s.infoHash}:${s.size}`).join(',')
  return `${v.name} | ${v.infoHash} ${v.size} | files ${files} | streams ${streams}`
}

/** How `friend`'s index differs from `origin`'s own videos. */
async function indexDifferences(origin: CrashPod, friend: CrashPod): Promise<string[]> {
  const own = new Map((await videosOf(origin, 'local')).map((v) => [v.id, shape(v)]))
  const listed = (await videosOf(friend, 'network')).filter((v) => v.podFingerprint === origin.fingerprint)
  const held = new Map(listed.map((v) => [v.id, shape(v)]))
  // A video applied twice must not be listed twice.
  const out = held.size === listed.length ? [] : [`${friend.name}'s index lists ${listed.length - held.size} of ${origin.name}'s videos twice`]
  for (const [id, s] of own) if (held.get(id) !== s) out.push(`${friend.name}'s index: ${origin.name}'s ${id} is ${held.has(id) ? `"${held.get(id)}", not` : 'missing, it is'} "${s}"`)
  for (const id of held.keys()) if (!own.has(id)) out.push(`${friend.name}'s index: ${origin.name}'s ${id} is there, ${origin.name} has it no more`)
  return out
}

/** What still waits: outboxes, transcoding jobs, moves to the bucket, downloads of copies. */
async function pendingWork(pods: CrashPod[]): Promise<string[]> {
  const out: string[] = []
  for (const p of pods) {
    const { friends } = await p.json<{ friends: { fingerprint: string; queued: number; state: string }[] }>('/api/v1/friends')
    for (const f of friends) if (f.queued > 0 || f.state !== 'active') out.push(`${p.name}: ${f.queued} messages queued for a friend (${f.state})`)
    const { jobs } = await p.json<{ jobs: { video: string; resolution: number; state: string; error: string | null }[] }>('/api/v1/videos/transcoding/jobs')
    for (const j of jobs) if (j.state === 'queued' || j.state === 'running') out.push(`${p.name}: a transcoding job ${j.state} (${j.video} ${j.resolution})`)
    const storage = await p.json<{ pendingMoves: number }>('/api/v1/storage')
    if (storage.pendingMoves > 0) out.push(`${p.name}: ${storage.pendingMoves} files wait for the bucket`)
    const { mirrors } = await p.json<{ mirrors: ApiMirror[] }>('/api/v1/videos/mirrors')
    for (const m of mirrors) if (m.state !== 'ready') out.push(`${p.name}: a copy of ${m.video} (${m.rendition}) still downloading`)
  }
  return out
}

/** Uploads that were answered 201 and are not there (none is deleted: a crash must not lose one). */
async function lostUploads(origin: CrashPod, kept: readonly string[]): Promise<string[]> {
  const out: string[] = []
  for (const id of kept) {
    const res = await origin.api(`/api/v1/videos/${id}`)
    await res.arrayBuffer()
    if (res.status !== 200) out.push(`${origin.name}'s ${id}: answered 201 at its upload, now ${res.status}`)
  }
  return out
}

/** Views each origin counted that differ from those posted. */
async function viewDifferences(origin: CrashPod, posted: ViewCounts): Promise<string[]> {
  const out: string[] = []
  for (const [id, n] of posted) {
    const res = await origin.api(`/api/v1/videos/${id}/details`)
    const views = res.ok ? ((await res.json()) as { views: number }).views : `status ${res.status}`
    if (views !== n) out.push(`${origin.name}'s ${id}: ${views} views counted, ${n} posted`)
  }
  return out
}

/**
 * The copies `keeper` keeps that `origin` has not heard of (`video.mirror`), or the reverse; and
 * copies `origin` lists to viewers that `keeper` does not keep. What it heard is in its
 * database (read-only: no API shows a mirror before the origin's checks prove it, and a check
 * that met the keeper down waits a minute or more).
 */
async function mirrorDifferences(keeper: CrashPod, origin: CrashPod): Promise<string[]> {
  const { mirrors } = await keeper.json<{ mirrors: ApiMirror[] }>('/api/v1/videos/mirrors')
  const ready = new Set(mirrors.filter((m) => m.state === 'ready').map((m) => `${m.video}:${m.rendition}:${m.infoHash}`))
  const db = new Database(join(origin.dataDir, 'seedpod.db'), { readonly: true })
  let heard: Set<string>
  try {
    const rows = db
      .query('SELECT m.video, m.rendition, lower(hex(m.info_hash)) AS hash FROM video_mirrors m JOIN pods p ON p.id = m.pod WHERE p.fingerprint = ?')
      .all(keeper.fingerprint) as { video: string; rendition: number | null; hash: string }[]
    heard = new Set(rows.map((r) => `${r.video}:${r.rendition}:${r.hash}`))
  } finally {
    db.close()
  }
  const listed = new Set<string>()
  for (const v of await videosOf(origin, 'local'))
    for (const s of v.streams ?? []) if (s.webseedUrls.some((u) => u.startsWith(keeper.base))) listed.add(`${v.id}:${s.rendition}:${s.infoHash}`)
  return [
    ...[...ready].filter((k) => !heard.has(k)).map((k) => `${origin.name} has not heard of ${keeper.name}'s copy ${k}`),
    ...[...heard].filter((k) => !ready.has(k)).map((k) => `${origin.name} has heard of a copy ${k} that ${keeper.name} does not keep`),
    ...[...listed].filter((k) => !ready.has(k)).map((k) => `${origin.name} lists a copy ${k} that ${keeper.name} does not keep`),
  ]
}

/** What the users did that the network must show: the uploads that stay, the views each origin must count. */
export interface Expected {
  keepers: Map<CrashPod, string[]>
  counted: Map<CrashPod, ViewCounts>
}

/** Everything that is not yet as it must be once the network settles. */
export async function networkDifferences(a: CrashPod, b: CrashPod, expected: Expected): Promise<string[]> {
  const views = expected.counted
  return [
    ...(await pendingWork([a, b])),
    ...(await lostUploads(a, expected.keepers.get(a) ?? [])),
    ...(await lostUploads(b, expected.keepers.get(b) ?? [])),
    ...(await indexDifferences(a, b)),
    ...(await indexDifferences(b, a)),
    ...(await viewDifferences(a, views.get(a) ?? new Map())),
    ...(await viewDifferences(b, views.get(b) ?? new Map())),
    ...(await mirrorDifferences(a, b)),
    ...(await mirrorDifferences(b, a)),
  ]
}

/** Waits (bounded) until the network settles; returns what still differs when the time is up (nothing: settled). */
export async function settle(a: CrashPod, b: CrashPod, expected: Expected, timeoutMs: number): Promise<string[]> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const left = await networkDifferences(a, b, expected)
    if (left.length === 0 || Date.now() > deadline) return left
    await Bun.sleep(300)
  }
}

/** Videos whose transcoding failed (a crash must not fail a job). */
export async function failedJobs(pod: CrashPod): Promise<string[]> {
  const { jobs } = await pod.json<{ jobs: { video: string; resolution: number; state: string; error: string | null; detail?: string }[] }>('/api/v1/videos/transcoding/jobs')
  return jobs.filter((j) => j.state === 'failed').map((j) => `${pod.name}: job ${j.video} ${j.resolution} failed: ${j.error} ${j.detail ?? ''}`)
}
