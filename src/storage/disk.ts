/**
 * The data folder's disk: how much of it is free, and the margin (`disk.minFreeBytes`) that
 * uploads, transcodings and copies of friends' videos stop short of, so that a full disk
 * never stops the pod itself (its database, its logs) and no file is left half-written.
 * With a bucket, tmp/ (where uploads and work in progress are made) is still here.
 */
import { statfsSync } from 'node:fs'
import { DomainError } from '../shared/errors'

/** The answer to a write that would leave less than the margin free: 507 insufficient_storage. */
export function insufficientStorage(message: string, options?: ErrorOptions): DomainError {
  return new DomainError('insufficient_storage', 'insufficient_storage', message, undefined, options)
}

/** How a full disk shows in the words of the system, of SQLite and of ffmpeg. */
const NO_SPACE = /ENOSPC|No space left on device|SQLITE_FULL|database or disk is full/i

/** Whether an error (or a tool's stderr) says the disk is full. */
export function isNoSpace(e: unknown): boolean {
  if (typeof e === 'string') return NO_SPACE.test(e)
  const err = e as { code?: unknown; message?: unknown } | null | undefined
  return typeof err?.code === 'string' && NO_SPACE.test(err.code) ? true : typeof err?.message === 'string' && NO_SPACE.test(err.message)
}

/** How many bytes of a file are written between two looks at the disk's free space. */
const WATCH_EVERY_BYTES = 1024 * 1024

/** The data folder's disk and the free space kept on it. */
export class DiskSpace {
  constructor(
    /** A folder on the disk (the data folder). */
    private readonly dir: string,
    /** Free bytes every write stops short of (`disk.minFreeBytes`). */
    readonly minFreeBytes: number,
  ) {}

  /** Bytes free for the pod on the disk (what an unprivileged process may still write). */
  free(): number {
    const s = statfsSync(this.dir)
    return Number(s.bavail) * Number(s.bsize)
  }

  /** Bytes that may still be written before the margin: negative when the disk is already below it. */
  room(): number {
    return this.free() - this.minFreeBytes
  }

  /**
   * A check for a file being written: call it with the bytes written so far; every MiB it
   * looks at the disk, and gives the 507 error (`what` says what was refused) once the disk
   * is below the margin. For writes whose length was not known (or others that write too).
   */
  watch(what: string): (written: number) => DomainError | undefined {
    let checkedAt = 0
    return (written) => {
      if (written - checkedAt < WATCH_EVERY_BYTES) return undefined
      checkedAt = written
      return this.room() < 0 ? insufficientStorage(`the pod's disk filled up ${what}; try again once space is freed`) : undefined
    }
  }

  /** Throws 507 insufficient_storage when writing `bytes` more would leave less than the margin free; `what` says what was refused. */
  mustHaveRoom(bytesToWrite: number, what: string): void {
    const room = this.room()
    if (bytesToWrite <= room) return
    throw insufficientStorage(
      `the pod's disk is too full ${what}: ${Math.max(0, room + this.minFreeBytes)} bytes free, of which ${this.minFreeBytes} are kept free (disk.minFreeBytes), and ${bytesToWrite} more needed; try again once space is freed`,
    )
  }
}
