/**
 * The durable queue of transcoding jobs: one row per video and height, in SQLite, so a
 * restart resumes what was queued or running. Most jobs make a rendition (`transcode`); a
 * `package` job (height 0: the original) remuxes the original of a video of an earlier
 * release into its stream (repackage.ts). Jobs that the start's re-packaging queued are
 * marked (`repack`), which is what its progress counts.
 */
import type { Database } from 'bun:sqlite'

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
}
