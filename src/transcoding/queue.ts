/**
 * The durable queue of transcoding jobs: one row per video and height, in SQLite, so a
 * restart resumes what was queued or running.
 */
import type { Database } from 'bun:sqlite'

/** A job as the API shows it. */
export interface TranscodeJob {
  id: number
  video: string
  resolution: number
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


/** The durable queue of transcoding jobs. */
export class TranscodeQueue {
  constructor(
    private readonly db: Database,
    private readonly now: () => number = Date.now,
  ) {}

  /** Queues jobs for a video (call inside the transaction that stores the video). */
  enqueue(video: string, resolutions: readonly number[]): void {
    const insert = this.db.query("INSERT OR IGNORE INTO transcode_jobs (video, resolution, state, created_at, updated_at) VALUES (?, ?, 'queued', ?, ?)")
    for (const r of resolutions) insert.run(video, r, this.now(), this.now())
  }

  /**
   * Puts jobs that this pod was running when it stopped back in the queue. A remote runner's
   * job is not the pod's to resume: the runner goes on with it, or its lease runs out.
   */
  resume(): number {
    return this.db.query("UPDATE transcode_jobs SET state = 'queued', progress = 0, updated_at = ? WHERE state = 'running' AND lease IS NULL").run(this.now()).changes
  }

  /**
   * Takes the oldest job queued at or before `queuedBefore` (ms; by default any), marking it
   * running on this pod (no runner, no lease); undefined when there is none.
   */
  claim(queuedBefore = Number.MAX_SAFE_INTEGER): TranscodeJob | undefined {
    const row = this.db
      .query(
        `UPDATE transcode_jobs SET state = 'running', progress = 0, runner = NULL, lease = NULL, lease_expires_at = NULL, updated_at = ?1
         WHERE id = (SELECT id FROM transcode_jobs WHERE state = 'queued' AND updated_at <= ?2 ORDER BY id LIMIT 1) RETURNING *`,
      )
      .get(this.now(), queuedBefore) as JobRow | null
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
