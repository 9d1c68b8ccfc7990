/**
 * Temporary folders of the tests, made under the OS temp dir and removed by `removeTempDirs`
 * (each test file's afterAll). A module of its own, apart from the pods of helpers/pods.ts,
 * so that the unit tests (test/unit/) use them without loading the whole pod.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const made: string[] = []

/** Removes every folder tempDir() made so far. Test files call it in afterAll. */
export function removeTempDirs(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true })
}

/**
 * A fresh empty folder under the OS temp dir. Removed by removeTempDirs(): every test file
 * that makes temp dirs calls `afterAll(removeTempDirs)` at its top level. tempDir cannot
 * register that itself: in bun:test a hook registered from inside beforeAll runs at once, a
 * top-level hook in this (shared) module would run for the first test file only, and
 * process 'exit' handlers do not run at the end of `bun test`.
 */
export function tempDir(prefix = 'seedpod-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  made.push(dir)
  return dir
}
