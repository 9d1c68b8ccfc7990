/** Users in SQLite: name, argon2id password hash, role, when made. */
import type { Database } from 'bun:sqlite'

/** What a user may do: `admin`s run the pod. */
export type Role = 'user' | 'admin'

/** A user as stored. */
export interface UserRow {
  id: number
  username: string
  password_hash: string
  role: Role
  created_at: number
}

/** The users table of one pod's database. */
export class AccountStore {
  constructor(private readonly db: Database) {}

  /** Adds a user; a name taken already fails on the table's UNIQUE constraint. */
  add(username: string, passwordHash: string, role: Role, now: number): UserRow {
    return this.db.query('INSERT INTO users (username, password_hash, role, created_at) VALUES (?, ?, ?, ?) RETURNING *').get(username, passwordHash, role, now) as UserRow
  }

  /** A user by name (case-insensitive). */
  byName(username: string): UserRow | undefined {
    return (this.db.query('SELECT * FROM users WHERE username = ?').get(username) as UserRow | null) ?? undefined
  }

  byId(id: number): UserRow | undefined {
    return (this.db.query('SELECT * FROM users WHERE id = ?').get(id) as UserRow | null) ?? undefined
  }

  /** Every user, oldest first. */
  all(): UserRow[] {
    return this.db.query('SELECT * FROM users ORDER BY id').all() as UserRow[]
  }

  count(): number {
    return (this.db.query('SELECT count(*) AS n FROM users').get() as { n: number }).n
  }
}
