/**
 * The durable queue of transcoding jobs: one row per video and height, in SQLite, so a
 * restart resumes what was queued or running; and the leases remote runners hold on jobs
 * (src/runners/): which runner holds a job, the lease's random id, when it expires (absolute
 * ms, from the injected clock, so a restart keeps it) and how many times runners took it.
 * Every read-modify-write of a lease is one `.immediate` transaction.
 *
 * Most jobs make a rendition (`transcode`); a `package` job (height 0: the original) remuxes
 * the original of a video of an earlier release into its stream (repackage.ts), on this pod
 * only. Jobs that the start's re-packaging queued are marked (`repack`): what its progress counts.
 */
import type { Database } from 'bun:sqlite'
import { randomBytes, timingSafeEqual } from 'node:crypto'
import { fail, ok, type Result } from '../shared/errors'

/** How many times runners may take a job before it fails (a result refused, a lease lost). */
export const MAX_ATTEMPTS = 3

/** A job leased to a runner. */
export interface Lease {
  id: number
  video: string
  resolution: number
  lease: string
  leaseExpiresAt: string
  /** How long each report extends the lease. */
  leaseMs: number
}

/** A job whose lease a runner holds. */
export interface LeasedJob {
  id: number
  video: string
  resolution: number
  attempts: number
}

/** Why a runner's request on a job is refused. */
export type LeaseRefusal = 'not_found' | 'not_your_lease' | 'lease_expired'

/** The job a runner holds, or why its request on a job is refused. */
export type LeaseCheck = Result<LeasedJob, LeaseRefusal>

/** The job a runner holds, as the admin page shows it. */
export interface HeldJob {
  id: number
  video: string
  resolution: number
  progress: number
  leaseExpiresAt: string
}

interface JobLeaseRow {
  id: number
  video: string
  resolution: number
  state: string
  runner: number | null
  lease: string | null
  lease_expires_at: number | null
  attempts: number
}

/** Compares two leases in constant time (a lease is as good as a password for its job). */
function sameLease(a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.byteLength === y.byteLength && timingSafeEqual(x, y)
}

/** A job as the API shows it. */
export interface TranscodeJob {
  id: number
  video: string
  /** The height to make; 0 for a `package` job (the original). */
  resolution: number
  /** `transcode`: make the rendition of `resolution`; `package`: remux the original into a stream (this pod only, never a runner). */
  kind: 'transcode' | 'package'
  /** Queued by the re-packaging of a video of an earlier release (repackage.ts). */
  repack: boolean
  state: 'queued' | 'running' | 'done' | 'failed'
  /** 0 to 1. */
  progress: number
  error: string | null
  createdAt: string
  updatedAt: string
}

interface JobRow {
  id: number
  video: string
  resolution: number
  kind: TranscodeJob['kind']
  repack: number
  state: TranscodeJob['state']
  progress: number
  error: string | null
  detail?: string | null
  created_at: number
  updated_at: number
}

const toJob = (r: JobRow): TranscodeJob => ({
  id: r.id,
  video: r.video,
  resolution: r.resolution,
  kind: r.kind,
  repack: r.repack === 1,
  state: r.state,
  progress: r.progress,
  error: r.error,
  createdAt: new Date(r.created_at).toISOString(),
  updatedAt: new Date(r.updated_at).toISOString(),
})

/**
 * The heights to make of a source: the configured ones below the source's own height and,
 * with `top`, the source's height itself (made even, as H.264 wants it): the top rendition
 * for an original that is no stream every browser plays and Auto may switch to
 * (src/videos/streams.ts needsTopRendition).
 */
export function targetResolutions(configured: readonly number[], sourceHeight: number, top = false): number[] {
  const below = configured.filter((h) => h < sourceHeight)
  const even = sourceHeight - (sourceHeight % 2)
  return top && even > 0 && !below.includes(even) ? [...below, even] : below
}

/** How far the re-packaging of the videos of earlier releases is: its jobs by state. */
export interface RepackProgress {
  /** Videos with re-packaging jobs, and how many of them have none unfinished. */
  videos: number
  videosDone: number
  queued: number
  running: number
  done: number
  failed: number
  /** 0 to 1: finished jobs (done or failed) and the running ones' progress, over all jobs; 1 when there are none. */
  progress: number
}

/** The durable queue of transcoding jobs. */
export class TranscodeQueue {
  constructor(
    private readonly db: Database,
    private readonly now: () => number = Date.now,
  ) {}

  /** Queues jobs for a video (call inside the transaction that stores the video); `repack`: for its re-packaging. */
  enqueue(video: string, resolutions: readonly number[], repack = false): void {
    const insert = this.db.query("INSERT OR IGNORE INTO transcode_jobs (video, resolution, state, repack, created_at, updated_at) VALUES (?, ?, 'queued', ?, ?, ?)")
    for (const r of resolutions) insert.run(video, r, Number(repack), this.now(), this.now())
  }

  /**
   * Queues a re-packaging job: a new one, or one that is done again (a rendition of an
   * earlier release is made anew; its old job is done). One that waits, runs or failed is
   * left as it is. Returns whether it was queued.
   */
  enqueueRepack(video: string, kind: TranscodeJob['kind'], resolution: number): boolean {
    const now = this.now()
    return (
      this.db
        .query(
          `INSERT INTO transcode_jobs (video, resolution, kind, repack, state, created_at, updated_at) VALUES (?1, ?2, ?3, 1, 'queued', ?4, ?4)
           ON CONFLICT (video, resolution) DO UPDATE SET kind = ?3, repack = 1, state = 'queued', progress = 0, error = NULL, detail = NULL,
             runner = NULL, lease = NULL, lease_expires_at = NULL, attempts = 0, updated_at = ?4
           WHERE transcode_jobs.state = 'done'`,
        )
        .run(video, resolution, kind, now).changes > 0
    )
  }

  /** Whether a video has a job for this height (0: its package job) in any state. */
  has(video: string, resolution: number): boolean {
    return this.db.query('SELECT 1 FROM transcode_jobs WHERE video = ? AND resolution = ?').get(video, resolution) !== null
  }

  /** The re-packaging's progress (repackage.ts). */
  repackProgress(): RepackProgress {
    const rows = this.db.query('SELECT video, state, progress FROM transcode_jobs WHERE repack = 1').all() as { video: string; state: TranscodeJob['state']; progress: number }[]
    const count = (state: TranscodeJob['state']) => rows.filter((r) => r.state === state).length
    const videos = new Set(rows.map((r) => r.video))
    const open = new Set(rows.filter((r) => r.state === 'queued' || r.state === 'running').map((r) => r.video))
    const worked = rows.reduce((sum, r) => sum + (r.state === 'done' || r.state === 'failed' ? 1 : r.state === 'running' ? r.progress : 0), 0)
    return { videos: videos.size, videosDone: videos.size - open.size, queued: count('queued'), running: count('running'), done: count('done'), failed: count('failed'), progress: rows.length ? worked / rows.length : 1 }
  }

  /**
   * Puts jobs that this pod was running when it stopped back in the queue. A remote runner's
   * job is not the pod's to resume: the runner goes on with it, or its lease runs out.
   */
  resume(): number {
    return this.db.query("UPDATE transcode_jobs SET state = 'queued', progress = 0, updated_at = ? WHERE state = 'running' AND lease IS NULL").run(this.now()).changes
  }

  /**
   * Takes the oldest job queued at or before `queuedBefore` (ms; by default any; none with
   * `null`: package jobs only), or any `package` job (no runner takes those), marking it
   * running on this pod (no runner, no lease); undefined when there is none.
   */
  claim(queuedBefore: number | null = Number.MAX_SAFE_INTEGER): TranscodeJob | undefined {
    const row = this.db
      .query(
        `UPDATE transcode_jobs SET state = 'running', progress = 0, runner = NULL, lease = NULL, lease_expires_at = NULL, updated_at = ?1
         WHERE id = (SELECT id FROM transcode_jobs WHERE state = 'queued' AND (updated_at <= ?2 OR kind = 'package') ORDER BY id LIMIT 1) RETURNING *`,
      )
      .get(this.now(), queuedBefore ?? -1) as JobRow | null
    return row ? toJob(row) : undefined
  }

  /** Puts a job this pod was running back in the queue (it could not be done now: the disk was full). */
  requeue(id: number): void {
    this.db.query("UPDATE transcode_jobs SET state = 'queued', progress = 0, updated_at = ? WHERE id = ? AND state = 'running' AND lease IS NULL").run(this.now(), id)
  }

  progress(id: number, progress: number): void {
    this.db.query("UPDATE transcode_jobs SET progress = ?, updated_at = ? WHERE id = ? AND state = 'running'").run(progress, this.now(), id)
  }

  /** Marks a job done (inside the transaction that stores its rendition). */
  done(id: number): void {
    this.db.query("UPDATE transcode_jobs SET state = 'done', progress = 1, error = NULL, updated_at = ? WHERE id = ?").run(this.now(), id)
  }

  fail(id: number, error: string, detail?: string): void {
    this.db.query("UPDATE transcode_jobs SET state = 'failed', error = ?, detail = ?, updated_at = ? WHERE id = ?").run(error, detail ?? null, this.now(), id)
  }

  /** Forgets a video's failed jobs (they are queued again). */
  dropFailed(video: string): void {
    this.db.query("DELETE FROM transcode_jobs WHERE video = ? AND state = 'failed'").run(video)
  }

  /** How many jobs are in each state (the pod's metrics). */
  countsByState(): Record<TranscodeJob['state'], number> {
    const counts = { queued: 0, running: 0, done: 0, failed: 0 }
    for (const r of this.db.query('SELECT state, count(*) AS n FROM transcode_jobs GROUP BY state').all() as { state: TranscodeJob['state']; n: number }[]) counts[r.state] = r.n
    return counts
  }

  /** Whether a job still exists (its video may have been deleted while it ran). */
  exists(id: number): boolean {
    return this.db.query('SELECT 1 FROM transcode_jobs WHERE id = ?').get(id) !== null
  }

  /** The jobs of one video. */
  of(video: string): TranscodeJob[] {
    return (this.db.query('SELECT * FROM transcode_jobs WHERE video = ? ORDER BY resolution').all(video) as JobRow[]).map(toJob)
  }

  /** Recent jobs, unfinished first, with a failed one's tool's words (for the admin page only). */
  list(limit = 100): (TranscodeJob & { detail?: string })[] {
    return (
      this.db
        .query("SELECT * FROM transcode_jobs ORDER BY CASE state WHEN 'running' THEN 0 WHEN 'queued' THEN 1 WHEN 'failed' THEN 2 ELSE 3 END, id DESC LIMIT ?")
        .all(limit) as JobRow[]
    ).map((r) => ({ ...toJob(r), ...(r.detail ? { detail: r.detail } : {}) }))
  }

  // --- runners' leases ---------------------------------------------------------------------

  /**
   * Leases the oldest queued transcoding job (never a `package` job: a remux is the pod's own,
   * a matter of seconds) to a runner for `leaseMs`, one it did not hand back or fail last if
   * there is one (another runner, or a later try, should get those first); undefined when
   * none is queued.
   */
  leaseTo(runner: number, leaseMs: number): Lease | undefined {
    const now = this.now()
    const row = this.db
      .query(
        `UPDATE transcode_jobs SET state = 'running', progress = 0, runner = ?1, lease = ?2, lease_expires_at = ?3, attempts = attempts + 1, updated_at = ?4
         WHERE id = (SELECT id FROM transcode_jobs WHERE state = 'queued' AND kind = 'transcode' ORDER BY runner IS ?1, id LIMIT 1) RETURNING id, video, resolution, lease, lease_expires_at`,
      )
      .get(runner, randomBytes(32).toString('base64url'), now + leaseMs, now) as { id: number; video: string; resolution: number; lease: string; lease_expires_at: number } | null
    if (!row) return undefined
    return { id: row.id, video: row.video, resolution: row.resolution, lease: row.lease, leaseExpiresAt: new Date(row.lease_expires_at).toISOString(), leaseMs }
  }

  /**
   * Whether `runner` holds `lease` on job `id` now: `not_your_lease` when the job is another's
   * (another runner's, the pod's, or a lease that is not the job's), `lease_expired` when it
   * was this lease but its time ran out (whether or not the sweep has put the job back yet).
   */
  checkLease(runner: number, id: number, lease: string): LeaseCheck {
    const row = this.db.query('SELECT id, video, resolution, state, runner, lease, lease_expires_at, attempts FROM transcode_jobs WHERE id = ?').get(id) as JobLeaseRow | null
    if (!row) return fail('not_found')
    if (row.runner !== runner || row.lease === null || !sameLease(row.lease, lease)) return fail('not_your_lease')
    if (row.state !== 'running' || (row.lease_expires_at ?? 0) <= this.now()) return fail('lease_expired')
    return ok({ id: row.id, video: row.video, resolution: row.resolution, attempts: row.attempts })
  }

  /** Extends a held lease by `leaseMs` from now, with the job's progress if given; the check's answer. */
  extendLease(runner: number, id: number, lease: string, leaseMs: number, progress?: number): Result<LeasedJob & { leaseExpiresAt: string }, LeaseRefusal> {
    return this.db.transaction(() => {
      const held = this.checkLease(runner, id, lease)
      if (!held.ok) return held
      const until = this.now() + leaseMs
      this.db.query('UPDATE transcode_jobs SET lease_expires_at = ?, progress = coalesce(?, progress), updated_at = ? WHERE id = ?').run(until, progress ?? null, this.now(), id)
      return ok({ ...held.value, leaseExpiresAt: new Date(until).toISOString() })
    }).immediate()
  }

  /**
   * Ends a held lease without a result: the job is queued again, or failed with `error` (and
   * `detail`, for admins) once runners have taken it MAX_ATTEMPTS times.
   */
  releaseLease(runner: number, id: number, lease: string, error: string, opts: { detail?: string } = {}): LeaseCheck {
    return this.db.transaction(() => {
      const held = this.checkLease(runner, id, lease)
      if (held.ok) this.endLease(id, held.value.attempts, error, opts)
      return held
    }).immediate()
  }

  /** Puts every job whose lease ran out back in the queue (failed after MAX_ATTEMPTS); returns how many. */
  sweepLeases(): number {
    return this.db.transaction(() => {
      const expired = this.db.query("SELECT id, attempts FROM transcode_jobs WHERE state = 'running' AND lease IS NOT NULL AND lease_expires_at <= ?").all(this.now()) as { id: number; attempts: number }[]
      for (const j of expired) this.endLease(j.id, j.attempts, `runners did not finish this job in ${MAX_ATTEMPTS} attempts`)
      return expired.length
    }).immediate()
  }

  /** Whether any job waits in the queue. */
  anyQueued(): boolean {
    return this.db.query("SELECT 1 FROM transcode_jobs WHERE state = 'queued' LIMIT 1").get() !== null
  }

  /** The jobs runners hold now, each with its runner. */
  heldJobs(): (HeldJob & { runner: number })[] {
    const rows = this.db.query("SELECT id, video, resolution, progress, runner, lease_expires_at FROM transcode_jobs WHERE state = 'running' AND lease IS NOT NULL").all() as {
      id: number
      video: string
      resolution: number
      progress: number
      runner: number
      lease_expires_at: number
    }[]
    return rows.map((r) => ({ runner: r.runner, id: r.id, video: r.video, resolution: r.resolution, progress: r.progress, leaseExpiresAt: new Date(r.lease_expires_at).toISOString() }))
  }

  /** The running job of a runner that goes away returns to the queue, and its lease with it. */
  requeueRunner(runner: number): void {
    this.db
      .query("UPDATE transcode_jobs SET state = 'queued', progress = 0, runner = NULL, lease = NULL, lease_expires_at = NULL, updated_at = ? WHERE runner = ? AND state = 'running' AND lease IS NOT NULL")
      .run(this.now(), runner)
  }

  /** The runner and lease stay on the row: a late request with that lease is then told it expired. */
  private endLease(id: number, attempts: number, error: string, opts: { detail?: string } = {}): void {
    if (attempts >= MAX_ATTEMPTS) this.fail(id, error, opts.detail)
    else this.db.query("UPDATE transcode_jobs SET state = 'queued', progress = 0, updated_at = ? WHERE id = ?").run(this.now(), id)
  }
}
