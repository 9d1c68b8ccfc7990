/**
 * Own video files that go to the bucket after they play: on a pod with a bucket, a finished
 * upload or rendition is kept in the data folder, its rows are written, and only then is the
 * file moved to the bucket. The upload plays as soon as it is processed, as fast as on a pod
 * without a bucket (the bucket's upload is one more pass over hundreds of MB, minutes over a
 * slow link; before, it came between the processing and the answer: 1.8x slower at 88 MiB).
 * Until it is moved, a file is served and seeded from the data folder (PodStorage.source
 * reads there first), and the pod's own URLs redirect to the bucket once it is there.
 *
 * The queue is a table (storage_moves), written in the transaction of the rows: a crash
 * leaves it, and the next start moves on. A move uploads the file, verified, then removes the
 * data folder's copy, so a file is always whole in one place at least.
 *
 * `seedpod storage migrate` (another process) takes the queue's rows before it moves their
 * keys itself (`takeOverMoves`): only the one holding a key's row removes its data folder
 * copy, so the two never remove each other's only copy.
 */
import type { Database } from 'bun:sqlite'
import { existsSync, rmSync } from 'node:fs'
import type { Chore } from '../../actors/housekeeper'
import type { Logger } from '../shared/log'
import { describeS3Error } from './s3'
import type { PodStorage } from './service'
import { typeOf } from './store'

/** A file whose move failed for another reason than an unreachable bucket waits this long, doubled per failure... */
const RETRY_BASE_MS = 5_000
/** ...up to this (a file the bucket refuses must not fill the log every few seconds). */
const RETRY_MAX_MS = 10 * 60_000

/** What the moves to the bucket are built from. */
export interface StorageMovesDeps {
  db: Database
  storage: PodStorage
  log: Logger
  /** Whether the pod's rows still name a key (its video may be deleted while its file goes up). */
  isOwnKey: (key: string) => boolean
  now?: () => number
}

/** The moves of own files to the bucket. */
export class StorageMoves {
  private running?: Promise<void>
  private again = false
  /** Files whose move failed (not for an unreachable bucket): how often, and when to try again. */
  private readonly failed = new Map<string, { failures: number; at: number }>()

  private readonly db: Database
  private readonly storage: PodStorage
  private readonly log: Logger
  private readonly isOwnKey: (key: string) => boolean
  private readonly now: () => number

  constructor(deps: StorageMovesDeps) {
    ;({ db: this.db, storage: this.storage, log: this.log, isOwnKey: this.isOwnKey, now: this.now = Date.now } = deps)
  }

  /** Whether a finished file is kept in the data folder first (the pod has a bucket). */
  get deferred(): boolean {
    return this.storage.store.kind !== 'local'
  }

  /** The housekeeper's chores: with a bucket, one that asks a bucket that failed again, and moves what waits for it once it answers. */
  chores(): Chore[] {
    if (!this.deferred) return []
    const run = async () => {
      await this.storage.watch()
      if (this.storage.available() && this.pending()) void this.run()
    }
    return [{ name: 'storage-health', everyMs: 5_000, run }]
  }

  /** Queues a file for the bucket; inside the transaction that writes its rows. */
  queue(key: string): void {
    if (this.deferred) this.db.query('INSERT OR IGNORE INTO storage_moves (key, queued_at) VALUES (?, ?)').run(key, this.now())
  }

  /** How many files wait for the bucket. */
  pending(): number {
    return (this.db.query('SELECT count(*) AS n FROM storage_moves').get() as { n: number }).n
  }

  /**
   * Moves what is queued, one file at a time (after each upload, at start, and every few
   * seconds while some wait: a bucket that failed is tried again). One run at a time; asked
   * during one, it looks again when done.
   */
  run(): Promise<void> {
    if (!this.deferred) return Promise.resolve()
    if (this.running) {
      this.again = true
      return this.running
    }
    this.running = this.drain().finally(() => {
      this.running = undefined
      if (this.again) {
        this.again = false
        void this.run()
      }
    })
    return this.running
  }

  private async drain(): Promise<void> {
    const keys = (this.db.query('SELECT key FROM storage_moves ORDER BY queued_at').all() as { key: string }[]).map((r) => r.key)
    for (const key of keys) {
      const t0 = this.now()
      if ((this.failed.get(key)?.at ?? 0) > t0) continue
      try {
        await this.move(key)
        this.failed.delete(key)
        this.log.debug('storage.moved', { key, ms: this.now() - t0 })
      } catch (e) {
        const why = describeS3Error(e)
        // The bucket does not answer: the others would fail the same way; the next run tries again.
        if (why.unreachable) {
          this.log.warn('storage.move.failed', { key, error: why.message })
          return
        }
        const failures = (this.failed.get(key)?.failures ?? 0) + 1
        const wait = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** (failures - 1))
        this.failed.set(key, { failures, at: this.now() + wait })
        this.log.warn('storage.move.failed', { key, error: why.message, retryInMs: wait })
      }
    }
  }

  private async move(key: string): Promise<void> {
    const path = this.storage.local.localPath(key)
    if (existsSync(path)) {
      await this.storage.send(key, path, typeOf(key))
      // Removed while it went up: its video was deleted (then the object must go too), or
      // `storage migrate` moved it (then the object is its copy).
      if (!existsSync(path) && !this.isOwnKey(key)) await this.storage.store.delete(key)
    }
    if (this.db.query('DELETE FROM storage_moves WHERE key = ?').run(key).changes === 1) rmSync(path, { force: true })
  }
}

/** `seedpod storage migrate` takes over the pod's queue: its run moves the queued keys itself. */
export function takeOverMoves(db: Database): void {
  db.run('DELETE FROM storage_moves')
}
