/**
 * The runners' rows: registration tokens and runners. Only hashes of tokens and secrets are
 * stored. Both are `<id>.<random>`: the id finds the row, the random part is compared with its
 * hash in constant time. The leases runners hold on jobs are the transcoding queue's
 * (src/transcoding/queue.ts): a runner that goes away hands its job back to it.
 */
import type { Database } from 'bun:sqlite'
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import type { TranscodeQueue } from '../transcoding/queue'
import type { RunnerInfo, TokenInfo } from './model'

/** A registered runner, as a request authenticated with its secret. */
export interface Runner {
  id: number
  name: string
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

/** Tokens and runners in the pod's database. */
export class RunnerStore {
  constructor(
    private readonly db: Database,
    /** The jobs' queue, which holds the runners' leases. */
    private readonly queue: TranscodeQueue,
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
      for (const r of this.db.query('SELECT id FROM runners WHERE token = ?').all(id) as { id: number }[]) this.queue.requeueRunner(r.id)
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
    const rows = this.db.query('SELECT id, name, token, created_at, last_contact_at FROM runners ORDER BY id').all() as {
      id: number
      name: string
      token: number
      created_at: number
      last_contact_at: number
    }[]
    const held = this.queue.heldJobs()
    return rows.flatMap((r): RunnerInfo[] => {
      const runner = { id: r.id, name: r.name, token: r.token, createdAt: new Date(r.created_at).toISOString(), lastContactAt: new Date(r.last_contact_at).toISOString() }
      const jobs = held.filter((j) => j.runner === r.id)
      return jobs.length ? jobs.map(({ runner: _, ...job }) => ({ ...runner, job })) : [{ ...runner, job: null }]
    })
  }

  /** Removes a runner (its secret stops working); its job goes back to the queue. False: no such runner. */
  removeRunner(id: number): boolean {
    return this.db.transaction(() => {
      this.queue.requeueRunner(id)
      return this.db.query('DELETE FROM runners WHERE id = ?').run(id).changes > 0
    }).immediate()
  }

  /** Whether any runner was in contact within `withinMs`. */
  anyActive(withinMs: number): boolean {
    return this.db.query('SELECT 1 FROM runners WHERE last_contact_at >= ? LIMIT 1').get(this.now() - withinMs) !== null
  }
}
