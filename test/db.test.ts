/**
 * The database with other processes: a writer waits for the write lock another process
 * holds (busy_timeout) instead of failing, and so does opening it while another process holds
 * it whole; a pod whose database's upgrade fails exits 70 saying why, the database as it was
 * and its copy kept. (Settings and migrations are test/unit/db.test.ts.)
 */
import { Database } from 'bun:sqlite'
import { afterAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { mkdirSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { MIGRATIONS, openDatabase, SCHEMA_VERSION } from '../src/shared/db'
import { REBUILDS_A_TABLE } from '../src/shared/migrate'
import { runCli } from './helpers/pods'
import { freePort } from './helpers/ports'
import { removeTempDirs, tempDir } from './helpers/temp'

afterAll(removeTempDirs)
// Real processes on a shared machine: far more than they need, never a timing assertion.
setDefaultTimeout(60_000)

/**
 * Runs `check` while another process holds the database at `path`: it runs `statements`, says
 * so, holds on 300 ms, then commits; `check` runs once it said so. The process must exit 0.
 */
async function whileHeld(path: string, statements: string[], check: () => void): Promise<void> {
  const holder = Bun.spawn(
    [
      process.execPath,
      '-e',
      `const { Database } = require('bun:sqlite')
       const db = new Database(${JSON.stringify(path)})
       for (const sql of ${JSON.stringify(statements)}) db.exec(sql)
       console.log('locked')
       Bun.sleepSync(300)
       db.exec('COMMIT')
       db.close()`,
    ],
    { stdout: 'pipe', stderr: 'inherit' },
  )
  const reader = holder.stdout.getReader()
  try {
    const { value } = await reader.read()
    expect(new TextDecoder().decode(value)).toContain('locked')
    check()
  } finally {
    reader.releaseLock()
    expect(await holder.exited).toBe(0)
  }
}

describe('database', () => {
  test('a writer waits for another process holding the write lock instead of failing with SQLITE_BUSY', async () => {
    const path = join(tempDir(), 'seedpod.db')
    openDatabase(path).close()
    // Another process takes the write lock, says so, holds it 300 ms, then commits.
    await whileHeld(path, ['BEGIN IMMEDIATE', "INSERT INTO users (subject, username, password_hash, role, created_at) VALUES ('s-first', 'first', 'h', 'user', 0)"], () => {
      const db = openDatabase(path)
      try {
        db.query("INSERT INTO users (subject, username, password_hash, role, created_at) VALUES ('s-second', 'second', 'h', 'user', 0)").run()
        expect(db.query('SELECT username FROM users ORDER BY id').all()).toEqual([{ username: 'first' }, { username: 'second' }])
      } finally {
        db.close()
      }
    })
  })

  test('opening waits for another process holding the whole database (as the recovery of a log a crash left does) instead of failing', async () => {
    const path = join(tempDir(), 'seedpod.db')
    openDatabase(path).close()
    // Found by the crash test: a pod restarted while `storage migrate` opened the database exited 1, "database is locked".
    await whileHeld(path, ['PRAGMA locking_mode = EXCLUSIVE', 'BEGIN EXCLUSIVE', "INSERT INTO settings (key, value) VALUES ('held', '1')"], () => {
      const db = openDatabase(path)
      try {
        expect(db.query("SELECT value FROM settings WHERE key = 'held'").get()).toEqual({ value: '1' })
      } finally {
        db.close()
      }
    })
  })

  test('a pod whose upgrade fails exits 70 naming the migration and the copy, and leaves the database byte for byte as it was', async () => {
    const dir = tempDir()
    const dataDir = join(dir, 'data')
    const path = join(dataDir, 'seedpod.db')
    // A database of an earlier release (schema 10) whose own video names an account that is
    // not there: the accounts' migration, which makes the users table anew, refuses it.
    const from = 10
    mkdirSync(dataDir)
    openDatabase(path, { to: from }).close()
    const raw = new Database(path)
    raw.exec("INSERT INTO users (username, password_hash, role, created_at) VALUES ('kept', 'h', 'admin', 1)")
    raw.exec("INSERT INTO local_videos (video, owner, mime) VALUES ('gone', 999, 'video/mp4')")
    raw.close()
    const before = readFileSync(path)

    const port = await freePort()
    const { code, stderr } = await runCli(['serve', '--data-dir', dataDir, '--host', '127.0.0.1', '--port', String(port)], { cwd: dir })
    const accounts = MIGRATIONS.findIndex((sql) => sql.startsWith(REBUILDS_A_TABLE)) + 1
    expect(accounts).toBeGreaterThan(from)
    expect(stderr).toContain(`migration ${accounts} (of the upgrade from schema version ${from} to ${SCHEMA_VERSION}) failed`)
    expect(stderr).toContain('naming rows that are not there (local_videos -> ')
    expect(stderr).toContain(`The database is as it was (version ${from})`)
    expect(code).toBe(70)
    const copies = readdirSync(join(dataDir, 'backups'))
    expect(copies).toEqual([expect.stringMatching(new RegExp(`^pre-migration-v${from}-\\d{8}T\\d{9}Z\\.db$`))])
    expect(stderr).toContain(join(dataDir, 'backups', copies[0]!))
    expect(Buffer.compare(readFileSync(path), before)).toBe(0)
    const copy = new Database(join(dataDir, 'backups', copies[0]!), { readonly: true })
    try {
      expect(copy.query('PRAGMA user_version').get()).toEqual({ user_version: from })
      expect(copy.query('SELECT username FROM users').all()).toEqual([{ username: 'kept' }])
      expect(copy.query('SELECT video, owner FROM local_videos').all()).toEqual([{ video: 'gone', owner: 999 }])
    } finally {
      copy.close()
    }
  })
})
