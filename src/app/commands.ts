/**
 * The commands that work on a pod's data folder, stopped or beside the running pod: `seedpod
 * user add` (src/app/cli.ts), `seedpod runner token ...` (src/app/runner-cli.ts), `seedpod
 * storage migrate`, and `seedpod backup` and `restore` (src/app/backup-cli.ts). Their code is
 * an entry point of its own, loaded by these commands only (src/app/lazy.ts): the CLI's
 * bundle, loaded at every start, holds none of it.
 */
import { join } from 'node:path'
import { accountsOf, type Accounts } from '../accounts/service'
import { backUp, type BackupSummary } from '../backup/backup'
import type { BackupFailure } from '../backup/model'
import { restore, type RestoreSummary } from '../backup/restore'
import { mirrorItems, MirrorStore } from '../redundancy/store'
import { RunnerStore } from '../runners/store'
import type { Config } from '../shared/config'
import { openDatabase } from '../shared/db'
import { fail, ok, type Result } from '../shared/errors'
import { migrateAll } from '../storage/migrate'
import { S3Store } from '../storage/s3'
import { openBucket } from '../storage/start'
import { TranscodeQueue } from '../transcoding/queue'
import { ownKeys } from '../videos/own-files'
import { VideoStore } from '../videos/store'

export { backupConfig } from '../backup/restore'

/** The database of the pod whose data is in `config.dataDir`. */
const podDatabase = (config: Config) => openDatabase(join(config.dataDir, 'seedpod.db'))

/** The accounts of the pod whose data is in `config.dataDir`, for `seedpod user add`. `close` closes them. */
export function openAccounts(config: Config): { accounts: Accounts; close(): void } {
  const db = podDatabase(config)
  try {
    return { accounts: accountsOf(db, config), close: () => db.close() }
  } catch (e) {
    db.close()
    throw e
  }
}

/** The runner registration tokens of the pod whose data is in `config.dataDir`, for `seedpod runner token ...`. */
export function openRunnerStore(config: Config): { store: RunnerStore; close(): void } {
  const db = podDatabase(config)
  return { store: new RunnerStore(db, new TranscodeQueue(db)), close: () => db.close() }
}

/**
 * `seedpod storage migrate --to s3|local`: moves the own files and the copies of friends'
 * videos of the pod whose data is in `config.dataDir` to its bucket or back, while it serves
 * (src/storage/migrate.ts). The pod must run on the bucket (`storage.kind = "s3"`): only then
 * does it read both places.
 */
export async function migrateStorage(config: Config, to: 's3' | 'local', progress: (key: string) => void): Promise<{ moved: number }> {
  const bucket = await openBucket(config.storage)
  const db = podDatabase(config)
  const videoRows = new VideoStore(db)
  const mirrors = new MirrorStore(db, videoRows)
  try {
    return await migrateAll(db, bucket, config.dataDir, to, () => [...ownKeys(videoRows).map((key) => ({ key })), ...mirrorItems(mirrors)], progress)
  } finally {
    db.close()
  }
}

/** The pod's bucket, checked, when it has one; the error says what failed. */
async function bucketOf(config: Config): Promise<Result<S3Store | undefined, string>> {
  if (config.storage.kind !== 's3') return ok(undefined)
  const bucket = new S3Store(config.storage)
  const health = await bucket.check()
  return health.state === 'ok' ? ok(bucket) : fail(health.error ?? 'the bucket does not answer')
}

/**
 * `seedpod backup DEST`: a consistent copy of the pod whose data is in `config.dataDir`, while
 * it runs (src/backup/backup.ts), with `configFile` (`--config`) beside it.
 */
export async function backupPod(config: Config, dest: string, configFile: string | undefined, signal: AbortSignal): Promise<Result<BackupSummary, BackupFailure>> {
  const bucket = await bucketOf(config)
  if (!bucket.ok) return fail({ kind: 'failed', message: `cannot list the pod's bucket: ${bucket.error}` })
  return backUp({ dataDir: config.dataDir, dest, ...(configFile ? { configFile } : {}), ...(bucket.value ? { bucket: bucket.value } : {}), signal })
}

/** `seedpod restore SRC`: the backup at `src` brought back into `config.dataDir` (src/backup/restore.ts). */
export async function restorePod(config: Config, src: string, signal: AbortSignal): Promise<Result<RestoreSummary, BackupFailure>> {
  const bucket = await bucketOf(config)
  const summary = await restore({ src, dataDir: config.dataDir, ...(bucket.ok && bucket.value ? { bucket: bucket.value } : {}), signal })
  if (summary.ok && !bucket.ok) summary.value.warnings.push(`cannot check the backup's video files in the bucket: ${bucket.error}`)
  return summary
}
