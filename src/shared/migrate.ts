/**
 * Bringing a database's schema up to date (src/shared/db.ts holds the migrations), so that a
 * failed upgrade changes nothing:
 * - before the first migration, a copy of the database is taken (`backups/pre-migration-v<from>-<time>.db`
 *   beside it, the last PRE_MIGRATION_BACKUPS_KEPT of them kept);
 * - every pending migration runs in one transaction: one that fails rolls back those before it
 *   too, and the database file is left byte for byte as it was;
 * - the error names the migration, SQLite's words and the copy (MigrationError).
 * Taking consistent copies of a live database (`snapshotInto`) is here too: `seedpod backup`
 * uses it while the pod writes.
 */
import type { Database } from 'bun:sqlite'
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import type { Logger } from './log'

/** The first line of a migration that makes a table anew: the upgrade runs with foreign keys off (see migrate). */
export const REBUILDS_A_TABLE = '-- makes a table anew'

/** How many pre-migration copies stay in `backups/` (older ones are removed when a new one is taken). */
export const PRE_MIGRATION_BACKUPS_KEPT = 3

/** The pre-migration copies' names: the version they are at, and when they were taken (UTC, sortable). */
const PRE_MIGRATION = /^pre-migration-v\d+-(\d{8}T\d{9}Z)\.db$/

/** A database newer than this build knows. */
export class DatabaseVersionError extends Error {}

/**
 * An upgrade that failed: its message says which migration, SQLite's error, that the
 * database is as it was, and where its pre-migration copy is. Known by its name where it is
 * caught (the CLI): it may come from a lazily loaded bundle with its own copy of this class.
 */
export class MigrationError extends Error {
  override name = 'MigrationError'
  constructor(
    message: string,
    /** The copy of the database taken before the upgrade; undefined for a new (empty) database. */
    readonly backup: string | undefined,
  ) {
    super(message)
  }
}

/** Current schema version of an open database. */
export function schemaVersion(db: Database): number {
  return (db.query('PRAGMA user_version').get() as { user_version: number }).user_version
}

/**
 * Writes a consistent copy of the open database to `path` (VACUUM INTO: one read
 * transaction, so under WAL it is the database as of one commit while others write; compact,
 * and the page size kept). Written beside it first and renamed, synced: `path` is either
 * whole or not there.
 */
export function snapshotInto(db: Database, path: string): void {
  const part = `${path}.part`
  rmSync(part, { force: true })
  try {
    db.query('VACUUM INTO ?').run(part)
    const fd = openSync(part, 'r+')
    try {
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
    renameSync(part, path)
  } catch (e) {
    rmSync(part, { force: true })
    throw e
  }
}

/** Takes the pre-migration copy of the database at `path` (at version `from`) and removes the oldest beyond the bound. */
function backUp(db: Database, path: string, from: number, now: Date): string {
  const dir = join(dirname(resolve(path)), 'backups')
  const file = join(dir, `pre-migration-v${from}-${now.toISOString().replace(/[-:.]/g, '')}.db`)
  try {
    mkdirSync(dir, { recursive: true, mode: 0o750 })
    snapshotInto(db, file)
  } catch (e) {
    throw new MigrationError(`cannot copy the database before upgrading it from schema version ${from} (${(e as Error).message}); nothing was changed`, undefined)
  }
  const copies = readdirSync(dir)
    .map((name) => ({ name, at: PRE_MIGRATION.exec(name)?.[1] }))
    .filter((c): c is { name: string; at: string } => c.at !== undefined)
    .sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0))
  for (const old of copies.slice(PRE_MIGRATION_BACKUPS_KEPT)) rmSync(join(dir, old.name), { force: true })
  return file
}

/** SQLite's words for an error, with its code. */
function sqliteWords(e: unknown): string {
  const code = (e as { code?: unknown }).code
  return `${(e as Error).message ?? e}${typeof code === 'string' ? ` (${code})` : ''}`
}

/** Rows naming rows that are not there (left by a migration run with foreign keys off). */
class BrokenReferences extends Error {}

/** Throws BrokenReferences when the database has rows that name rows that are not there. */
function checkForeignKeys(db: Database): void {
  const broken = db.query('PRAGMA foreign_key_check').all() as { table: string; parent: string }[]
  if (broken.length) throw new BrokenReferences(`it would leave ${broken.length} row(s) naming rows that are not there (${broken[0]!.table} -> ${broken[0]!.parent})`)
}

/**
 * Applies every migration of `migrations` above the database's version, up to `to`, as one
 * transaction, after a copy of the database is taken (when it has a schema to keep).
 */
export function migrate(db: Database, path: string, migrations: readonly string[], to: number, log?: Logger): void {
  const from = schemaVersion(db)
  if (from > migrations.length)
    throw new DatabaseVersionError(`database schema version ${from} is newer than this seedpod knows (${migrations.length}): upgrade seedpod`)
  if (from >= to) return
  const backup = from > 0 ? backUp(db, path, from, new Date()) : undefined
  if (backup) log?.info('db.backup.made', { path: backup, from, to })
  // SQLite's way to change a table's columns is to make it anew, with foreign keys off
  // (dropping the old one would otherwise delete, or fail for, the rows that name it), and to
  // check them all before the commit (https://sqlite.org/lang_altertable.html#otheralter). The
  // setting cannot change inside a transaction: it is off for the whole upgrade then.
  const rebuilds = migrations.slice(from, to).some((sql) => sql.startsWith(REBUILDS_A_TABLE))
  if (rebuilds) db.exec('PRAGMA foreign_keys = OFF')
  let failed = from
  try {
    db.transaction(() => {
      // Read again under the write lock: another process (`seedpod user add`) may have upgraded it meanwhile.
      const at = schemaVersion(db)
      for (let v = at; v < to; v++) {
        failed = v
        db.exec(migrations[v]!)
        if (rebuilds && (migrations[v]!.startsWith(REBUILDS_A_TABLE) || v === to - 1)) checkForeignKeys(db)
      }
      if (at < to) db.exec(`PRAGMA user_version = ${to}`)
    }).immediate()
  } catch (e) {
    const kept = backup ? `; a copy of it taken before the upgrade is ${backup}` : ''
    throw new MigrationError(
      `migration ${failed + 1} (of the upgrade from schema version ${from} to ${to}) failed: ${sqliteWords(e)}. ` +
        `The database is as it was (version ${from})${kept}. Nothing was changed: fix the cause, or go back to the seedpod release that ran it`,
      backup,
    )
  } finally {
    if (rebuilds) db.exec('PRAGMA foreign_keys = ON')
  }
  log?.info('db.migrated', { from, to })
}
