/**
 * Accounts in SQLite: the `users` table. An id is never given twice (AUTOINCREMENT), and each
 * user has a random subject that login tokens name (src/shared/db.ts, the accounts migration).
 */
import type { Database } from 'bun:sqlite'

export type Role = 'user' | 'admin'

/** `active`: may log in; `pending`: waits for an admin's approval; `disabled`: by an admin. */
export type UserStatus = 'active' | 'pending' | 'disabled'

/** A user as the API shows it. */
export interface User {
  id: number
  username: string
  role: Role
  status: UserStatus
  createdAt: string
}

/** A user as stored. */
export interface UserRow {
  id: number
  subject: string
  username: string
  password_hash: string
  role: Role
  status: UserStatus
  registered_from: string | null
  created_at: number
}

/** The API's view of a stored user. */
export const toUser = (r: UserRow): User => ({ id: r.id, username: r.username, role: r.role, status: r.status, createdAt: new Date(r.created_at).toISOString() })

/** What a new account is made of. */
export interface NewUser {
  username: string
  passwordHash: string
  role: Role
  status: UserStatus
  /** The address block it registered from (none for `seedpod user add`). */
  registeredFrom: string | null
  createdAt: number
}

/** The `users` table. */
export class UserStore {
  constructor(private readonly db: Database) {}

  /** Stores a new user with a fresh subject; throws on a taken name (UNIQUE). */
  insert(u: NewUser): UserRow {
    return this.db
      .query('INSERT INTO users (subject, username, password_hash, role, status, registered_from, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING *')
      .get(crypto.randomUUID(), u.username, u.passwordHash, u.role, u.status, u.registeredFrom, u.createdAt) as UserRow
  }

  byName(username: string): UserRow | null {
    return this.db.query('SELECT * FROM users WHERE username = ?').get(username) as UserRow | null
  }

  byId(id: number): UserRow | null {
    return this.db.query('SELECT * FROM users WHERE id = ?').get(id) as UserRow | null
  }

  bySubject(subject: string): UserRow | null {
    return this.db.query('SELECT * FROM users WHERE subject = ?').get(subject) as UserRow | null
  }

  /** Every account (or those of one status), oldest first. */
  list(status?: UserStatus): UserRow[] {
    return (status ? this.db.query('SELECT * FROM users WHERE status = ? ORDER BY id').all(status) : this.db.query('SELECT * FROM users ORDER BY id').all()) as UserRow[]
  }

  count(): number {
    return (this.db.query('SELECT count(*) AS n FROM users').get() as { n: number }).n
  }

  /** Accounts registered from an address block since `since` (ms), and when the oldest of them was. */
  registeredFrom(block: string, since: number): { count: number; oldest: number | null } {
    return this.db
      .query('SELECT count(*) AS count, min(created_at) AS oldest FROM users WHERE registered_from = ? AND created_at > ?')
      .get(block, since) as { count: number; oldest: number | null }
  }

  /** Forgets the address blocks of registrations made before `before` (ms): the limit no longer needs them. */
  forgetAddresses(before: number): number {
    return this.db.query('UPDATE users SET registered_from = NULL WHERE registered_from IS NOT NULL AND created_at <= ?').run(before).changes
  }

  /** Sets a user's status; disabling also gives it a new subject, so that no token issued before works again. */
  setStatus(id: number, status: UserStatus): UserRow | null {
    const sql = status === 'disabled' ? 'UPDATE users SET status = ?, subject = ? WHERE id = ? RETURNING *' : 'UPDATE users SET status = ? WHERE id = ? RETURNING *'
    const args = status === 'disabled' ? [status, crypto.randomUUID(), id] : [status, id]
    return this.db.query(sql).get(...args) as UserRow | null
  }

  /** Whether the user uploaded videos (which name it as their owner). */
  ownsVideos(id: number): boolean {
    return this.db.query('SELECT 1 FROM local_videos WHERE owner = ? LIMIT 1').get(id) !== null
  }

  delete(id: number): boolean {
    return this.db.query('DELETE FROM users WHERE id = ?').run(id).changes > 0
  }
}
