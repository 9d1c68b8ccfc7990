/**
 * The data folder's folders of video files (their keys: src/storage/keys.ts), and tmp/, where
 * uploads and work in progress are made (emptied at start). Each file but tmp/'s is kept in
 * the pod's store (src/storage/) under its key: in the data folder itself, or in a bucket.
 */
import { mkdirSync, readdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { DiskSpace } from '../storage/disk'
import type { StorageMoves } from '../storage/moves'
import type { PodStorage } from '../storage/service'

export class VideoFiles {
  readonly videos: string
  readonly thumbnails: string
  readonly torrents: string
  readonly tmp: string
  /** Copies of friends' videos (redundancy), one folder per info hash. */
  readonly mirrors: string
  /** The data folder's disk, and the free space kept on it. */
  readonly disk: DiskSpace

  constructor(
    dataDir: string,
    /** Where the files are kept. */
    readonly storage: PodStorage,
    /** With a bucket, own video files go there once their rows are written. */
    readonly moves: StorageMoves,
    /** Free bytes kept on the data folder's disk (`disk.minFreeBytes`). */
    minFreeBytes: number,
  ) {
    this.videos = join(dataDir, 'videos')
    this.thumbnails = join(dataDir, 'thumbnails')
    this.torrents = join(dataDir, 'torrents')
    this.tmp = join(dataDir, 'tmp')
    this.mirrors = join(dataDir, 'mirrors')
    this.disk = new DiskSpace(dataDir, minFreeBytes)
  }

  /** Creates the folders and removes what an interrupted upload left in tmp/. */
  prepare(): void {
    for (const dir of [this.videos, this.thumbnails, this.torrents, this.tmp, this.mirrors]) mkdirSync(dir, { recursive: true, mode: 0o750 })
    for (const name of readdirSync(this.tmp)) rmSync(join(this.tmp, name), { recursive: true, force: true })
  }

  /** Where a key's file is (or would be) in the data folder. */
  path(key: string): string {
    return this.storage.localPath(key)
  }

  /** A fresh path in tmp/ with the given suffix. */
  temp(suffix: string): string {
    return join(this.tmp, `${crypto.randomUUID()}${suffix}`)
  }
}
