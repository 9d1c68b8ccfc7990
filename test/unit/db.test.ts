/**
 * The database: its settings, and migrations from an empty file and from every earlier
 * schema version to the current one. (A writer waiting for another process is
 * test/db.test.ts.)
 */
import { Database } from 'bun:sqlite'
import { afterAll, describe, expect, test } from 'bun:test'
import { join } from 'node:path'
import { DatabaseVersionError, MIGRATIONS, openDatabase, SCHEMA_VERSION, schemaVersion } from '../../src/shared/db'
import { removeTempDirs, tempDir } from '../helpers/temp'

afterAll(removeTempDirs)

/** The schema as SQLite stores it: every table, index and trigger with its SQL. */
function schemaOf(db: Database): { type: string; name: string; sql: string | null }[] {
  return db.query("SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name").all() as never
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
})
