/**
 * `seedpod storage migrate --to s3|local`: moves an existing pod's own files (originals,
 * renditions, playlists, thumbnails, torrents) and its copies of friends' videos' streams
 * (files, playlists and torrents) between its data folder and its bucket, one file at a
 * time, while the pod serves. Thumbnails of friends' videos cached in the data folder stay
 * there (a cache).
 *
 * A pod on a bucket reads a key from the data folder first, then from the bucket
 * (src/storage/service.ts), so each file switches over at one atomic step, only once its new
 * copy is complete: to the bucket, the upload is verified (size) before the local file is
 * removed; to the data folder, the object is downloaded to tmp/, checked, and renamed into
 * place before the object is deleted. A viewer fetching the file meanwhile gets it from the
 * old place before the step and from the new one after it. Rerun after an interruption, it
 * goes on where it stopped (what has switched is skipped, a half copy is made again).
 *
 * The pod may drop a copy of a friend's video meanwhile (its budget, the video removed): once
 * a copy's new place holds it, the move asks whether the pod still keeps it, and removes
 * what it moved when not, so a dropped copy does not come back to life (in the bucket, the
 * start's sweep would remove it; in the data folder, nothing would) nor fail the migration.
 */
import type { Database } from 'bun:sqlite'
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { DomainError } from '../shared/errors'
import type { S3Store } from './s3'
import { isMirrorKey } from './keys'
import { takeOverMoves } from './moves'
import { removeIfEmpty, typeOf } from './store'

/** A key to move; `kept` says whether the pod still keeps it (for a copy it may drop meanwhile). */
export interface MoveItem {
  key: string
  kept?: () => boolean
}

/** What one run did. */
export interface MigrationResult {
  moved: number
  /** Already in place (switched by an earlier run, or never there: a video without a playlist), or dropped by the pod meanwhile. */
  skipped: number
}

/** Removes a copy's folder (`mirrors/<infoHash>/`) once it holds nothing; other folders stay. */
function removeEmptyFolder(dataDir: string, key: string): void {
  if (isMirrorKey(key)) removeIfEmpty(dirname(join(dataDir, key)))
}

/** Moves one key to the bucket; false when it is not in the data folder. */
async function toBucket(key: string, bucket: S3Store, dataDir: string): Promise<boolean> {
  const path = join(dataDir, key)
  if (!existsSync(path)) return false
  // Uploaded, checked, then the local file removed: the switch.
  await bucket.put(key, path, typeOf(key))
  removeEmptyFolder(dataDir, key)
  return true
}

/** Moves one key to the data folder; false when it is not in the bucket. */
async function toDataFolder(key: string, bucket: S3Store, dataDir: string): Promise<boolean> {
  const path = join(dataDir, key)
  if (existsSync(path)) {
    // Switched already (an interrupted run): only the old copy may be left.
    if (await bucket.stat(key)) await bucket.delete(key)
    return false
  }
  const stat = await bucket.stat(key)
  if (!stat) return false
  const tmp = join(dataDir, 'tmp', `${crypto.randomUUID()}.part`)
  try {
    await Bun.write(tmp, new Response(bucket.stream(key, 0, stat.size)))
    if (Bun.file(tmp).size !== stat.size) throw new DomainError('unavailable', 'copy_incomplete', `the copy of ${key} is incomplete`)
    mkdirSync(dirname(path), { recursive: true, mode: 0o750 })
    renameSync(tmp, path)
  } finally {
    rmSync(tmp, { force: true })
  }
  await bucket.delete(key)
  return true
}

/** Removes what a move left of a key the pod no longer keeps, in both places. */
async function removeDropped(key: string, bucket: S3Store, dataDir: string): Promise<void> {
  rmSync(join(dataDir, key), { force: true })
  removeEmptyFolder(dataDir, key)
  await bucket.delete(key)
}

/** Moves every item's key to the bucket (`to` s3) or to the data folder (`to` local). */
export async function migrate(items: readonly MoveItem[], bucket: S3Store, dataDir: string, to: 's3' | 'local', progress: (key: string) => void): Promise<MigrationResult> {
  let moved = 0
  let skipped = 0
  for (const { key, kept = () => true } of items) {
    let done = false
    try {
      if (kept()) done = await (to === 's3' ? toBucket : toDataFolder)(key, bucket, dataDir)
    } catch (e) {
      // A copy the pod dropped under the move (its file or object gone) is no failure.
      if (kept()) throw e
    }
    // Asked once the new place holds it: a copy dropped meanwhile is removed, not resurrected.
    if (!kept()) {
      await removeDropped(key, bucket, dataDir)
      done = false
    }
    if (!done) {
      skipped++
      continue
    }
    moved++
    progress(key)
  }
  return { moved, skipped }
}

/**
 * `seedpod storage migrate`: moves every item (`items`, listed again each pass: what the pod
 * stored or dropped meanwhile counts) to the bucket or back, again until a pass finds nothing
 * left to move. The pod's own queue of files for the bucket is taken over (moves.ts): this
 * run moves them.
 */
export async function migrateAll(db: Database, bucket: S3Store, dataDir: string, to: 's3' | 'local', items: () => readonly MoveItem[], progress: (key: string) => void): Promise<{ moved: number }> {
  mkdirSync(join(dataDir, 'tmp'), { recursive: true, mode: 0o750 })
  let moved = 0
  for (;;) {
    takeOverMoves(db)
    const pass = await migrate(items(), bucket, dataDir, to, progress)
    moved += pass.moved
    if (pass.moved === 0) return { moved }
  }
}
