/**
 * The pod's SQLite database: WAL, a busy timeout, foreign keys, and versioned migrations
 * tracked in `PRAGMA user_version`, run by src/shared/migrate.ts: a copy of the database is
 * taken first, and an upgrade that fails leaves the database as it was.
 */
import { Database } from 'bun:sqlite'
import type { Logger } from './log'
import { migrate } from './migrate'
import { EARLY_MIGRATIONS } from './schema/early'
import { LATER_MIGRATIONS } from './schema/later'

export { DatabaseVersionError, MigrationError, schemaVersion } from './migrate'

export { INDEX_SAMPLE_EVERY } from './schema/early'
export { GRAM_RANGES, GRAM_SKIPPED } from './schema/later'

/** Schema migrations (schema/early.ts, schema/later.ts); index + 1 is the version each one brings the database to. Append only. */
export const MIGRATIONS: readonly string[] = [...EARLY_MIGRATIONS, ...LATER_MIGRATIONS]

/** The schema version this build of seedpod writes. */
export const SCHEMA_VERSION = MIGRATIONS.length

/** How a database is opened: up to which version, with which migrations (tests), and where the upgrade is logged. */
export interface OpenOptions {
  /** The schema version to bring it to (default: the latest). */
  to?: number
  /** The migrations to run (default: MIGRATIONS); tests give a list that fails. */
  migrations?: readonly string[]
  log?: Logger
}

/**
 * Opens (creating if needed) the database at `path` and brings it to `to` (default: latest).
 * Throws MigrationError when the upgrade fails (the database is left as it was) and
 * DatabaseVersionError when the database is newer than this build.
 */
export function openDatabase(path: string, opts: OpenOptions = {}): Database {
  const db = new Database(path, { create: true, strict: true })
  try {
    // First: the pragmas below read the database, which another process may hold a moment
    // (`seedpod storage migrate` or `user add` recovering the log a crash left): wait, not fail.
    db.exec('PRAGMA busy_timeout = 5000')
    // Before anything is written (a new database only): 16 KiB pages hold 43 rows of the
    // video index where 4 KiB pages held 10, wasting less of each (test/bench/index.ts).
    db.exec('PRAGMA page_size = 16384')
    db.exec('PRAGMA journal_mode = WAL')
    db.exec('PRAGMA foreign_keys = ON')
    db.exec('PRAGMA synchronous = NORMAL')
    // Up to 64 MiB of pages in memory (the default is 2 MiB): the index's b-trees then stay
    // cached while a friend's thousands of videos go in, 30% faster at a million videos.
    db.exec('PRAGMA cache_size = -65536')
    const migrations = opts.migrations ?? MIGRATIONS
    migrate(db, path, migrations, opts.to ?? migrations.length, opts.log)
    return db
  } catch (e) {
    db.close()
    throw e
  }
}
