/**
 * Files as backups and restores handle them: copied in chunks (any size, little memory) and
 * hashed (SHA-256) in the same pass, synced before they count; folders made with the modes
 * the data folder has; and a destination that is taken over only when it is new or empty,
 * and left as it was found when the work fails.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, rmSync, statSync } from 'node:fs'
import { open } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { BackupProblem } from './model'

/** Bytes read and written at a time. */
const CHUNK = 1 << 20

/** A copied file: its size, SHA-256 (hex), and the source's modification time when it was opened. */
export interface Copied {
  size: number
  sha256: string
  mtimeMs: number
}

/** Errors that say the destination cannot be written, rather than that the work failed. */
const CANNOT_WRITE = new Set(['EACCES', 'EPERM', 'EROFS', 'ENOTDIR', 'EEXIST'])

/** Turns an error of writing under `dest` into a BackupProblem that says so. */
export function writeProblem(e: unknown, dest: string): BackupProblem {
  if (e instanceof BackupProblem) return e
  const code = (e as NodeJS.ErrnoException).code
  if (code === 'ENOSPC') return new BackupProblem('failed', `the disk of ${dest} is full`)
  if (code && CANNOT_WRITE.has(code)) return new BackupProblem('cannot_create', `cannot write into ${dest} (${code})`)
  return new BackupProblem('failed', (e as Error).message ?? String(e))
}

/**
 * Copies `from` into a new file `to` (its folders made with `dirMode`), hashing what it
 * copies, and syncs it. Undefined when `from` is not there. Stops between chunks when
 * `signal` aborts (the partial file is the caller's to remove with the rest).
 */
export async function copyHashed(from: string, to: string, opts: { mode: number; dirMode: number; signal?: AbortSignal }): Promise<Copied | undefined> {
  const cannotRead = (e: unknown) => new BackupProblem('failed', `cannot read ${from} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`)
  let source
  try {
    source = await open(from, 'r')
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw cannotRead(e)
  }
  try {
    const { mtimeMs } = await source.stat()
    mkdirSync(dirname(to), { recursive: true, mode: opts.dirMode })
    const target = await open(to, 'wx', opts.mode)
    try {
      const hasher = new Bun.CryptoHasher('sha256')
      const buffer = Buffer.allocUnsafe(CHUNK)
      let size = 0
      for (;;) {
        if (opts.signal?.aborted) throw new BackupProblem('interrupted', 'interrupted')
        const { bytesRead } = await source.read(buffer, 0, CHUNK, null).catch((e) => Promise.reject(cannotRead(e)))
        if (bytesRead === 0) break
        const chunk = buffer.subarray(0, bytesRead)
        hasher.update(chunk)
        for (let at = 0; at < bytesRead; ) at += (await target.write(chunk, at, bytesRead - at)).bytesWritten
        size += bytesRead
      }
      await target.sync()
      return { size, sha256: hasher.digest('hex'), mtimeMs }
    } finally {
      await target.close()
    }
  } finally {
    await source.close()
  }
}

/** SHA-256 (hex) and size of a file, read in chunks. */
export async function hashFile(path: string): Promise<{ size: number; sha256: string }> {
  const hasher = new Bun.CryptoHasher('sha256')
  let size = 0
  for await (const chunk of Bun.file(path).stream()) {
    hasher.update(chunk)
    size += chunk.length
  }
  return { size, sha256: hasher.digest('hex') }
}

/** Syncs a folder, so that the names just written in it survive a power cut. */
export function syncFolder(dir: string): void {
  const fd = openSync(dir, 'r')
  try {
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}

/** A destination folder taken over for the work: new, or empty when found. `undo` leaves it as it was found. */
export interface TakenFolder {
  path: string
  undo(): void
}

/**
 * Takes over `dir` for writing: made (with its parents, mode `mode`) when it is not there,
 * used when it is an empty folder. Throws a `cannot_create` BackupProblem that names `what`
 * when it exists and is not an empty folder, or cannot be made.
 */
export function takeFolder(dir: string, what: string, mode: number): TakenFolder {
  const cannot = (e: unknown) => new BackupProblem('cannot_create', `cannot create ${what} ${dir} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`)
  let st
  try {
    st = statSync(dir, { throwIfNoEntry: false })
  } catch (e) {
    // ENOTDIR: a file on its path.
    throw cannot(e)
  }
  if (st && !st.isDirectory()) throw new BackupProblem('cannot_create', `${what} ${dir} exists and is not a folder`)
  if (st) {
    if (readdirSync(dir).length > 0) throw new BackupProblem('cannot_create', `${what} ${dir} is not empty: give a new or empty folder`)
    // Found empty: emptied again on failure.
    return { path: dir, undo: () => readdirSync(dir).forEach((name) => rmSync(join(dir, name), { recursive: true, force: true })) }
  }
  let made: string | undefined
  try {
    made = mkdirSync(dir, { recursive: true, mode })
  } catch (e) {
    throw cannot(e)
  }
  return { path: dir, undo: () => made && rmSync(made, { recursive: true, force: true }) }
}
