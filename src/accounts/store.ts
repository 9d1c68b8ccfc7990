/**
 * Users in SQLite: name, argon2id password hash, role, status, when made and from where. An
 * id is never given twice (AUTOINCREMENT), and each user has a random subject that login
 * tokens name (src/shared/db.ts, the accounts migration).
 */
import type { Database } from 'bun:sqlite'

/** What a user may do: `admin`s run the pod. */
export type Role = 'user' | 'admin'

/** `active`: may log in; `pending`: waits for an admin's approval; `disabled`: by an admin. */
export type UserStatus = 'active' | 'pending' | 'disabled'

/** A user as stored. */
export interface UserRow {
  id: number
  subject: string
  username: string
  password_hash: string
  role: Role
  status: UserStatus
  /** The address block it registered from, while the registration limit's window needs it. */
  registered_from: string | null
  created_at: number
}

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

/** The users table of one pod's database. */
export class AccountStore {
  constructor(private readonly db: Database) {}

  /** Adds a user with a fresh subject; a name taken already fails on the table's UNIQUE constraint. */
  add(u: NewUser): UserRow {
    return this.db
      .query('INSERT INTO users (subject, username, password_hash, role, status, registered_from, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING *')
      .get(crypto.randomUUID(), u.username, u.passwordHash, u.role, u.status, u.registeredFrom, u.createdAt) as UserRow
  }

  /** A user by name (case-insensitive). */
  byName(username: string): UserRow | undefined {
    return (this.db.query('SELECT * FROM users WHERE username = ?').get(username) as UserRow | null) ?? undefined
  }

  byId(id: number): UserRow | undefined {
    return (this.db.query('SELECT * FROM users WHERE id = ?').get(id) as UserRow | null) ?? undefined
  }

  /** The user a login token names. */
  bySubject(subject: string): UserRow | undefined {
    return (this.db.query('SELECT * FROM users WHERE subject = ?').get(subject) as UserRow | null) ?? undefined
  }

  /** Every user (or those of one status), oldest first. */
  all(status?: UserStatus): UserRow[] {
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
  setStatus(id: number, status: UserStatus): UserRow | undefined {
    const row =
      status === 'disabled'
        ? this.db.query('UPDATE users SET status = ?, subject = ? WHERE id = ? RETURNING *').get(status, crypto.randomUUID(), id)
        : this.db.query('UPDATE users SET status = ? WHERE id = ? RETURNING *').get(status, id)
    return (row as UserRow | null) ?? undefined
  }

  /** Deletes a user; one that videos name as their owner fails on their foreign key. */
  remove(id: number): boolean {
    return this.db.query('DELETE FROM users WHERE id = ?').run(id).changes > 0
  }
}
