/**
 * The pod's SQLite database: WAL, a busy timeout, foreign keys, and versioned migrations
 * tracked in `PRAGMA user_version`. Each migration runs in its own transaction, so a
 * failed one leaves the database at the previous version.
 */
import { Database } from 'bun:sqlite'

/** Schema migrations; index + 1 is the version each one brings the database to. Append only. */
export const MIGRATIONS: readonly string[] = [
  // 1: accounts
  `CREATE TABLE users (
     id INTEGER PRIMARY KEY,
     username TEXT NOT NULL UNIQUE COLLATE NOCASE,
     password_hash TEXT NOT NULL,
     role TEXT NOT NULL CHECK (role IN ('user', 'admin')),
     created_at INTEGER NOT NULL
   );`,
]

/** The schema version this build of seedpod writes. */
export const SCHEMA_VERSION = MIGRATIONS.length

/** A database newer than this build knows, or a failed migration. */
export class DatabaseVersionError extends Error {}

/** Opens (creating if needed) the database at `path` and brings it to `to` (default: latest). */
export function openDatabase(path: string, opts: { to?: number } = {}): Database {
  const db = new Database(path, { create: true, strict: true })
  try {
    db.exec('PRAGMA journal_mode = WAL')
    db.exec('PRAGMA busy_timeout = 5000')
    db.exec('PRAGMA foreign_keys = ON')
    db.exec('PRAGMA synchronous = NORMAL')
    migrate(db, opts.to ?? SCHEMA_VERSION)
    return db
  } catch (e) {
    db.close()
    throw e
  }
}

/** Current schema version of an open database. */
export function schemaVersion(db: Database): number {
  return (db.query('PRAGMA user_version').get() as { user_version: number }).user_version
}

/** Applies every migration above the database's version, up to `to`. */
export function migrate(db: Database, to: number = SCHEMA_VERSION): void {
  const from = schemaVersion(db)
  if (from > SCHEMA_VERSION)
    throw new DatabaseVersionError(
      `database schema version ${from} is newer than this seedpod knows (${SCHEMA_VERSION}): upgrade seedpod`,
    )
  for (let v = from; v < to; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]!)
      db.exec(`PRAGMA user_version = ${v + 1}`)
    }).immediate()
  }
}
