/**
 * The database with another process: a writer waits for the write lock another process
 * holds (busy_timeout) instead of failing. (Settings and migrations are test/unit/db.test.ts.)
 */
import { afterAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { join } from 'node:path'
import { openDatabase } from '../src/shared/db'
import { removeTempDirs, tempDir } from './helpers/temp'

afterAll(removeTempDirs)
// Real processes on a shared machine: far more than they need, never a timing assertion.
setDefaultTimeout(60_000)

describe('database', () => {
  test('a writer waits for another process holding the write lock instead of failing with SQLITE_BUSY', async () => {
    const path = join(tempDir(), 'seedpod.db')
    openDatabase(path).close()
    // Another process takes the write lock, says so, holds it 300 ms, then commits.
    const holder = Bun.spawn(
      [
        process.execPath,
        '-e',
        `const { Database } = require('bun:sqlite')
         const db = new Database(${JSON.stringify(path)})
         db.exec('BEGIN IMMEDIATE')
         db.exec("INSERT INTO users (subject, username, password_hash, role, created_at) VALUES ('s-first', 'first', 'h', 'user', 0)")
         console.log('locked')
         Bun.sleepSync(300)
         db.exec('COMMIT')
         db.close()`,
      ],
      { stdout: 'pipe', stderr: 'inherit' },
    )
    const reader = holder.stdout.getReader()
    const { value } = await reader.read()
    expect(new TextDecoder().decode(value)).toContain('locked')
    const db = openDatabase(path)
    try {
      db.query("INSERT INTO users (subject, username, password_hash, role, created_at) VALUES ('s-second', 'second', 'h', 'user', 0)").run()
      expect(db.query('SELECT username FROM users ORDER BY id').all()).toEqual([{ username: 'first' }, { username: 'second' }])
    } finally {
      db.close()
      reader.releaseLock()
      expect(await holder.exited).toBe(0)
    }
  })
})
