/**
 * The database: its settings, migrations from an empty file and from every earlier schema
 * version to the current one, the copy taken before an upgrade, and an upgrade that fails
 * (a migration made to fail through `openDatabase`'s `migrations`). (A writer waiting for
 * another process, and a pod whose upgrade fails, are test/db.test.ts.)
 */
import { Database } from 'bun:sqlite'
import { afterAll, describe, expect, test } from 'bun:test'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { DatabaseVersionError, MigrationError, MIGRATIONS, openDatabase, SCHEMA_VERSION, schemaVersion } from '../../src/shared/db'
import { PRE_MIGRATION_BACKUPS_KEPT } from '../../src/shared/migrate'
import { removeTempDirs, tempDir } from '../helpers/temp'

afterAll(removeTempDirs)

/** The schema as SQLite stores it: every table, index and trigger with its SQL. */
function schemaOf(db: Database): { type: string; name: string; sql: string | null }[] {
  return db.query("SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name").all() as never
}

/** The pre-migration copies in `dir`/backups, oldest first. */
function copies(dir: string): string[] {
  const backups = join(dir, 'backups')
  return existsSync(backups) ? readdirSync(backups).sort((a, b) => a.split('-').at(-1)!.localeCompare(b.split('-').at(-1)!)) : []
}

/** A database at the latest version with one user, closed; returns its folder and path. */
function upToDate(): { dir: string; path: string } {
  const dir = tempDir()
  const path = join(dir, 'seedpod.db')
  const db = openDatabase(path)
  db.query("INSERT INTO users (subject, username, password_hash, role, created_at) VALUES ('s', 'kept', 'h', 'admin', 1)").run()
  db.close()
  return { dir, path }
}

function freshSchema() {
  const db = openDatabase(join(tempDir(), 'fresh.db'))
  try {
    return schemaOf(db)
  } finally {
    db.close()
  }
}

describe('database', () => {
  test('a new database is WAL, waits when busy, enforces foreign keys, and is at the latest version', () => {
    const path = join(tempDir(), 'seedpod.db')
    const db = openDatabase(path)
    try {
      expect(db.query('PRAGMA journal_mode').get()).toEqual({ journal_mode: 'wal' })
      expect(db.query('PRAGMA busy_timeout').get()).toEqual({ timeout: 5000 })
      expect(db.query('PRAGMA foreign_keys').get()).toEqual({ foreign_keys: 1 })
      expect(schemaVersion(db)).toBe(SCHEMA_VERSION)
      expect(SCHEMA_VERSION).toBe(MIGRATIONS.length)
      expect(schemaOf(db).map((t) => t.name)).toContain('users')
    } finally {
      db.close()
    }
  })

  for (let from = 0; from < SCHEMA_VERSION; from++) {
    test(`a database at schema version ${from} is migrated to ${SCHEMA_VERSION} and keeps its data`, () => {
      const path = join(tempDir(), 'seedpod.db')
      const old = openDatabase(path, { to: from })
      expect(schemaVersion(old)).toBe(from)
      const hasUsers = schemaOf(old).some((t) => t.name === 'users')
      // From the version that gave accounts a subject of their own, a row needs one.
      const hasSubject = hasUsers && (old.query('PRAGMA table_info(users)').all() as { name: string }[]).some((c) => c.name === 'subject')
      if (hasSubject) old.query("INSERT INTO users (subject, username, password_hash, role, created_at) VALUES ('s', 'kept', 'h', 'admin', 1)").run()
      else if (hasUsers) old.query("INSERT INTO users (username, password_hash, role, created_at) VALUES ('kept', 'h', 'admin', 1)").run()
      old.close()

      const db = openDatabase(path)
      try {
        expect(schemaVersion(db)).toBe(SCHEMA_VERSION)
        expect(schemaOf(db)).toEqual(freshSchema())
        if (hasUsers) expect(db.query("SELECT username, role FROM users WHERE username = 'kept'").get()).toEqual({ username: 'kept', role: 'admin' })
      } finally {
        db.close()
      }
    })
  }

  test('opening an up-to-date database again changes nothing', () => {
    const path = join(tempDir(), 'seedpod.db')
    openDatabase(path).close()
    const db = openDatabase(path)
    try {
      expect(schemaVersion(db)).toBe(SCHEMA_VERSION)
      expect(schemaOf(db)).toEqual(freshSchema())
    } finally {
      db.close()
    }
  })

  test('a database from a newer seedpod is refused, untouched', () => {
    const path = join(tempDir(), 'seedpod.db')
    const raw = new Database(path, { create: true })
    raw.exec(`PRAGMA user_version = ${SCHEMA_VERSION + 1}`)
    raw.close()
    expect(() => openDatabase(path)).toThrow(DatabaseVersionError)
    expect(() => openDatabase(path)).toThrow(`database schema version ${SCHEMA_VERSION + 1} is newer than this seedpod knows`)
    const after = new Database(path)
    expect(schemaVersion(after)).toBe(SCHEMA_VERSION + 1)
    after.close()
  })

  test('user names are unique regardless of case', () => {
    const db = openDatabase(join(tempDir(), 'seedpod.db'))
    try {
      db.query("INSERT INTO users (subject, username, password_hash, role, created_at) VALUES ('s-Alice', 'Alice', 'h', 'user', 0)").run()
      expect(() => db.query("INSERT INTO users (subject, username, password_hash, role, created_at) VALUES ('s-alice', 'alice', 'h', 'user', 0)").run()).toThrow('UNIQUE')
      expect(() => db.query("INSERT INTO users (subject, username, password_hash, role, created_at) VALUES ('s-bob', 'bob', 'h', 'root', 0)").run()).toThrow('CHECK')
    } finally {
      db.close()
    }
  })

  test('an upgrade first copies the database, as it was, to backups/pre-migration-v<from>-<time>.db', () => {
    const dir = tempDir()
    const path = join(dir, 'seedpod.db')
    const old = openDatabase(path, { to: 3 })
    expect(copies(dir)).toEqual([])
    old.query("INSERT INTO users (username, password_hash, role, created_at) VALUES ('kept', 'h', 'admin', 1)").run()
    old.close()
    openDatabase(path).close()
    const [copy, ...more] = copies(dir)
    expect(more).toEqual([])
    expect(copy).toMatch(/^pre-migration-v3-\d{8}T\d{9}Z\.db$/)
    const kept = new Database(join(dir, 'backups', copy!), { readonly: true })
    try {
      expect(schemaVersion(kept)).toBe(3)
      expect(kept.query('SELECT username FROM users').all()).toEqual([{ username: 'kept' }])
    } finally {
      kept.close()
    }
    // An up-to-date database is not copied again.
    openDatabase(path).close()
    expect(copies(dir)).toEqual([copy!])
  })

  test(`only the last ${PRE_MIGRATION_BACKUPS_KEPT} pre-migration copies are kept`, () => {
    const { dir, path } = upToDate()
    const made: string[] = []
    for (let i = 0; i < PRE_MIGRATION_BACKUPS_KEPT + 2; i++) {
      const extra = Array.from({ length: i + 1 }, (_, n) => `CREATE TABLE extra${n} (a);`)
      openDatabase(path, { migrations: [...MIGRATIONS, ...extra] }).close()
      made.push(copies(dir).at(-1)!)
      expect(made.at(-1)).toStartWith(`pre-migration-v${SCHEMA_VERSION + i}-`)
      Bun.sleepSync(2)
    }
    expect(copies(dir)).toEqual(made.slice(-PRE_MIGRATION_BACKUPS_KEPT))
  })

  test('a migration that fails leaves the database byte for byte as it was (the ones before it too), says which and why, and keeps the copy', () => {
    const { dir, path } = upToDate()
    const before = readFileSync(path)
    const migrations = [...MIGRATIONS, 'CREATE TABLE fine (a);', 'INSERT INTO nowhere VALUES (1);']
    let error: unknown
    try {
      openDatabase(path, { migrations })
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(MigrationError)
    const message = (error as Error).message
    expect(message).toContain(`migration ${SCHEMA_VERSION + 2} (of the upgrade from schema version ${SCHEMA_VERSION} to ${SCHEMA_VERSION + 2}) failed: no such table: nowhere`)
    expect(message).toContain(`The database is as it was (version ${SCHEMA_VERSION})`)
    const backup = (error as MigrationError).backup!
    expect(message).toContain(backup)
    expect(existsSync(backup)).toBe(true)
    expect(Buffer.compare(readFileSync(path), before)).toBe(0)
    expect(existsSync(`${path}-wal`)).toBe(false)
    // This release opens it as it was: the first migration of the failed upgrade is not there either.
    const db = openDatabase(path)
    try {
      expect(schemaVersion(db)).toBe(SCHEMA_VERSION)
      expect(db.query("SELECT name FROM sqlite_master WHERE name = 'fine'").all()).toEqual([])
      expect(db.query('SELECT username FROM users').all()).toEqual([{ username: 'kept' }])
    } finally {
      db.close()
    }
  })
})
