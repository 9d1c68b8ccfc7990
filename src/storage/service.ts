/**
 * The pod's files as its features use them, whatever the store (store.ts): keep a finished
 * file (from tmp/) under its key, drop keys, find where a key's bytes are for serving and
 * seeding, and the small objects (playlists, .torrent files) read often, from a bounded cache.
 *
 * With a bucket, a file still in the data folder under its key (a pod's files from before
 * it used the bucket, not migrated yet) is served and seeded from there: the data folder is
 * read first, so such a pod keeps playing everything it has.
 */
import { existsSync, rmSync } from 'node:fs'
import { DomainError } from '../shared/errors'
import type { Logger } from '../shared/log'
import { describeS3Error, type S3Store } from './s3'
import { LocalStore, type ObjectStore, type StorageInfo } from './store'

/** Where a key's bytes are: a file of the data folder, or an object of the bucket. */
export type FileSource = { kind: 'file'; path: string } | { kind: 'object'; store: S3Store; key: string }

/** Small objects kept in memory (playlists, .torrent files: a few KiB each). */
const CACHE_ENTRIES = 512

/** The answer to any change while the bucket cannot be reached. */
export function storageUnavailable(store: ObjectStore): DomainError {
  return new DomainError('unavailable', 'storage_unavailable', `the pod's storage cannot be reached (${store.health().error ?? 'no answer'}); try again later`)
}

/** The pod's files in its store. */
export class PodStorage {
  readonly local: LocalStore
  private readonly cache = new Map<string, Uint8Array>()

  constructor(
    readonly store: ObjectStore,
    dataDir: string,
    private readonly log?: Logger,
  ) {
    this.local = store instanceof LocalStore ? store : new LocalStore(dataDir)
  }

  get kind(): 'local' | 's3' {
    return this.store.kind
  }

  /** Refuses a change (an upload) while the store is unavailable: 503 storage_unavailable. */
  mustBeAvailable(): void {
    if (this.store.health().state !== 'ok') throw storageUnavailable(this.store)
  }

  /** Wraps a store call: a failure to reach it is a 503 storage_unavailable. */
  private async guard<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run()
    } catch (e) {
      if (this.store.kind === 's3' && describeS3Error(e).unreachable) throw storageUnavailable(this.store)
      throw e
    }
  }

  /** Moves a finished file (in tmp/) into the store under `key`. */
  keep(key: string, path: string, type: string): Promise<void> {
    this.cache.delete(key)
    return this.guard(() => this.store.put(key, path, type))
  }

  /** Copies a file of the data folder into the bucket under `key`, leaving it there (it is served from there until it is in the bucket: moves.ts). */
  send(key: string, path: string, type: string): Promise<void> {
    if (this.store.kind !== 's3') throw new DomainError('internal', 'not_a_bucket', `send ${key}: the data folder is the store`)
    this.cache.delete(key)
    return this.guard(() => (this.store as S3Store).upload(key, path, type))
  }

  /** Stores small contents under `key` (and keeps them in the cache). */
  async keepBytes(key: string, bytes: Uint8Array | string, type: string): Promise<void> {
    await this.guard(() => this.store.putBytes(key, bytes, type))
    this.remember(key, typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes)
  }

  /** Removes keys from the store and from the data folder; failures are logged (the start's sweep removes what is left). */
  async drop(keys: readonly string[]): Promise<void> {
    for (const key of keys) {
      this.cache.delete(key)
      rmSync(this.local.localPath(key), { force: true })
      if (this.store.kind === 's3') await this.store.delete(key).catch((e) => this.log?.warn('storage.delete.failed', { key, error: describeS3Error(e).message }))
    }
  }

  /** Where the bytes of `key` are: the data folder first (see the module's doc), else the bucket. */
  source(key: string): FileSource {
    const path = this.local.localPath(key)
    if (this.store.kind === 'local' || existsSync(path)) return { kind: 'file', path }
    return { kind: 'object', store: this.store as S3Store, key }
  }

  /** Bytes `start` to `end` (exclusive) of `key`, from wherever it is now. */
  read(key: string, start: number, end: number): Promise<Uint8Array> {
    const source = this.source(key)
    return source.kind === 'file' ? this.local.read(key, start, end) : source.store.read(key, start, end)
  }

  /** The URL viewers fetch `key` from, when it is in the bucket; undefined when the pod serves it. */
  viewerUrl(key: string): string | undefined {
    const source = this.source(key)
    return source.kind === 'object' ? source.store.viewerUrl(key) : undefined
  }

  /** A small object's bytes (from the cache once read), undefined when there is none or the store does not answer. */
  async small(key: string): Promise<Uint8Array | undefined> {
    const hit = this.cache.get(key)
    if (hit) {
      // Most recently used last: the first entry is the one to evict.
      this.cache.delete(key)
      this.cache.set(key, hit)
      return hit
    }
    const source = this.source(key)
    const bytes = await (source.kind === 'file' ? this.local.readAll(key) : source.store.readAll(key).catch(() => undefined))
    if (bytes) this.remember(key, bytes)
    return bytes
  }

  private remember(key: string, bytes: Uint8Array): void {
    this.cache.set(key, bytes)
    if (this.cache.size > CACHE_ENTRIES) this.cache.delete(this.cache.keys().next().value!)
  }

  /** Asks the store whether it answers (the housekeeper, every few seconds); logs each change of state. */
  async watch(): Promise<void> {
    const before = this.store.health().state
    const now = await this.store.check()
    if (now.state !== before) {
      if (now.state === 'ok') this.log?.info('storage.available', {})
      else this.log?.error('storage.unavailable', { error: now.error })
    }
  }

  /** What the admin API shows (no credentials). */
  info(): StorageInfo {
    return this.store.info()
  }
}
