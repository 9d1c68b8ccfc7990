/**
 * The commands that work on a pod's data folder, stopped or beside the running pod: `seedpod
 * user add` (src/app/cli.ts), `seedpod runner token ...` (src/app/runner-cli.ts) and `seedpod
 * storage migrate`. Their code is an entry point of its own, loaded by these commands only
 * (src/app/lazy.ts): the CLI's bundle, loaded at every start, holds none of it.
 */
import { join } from 'node:path'
import { accountsOf, type Accounts } from '../accounts/service'
import { mirrorItems, MirrorStore } from '../redundancy/store'
import { RunnerStore } from '../runners/store'
import type { Config } from '../shared/config'
import { openDatabase } from '../shared/db'
import { migrateAll } from '../storage/migrate'
import { openBucket } from '../storage/start'
import { TranscodeQueue } from '../transcoding/queue'
import { ownKeys } from '../videos/own-files'
import { VideoStore } from '../videos/store'

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
