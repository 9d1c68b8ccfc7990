/**
 * The crash test's workload: the seed of its schedule (CRASH_SEED replays a run's, drawn from
 * fuzz.ts's seeded Rng), and what users do on the pods between kills: uploads, edits, deletions, views.
 * Requests in flight when a pod is killed fail or not: their outcome is recorded only when
 * answered, and the checks never depend on one that was not.
 */
import type { Rng } from '../fuzz'
import type { ViewCounts } from './network'
import type { CrashPod } from './pod-process'

/** The seed of this run: CRASH_SEED, or a new one (each run explores another schedule; it is printed). */
export function crashSeed(): number {
  const given = process.env.CRASH_SEED
  if (!given) return Math.floor(Math.random() * 0x100000000)
  const n = Number(given)
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new Error(`CRASH_SEED must be an integer from 0 to 4294967295, not ${given}`)
  return n
}

/** One of `items`, drawn; undefined when there is none. One draw either way: the schedule's draws do not depend on timings. */
const pickFrom = <T>(rng: Rng, items: readonly T[]): T | undefined => items[Math.floor(rng.float() * items.length)]

/** What the users did that the checks rely on: the videos that stay, and the views each origin must count. */
export class Workload {
  /** Videos uploaded to stay (never deleted: views are counted on them), by pod. */
  readonly keepers = new Map<CrashPod, string[]>()
  /** Videos uploaded to be deleted, by pod. */
  readonly temporary = new Map<CrashPod, string[]>()
  /** Views answered, by the origin that must count them. */
  readonly counted = new Map<CrashPod, ViewCounts>()
  readonly counts = { uploads: 0, uploadsAnswered: 0, deletes: 0, renames: 0, views: 0 }
  private serial = 0

  constructor(
    private readonly rng: Rng,
    private readonly clips: { mp4: string; webm: string },
  ) {}

  /** Uploads a clip (a WebM now and then); resolves when answered or cut by a kill. */
  async upload(pod: CrashPod, keep: boolean): Promise<void> {
    const webm = this.rng.chance(0.15)
    const name = `${keep ? 'keep' : 'temp'} ${pod.name} ${++this.serial}`
    const form = new FormData()
    form.append('name', name)
    form.append('file', Bun.file(webm ? this.clips.webm : this.clips.mp4))
    this.counts.uploads++
    const res = await pod.api('/api/v1/videos', { method: 'POST', body: form }).catch(() => undefined)
    if (res?.status !== 201) return void (await res?.arrayBuffer())
    const { id } = (await res.json()) as { id: string }
    this.counts.uploadsAnswered++
    const list = keep ? this.keepers : this.temporary
    list.set(pod, [...(list.get(pod) ?? []), id])
  }

  /** Deletes one of the pod's temporary videos. */
  async deleteOne(pod: CrashPod): Promise<void> {
    const id = pickFrom(this.rng, this.temporary.get(pod) ?? [])
    if (!id) return
    this.counts.deletes++
    const res = await pod.api(`/api/v1/videos/${id}`, { method: 'DELETE' }).catch(() => undefined)
    await res?.arrayBuffer()
    if (res && (res.status === 204 || res.status === 200 || res.status === 404)) this.temporary.set(pod, this.temporary.get(pod)!.filter((v) => v !== id))
  }

  /** Renames one of the pod's videos (a `video.update` for its friends). */
  async renameOne(pod: CrashPod): Promise<void> {
    const id = pickFrom(this.rng, [...(this.keepers.get(pod) ?? []), ...(this.temporary.get(pod) ?? [])])
    if (!id) return
    this.counts.renames++
    const keep = this.keepers.get(pod)?.includes(id)
    const res = await pod.api(`/api/v1/videos/${id}`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: `${keep ? 'keep' : 'temp'} renamed ${++this.serial}` }) }).catch(() => undefined)
    await res?.arrayBuffer()
  }

  /**
   * Posts views of `origin`'s kept videos at `at` (a friend: each goes to the origin through
   * its outbox); only while `at` is not about to be killed, so each is answered, and counted.
   */
  async views(at: CrashPod, origin: CrashPod, n: number): Promise<void> {
    const counts = this.counted.get(origin) ?? new Map<string, number>()
    this.counted.set(origin, counts)
    for (let i = 0; i < n; i++) {
      const id = pickFrom(this.rng, this.keepers.get(origin) ?? [])
      if (!id) return
      // A video the friend has not heard of yet is not its to count.
      const res = await at.api(`/api/v1/videos/${id}/views`, { method: 'POST' })
      await res.arrayBuffer()
      if (res.status === 404) continue
      if (res.status !== 202) throw new Error(`${at.name}: a view of ${origin.name}'s ${id}: ${res.status}, not 202`)
      counts.set(id, (counts.get(id) ?? 0) + 1)
      this.counts.views++
    }
  }
}
