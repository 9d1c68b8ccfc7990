/**
 * A small disk for the disk-full tests: a tmpfs mounted on a temporary folder (the tests run
 * as root in CI; elsewhere mounting fails and they are skipped, saying why), and a filler
 * file that leaves exactly as much free space on it as a test wants.
 */
import { closeSync, openSync, rmSync, statfsSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { tempDir } from './temp'

/** A tmpfs of `sizeMiB` mounted on a fresh folder, or why it could not be. */
export function mountTmpfs(sizeMiB: number): { dir: string } | { skip: string } {
  const dir = tempDir('seedpod-tmpfs-')
  const run = Bun.spawnSync(['mount', '-t', 'tmpfs', '-o', `size=${sizeMiB}m`, 'tmpfs', dir], { stderr: 'pipe' })
  if (run.exitCode !== 0) return { skip: `cannot mount a tmpfs on ${dir} (${run.stderr.toString().trim() || `mount exited ${run.exitCode}`}); the disk-full tests need root` }
  return { dir }
}

/** Unmounts it (lazily: a pod stopped a moment ago may still hold a file open). */
export function unmountTmpfs(dir: string): void {
  Bun.spawnSync(['umount', '-l', dir])
}

/** Bytes free on the disk of `dir`. */
export function freeBytes(dir: string): number {
  const s = statfsSync(dir)
  return Number(s.bavail) * Number(s.bsize)
}

/**
 * Grows (or shrinks) the filler file in `dir` so that `free` bytes are left free on its disk,
 * or until the disk is full (`free` 0, or more than there is): then it returns the free
 * bytes left. The filler's pages are written, not sparse: tmpfs counts them.
 */
export function leaveFree(dir: string, free: number): number {
  const path = join(dir, 'filler')
  rmSync(path, { force: true })
  let left = Math.max(0, freeBytes(dir) - free)
  const fd = openSync(path, 'w')
  const block = Buffer.alloc(1024 * 1024, 1)
  let size = block.length
  try {
    while (left > 0 && size >= 512) {
      const n = Math.min(left, size)
      try {
        left -= writeSync(fd, block, 0, n)
      } catch {
        // Full already (less can be left than asked): smaller writes fill what is left.
        size = Math.floor(size / 2)
      }
    }
  } finally {
    closeSync(fd)
  }
  return freeBytes(dir)
}

/** Removes the filler: the disk has its space back. */
export function removeFiller(dir: string): void {
  rmSync(join(dir, 'filler'), { force: true })
}
