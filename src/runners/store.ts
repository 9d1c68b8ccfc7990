/**
 * The runners' rows: registration tokens, runners and the leases they hold on transcoding
 * jobs (columns of `transcode_jobs`). Only hashes of tokens and secrets are stored. Both are
 * `<id>.<random>`: the id finds the row, the random part is compared with its hash in
 * constant time. Every read-modify-write is one `.immediate` transaction; time comes from
 * the injected clock, and lease expiries are absolute, so a restart keeps them.
 */
import type { Database } from 'bun:sqlite'
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import type { RunnerInfo, RunnerJob, TokenInfo } from './model'
import type { Original } from './verify'

/** How many times runners may take a job before it fails (a result refused, a lease lost). */
export const MAX_ATTEMPTS = 3

/** A registered runner, as a request authenticated with its secret. */
export interface Runner {
  id: number
  name: string
}

/** Why a runner's request on a job is refused, or the job it holds. */
export type LeaseCheck = { ok: true; job: { id: number; video: string; resolution: number; attempts: number } } | { ok: false; code: 'not_found' | 'not_your_lease' | 'lease_expired' }

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

const hash = (secret: string) => createHash('sha256').update(secret).digest()
const random = () => randomBytes(32).toString('base64url')

/** `<id>.<random>` split, or undefined when it is not of that shape. */
function parseCredential(credential: string): { id: number; secret: string } | undefined {
  const m = /^(\d{1,15})\.([A-Za-z0-9_-]{43})$/.exec(credential)
  return m ? { id: Number(m[1]), secret: m[2]! } : undefined
}

/** Whether `secret` hashes to `stored`, in time that does not depend on where they differ. */
const matches = (secret: string, stored: Uint8Array) => stored.byteLength === 32 && timingSafeEqual(hash(secret), stored)

/** Tokens, runners and leases in the pod's database. */
export class RunnerStore {
  constructor(
    private readonly db: Database,
    private readonly now: () => number = Date.now,
  ) {}

  /** Makes a registration token; the returned `token` is shown once and never stored. */
  createToken(name: string): TokenInfo & { token: string } {
    const secret = random()
    const row = this.db.query('INSERT INTO runner_tokens (name, hash, created_at) VALUES (?, ?, ?) RETURNING id, created_at').get(name, hash(secret), this.now()) as { id: number; created_at: number }
    return { id: row.id, name, createdAt: new Date(row.created_at).toISOString(), runners: 0, token: `${row.id}.${secret}` }
  }

  tokens(): TokenInfo[] {
    const rows = this.db.query('SELECT t.id, t.name, t.created_at, (SELECT count(*) FROM runners r WHERE r.token = t.id) AS runners FROM runner_tokens t ORDER BY t.id').all() as { id: number; name: string; created_at: number; runners: number }[]
    return rows.map((r) => ({ id: r.id, name: r.name, createdAt: new Date(r.created_at).toISOString(), runners: r.runners }))
  }

  /** Revokes a token and removes every runner registered with it; their jobs go back to the queue. False: no such token. */
  revokeToken(id: number): boolean {
    return this.db.transaction(() => {
      for (const r of this.db.query('SELECT id FROM runners WHERE token = ?').all(id) as { id: number }[]) this.requeueOf(r.id)
      this.db.query('DELETE FROM runners WHERE token = ?').run(id)
      return this.db.query('DELETE FROM runner_tokens WHERE id = ?').run(id).changes > 0
    }).immediate()
  }

  /** Registers a runner with a token (a token registers any number of runners until revoked); undefined for a bad token. */
  register(token: string, name: string): { runner: Runner; secret: string } | undefined {
    const cred = parseCredential(token)
    if (!cred) return undefined
    const row = this.db.query('SELECT hash FROM runner_tokens WHERE id = ?').get(cred.id) as { hash: Uint8Array } | null
    if (!row || !matches(cred.secret, row.hash)) return undefined
    const secret = random()
    const now = this.now()
    const id = (this.db.query('INSERT INTO runners (token, name, hash, created_at, last_contact_at) VALUES (?, ?, ?, ?, ?) RETURNING id').get(cred.id, name, hash(secret), now, now) as { id: number }).id
    return { runner: { id, name }, secret: `${id}.${secret}` }
  }

  /** The runner whose secret this is, its last contact now; undefined for a wrong, revoked or removed one. */
  authenticate(credential: string): Runner | undefined {
    const cred = parseCredential(credential)
    if (!cred) return undefined
    const row = this.db.query('SELECT id, name, hash FROM runners WHERE id = ?').get(cred.id) as { id: number; name: string; hash: Uint8Array } | null
    if (!row || !matches(cred.secret, row.hash)) return undefined
    this.db.query('UPDATE runners SET last_contact_at = ? WHERE id = ?').run(this.now(), row.id)
    return { id: row.id, name: row.name }
  }

  /** Every runner with its last contact and the job it holds, if any (admin page). */
  runners(): RunnerInfo[] {
    const rows = this.db
      .query(
        `SELECT r.id, r.name, r.token, r.created_at, r.last_contact_at, j.id AS job, j.video, j.resolution, j.progress, j.lease_expires_at
         FROM runners r LEFT JOIN transcode_jobs j ON j.runner = r.id AND j.state = 'running' AND j.lease IS NOT NULL ORDER BY r.id`,
      )
      .all() as { id: number; name: string; token: number; created_at: number; last_contact_at: number; job: number | null; video: string; resolution: number; progress: number; lease_expires_at: number }[]
    return rows.map((r) => ({
      id: r.id,
      name: r.name,
      token: r.token,
      createdAt: new Date(r.created_at).toISOString(),
      lastContactAt: new Date(r.last_contact_at).toISOString(),
      job: r.job === null ? null : { id: r.job, video: r.video, resolution: r.resolution, progress: r.progress, leaseExpiresAt: new Date(r.lease_expires_at).toISOString() },
    }))
  }

  /** Removes a runner (its secret stops working); its job goes back to the queue. False: no such runner. */
  removeRunner(id: number): boolean {
    return this.db.transaction(() => {
      this.requeueOf(id)
      return this.db.query('DELETE FROM runners WHERE id = ?').run(id).changes > 0
    }).immediate()
  }

  /** Whether any runner was in contact within `withinMs`. */
  anyActive(withinMs: number): boolean {
    return this.db.query('SELECT 1 FROM runners WHERE last_contact_at >= ? LIMIT 1').get(this.now() - withinMs) !== null
  }

  /**
   * What was probed of a video's original at upload, as a result is checked against it;
   * undefined for a video of an earlier release (its sound was not kept) or one gone.
   */
  original(video: string): Original | undefined {
    const row = this.db.query('SELECT v.duration, l.audio FROM videos v JOIN local_videos l ON l.video = v.id WHERE v.id = ?').get(video) as { duration: number | null; audio: string | null } | null
    if (!row || row.audio === null || !row.duration) return undefined
    return { ok: true, durationSeconds: row.duration, ...(row.audio ? { audioCodec: row.audio } : {}) }
  }

  /**
   * Leases the oldest queued transcoding job (never a `package` job: a remux is the pod's own,
   * a matter of seconds) to a runner for `leaseMs`, one it did not hand back or fail
   * last if there is one (another runner, or a later try, should get those first);
   * undefined when none is queued.
   */
  claim(runner: number, leaseMs: number): RunnerJob | undefined {
    const now = this.now()
    const row = this.db
      .query(
        `UPDATE transcode_jobs SET state = 'running', progress = 0, runner = ?1, lease = ?2, lease_expires_at = ?3, attempts = attempts + 1, updated_at = ?4
         WHERE id = (SELECT id FROM transcode_jobs WHERE state = 'queued' AND kind = 'transcode' ORDER BY runner IS ?1, id LIMIT 1) RETURNING id, video, resolution, lease, lease_expires_at`,
      )
      .get(runner, random(), now + leaseMs, now) as { id: number; video: string; resolution: number; lease: string; lease_expires_at: number } | null
    if (!row) return undefined
    const duration = (this.db.query('SELECT duration FROM videos WHERE id = ?').get(row.video) as { duration: number | null } | null)?.duration ?? 0
    return { id: row.id, video: row.video, resolution: row.resolution, duration, lease: row.lease, leaseExpiresAt: new Date(row.lease_expires_at).toISOString(), leaseMs }
  }

  /**
   * Whether `runner` holds `lease` on job `id` now: `not_your_lease` when the job is another's
   * (another runner's, the pod's, or a lease that is not the job's), `lease_expired` when it
   * was this lease but its time ran out (whether or not the sweep has put the job back yet).
   */
  check(runner: number, id: number, lease: string): LeaseCheck {
    const row = this.db.query('SELECT id, video, resolution, state, runner, lease, lease_expires_at, attempts FROM transcode_jobs WHERE id = ?').get(id) as JobLeaseRow | null
    if (!row) return { ok: false, code: 'not_found' }
    if (row.runner !== runner || row.lease === null || !sameLease(row.lease, lease)) return { ok: false, code: 'not_your_lease' }
    if (row.state !== 'running' || (row.lease_expires_at ?? 0) <= this.now()) return { ok: false, code: 'lease_expired' }
    return { ok: true, job: { id: row.id, video: row.video, resolution: row.resolution, attempts: row.attempts } }
  }

  /** Extends a held lease by `leaseMs` from now, with the job's progress if given; the check's answer. */
  extend(runner: number, id: number, lease: string, leaseMs: number, progress?: number): LeaseCheck & { leaseExpiresAt?: string } {
    return this.db.transaction(() => {
      const held = this.check(runner, id, lease)
      if (!held.ok) return held
      const until = this.now() + leaseMs
      this.db.query('UPDATE transcode_jobs SET lease_expires_at = ?, progress = coalesce(?, progress), updated_at = ? WHERE id = ?').run(until, progress ?? null, this.now(), id)
      return { ...held, leaseExpiresAt: new Date(until).toISOString() }
    }).immediate()
  }

  /**
   * Ends a held lease without a result: the job is queued again, or failed with `error` (and
   * `detail`, for admins) once runners have taken it MAX_ATTEMPTS times.
   */
  release(runner: number, id: number, lease: string, error: string, opts: { detail?: string } = {}): LeaseCheck {
    return this.db.transaction(() => {
      const held = this.check(runner, id, lease)
      if (held.ok) this.endLease(id, held.job.attempts, error, opts)
      return held
    }).immediate()
  }

  /** Puts every job whose lease ran out back in the queue (failed after MAX_ATTEMPTS); returns how many. */
  sweep(): number {
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

  /** The runner and lease stay on the row: a late request with that lease is then told it expired. */
  private endLease(id: number, attempts: number, error: string, opts: { detail?: string } = {}): void {
    if (attempts >= MAX_ATTEMPTS) this.db.query("UPDATE transcode_jobs SET state = 'failed', error = ?, detail = ?, updated_at = ? WHERE id = ?").run(error, opts.detail ?? null, this.now(), id)
    else this.db.query("UPDATE transcode_jobs SET state = 'queued', progress = 0, updated_at = ? WHERE id = ?").run(this.now(), id)
  }

  /** The running job of a runner that goes away returns to the queue, and its lease with it. */
  private requeueOf(runner: number): void {
    this.db.query("UPDATE transcode_jobs SET state = 'queued', progress = 0, runner = NULL, lease = NULL, lease_expires_at = NULL, updated_at = ? WHERE runner = ? AND state = 'running' AND lease IS NOT NULL").run(this.now(), runner)
  }
}

/** Compares two leases in constant time (a lease is as good as a password for its job). */
function sameLease(a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.byteLength === y.byteLength && timingSafeEqual(x, y)
}
