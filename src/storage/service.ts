/**
 * The pod's files as its features use them, whatever the store (store.ts): keep a finished
 * file (from tmp/) under its key, keep a cached copy, drop keys, find where a key's bytes are
 * for serving, stream or seed them (a chunk store), and the small objects (playlists, .torrent
 * files) read often, from a bounded cache. No caller needs to know which store the pod has.
 *
 * With a bucket, a file still in the data folder under its key (a pod's files from before
 * it used the bucket, not migrated yet) is served and seeded from there: the data folder is
 * read first, so such a pod keeps playing everything it has.
 */
import { existsSync, rmSync, statSync } from 'node:fs'
import { dirname } from 'node:path'
import { DomainError } from '../shared/errors'
import type { Logger } from '../shared/log'
import { readOnlyChunkStore } from './chunk-store'
import { describeS3Error, type S3Store } from './s3'
import { LocalStore, removeIfEmpty, type ObjectStore, type StorageHealth, type StorageInfo } from './store'

/** Where a key's bytes are: a file of the data folder (served from there), or an object elsewhere (a bucket). */
export type FileSource = { kind: 'file'; path: string } | { kind: 'object'; key: string }

/** Where webtorrent finds a file it seeds: its folder, and a chunk store that reads it when it may be elsewhere. */
export interface SeedPlace {
  folder: string
  store?: ReturnType<typeof readOnlyChunkStore>
}

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

  /** Whether files may be elsewhere than the data folder (a bucket). */
  private get remote(): boolean {
    return this.store.kind !== 'local'
  }

  /** Where a key's file is, or would be, in the data folder. */
  localPath(key: string): string {
    return this.local.localPath(key)
  }

  /** Whether the store answers (a bucket that failed does not, until a check gets an answer). */
  available(): boolean {
    return this.store.health().state === 'ok'
  }

  health(): StorageHealth {
    return this.store.health()
  }

  /** Refuses a change (an upload) while the store is unavailable: 503 storage_unavailable. */
  mustBeAvailable(): void {
    if (!this.available()) throw storageUnavailable(this.store)
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

  /**
   * Moves a finished file (in tmp/) into the data folder under `key`, whatever the store: with
   * a bucket, it goes there once its rows are written (moves.ts), and plays from here meanwhile.
   */
  keepHere(key: string, path: string): Promise<void> {
    this.cache.delete(key)
    return this.local.put(key, path)
  }

  /**
   * Keeps a copy of something fetched (a friend's thumbnail) under `key`: a file of the data
   * folder (`path`), or an object of the bucket and the URL viewers fetch it from (`url`;
   * undefined: the pod serves it). Throws when the bucket does not take it.
   */
  async keepCopy(key: string, bytes: Uint8Array, type: string): Promise<{ path: string } | { url: string | undefined }> {
    // Not in the cache of small objects: nothing reads it back through the pod.
    this.cache.delete(key)
    await this.guard(() => this.store.putBytes(key, bytes, type))
    return this.remote ? { url: this.viewerUrl(key) } : { path: this.localPath(key) }
  }

  /**
   * Keeps a file made in the data folder under its own key (a downloaded copy) where the pod
   * keeps its files: with a bucket, it moves there, and its folder goes once empty.
   */
  async keepInPlace(key: string, type: string): Promise<void> {
    if (!this.remote) return
    const path = this.localPath(key)
    await this.keep(key, path, type)
    removeIfEmpty(dirname(path))
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
      if (this.remote) await this.store.delete(key).catch((e) => this.log?.warn('storage.delete.failed', { key, error: describeS3Error(e).message }))
    }
  }

  /** Where the bytes of `key` are: the data folder first (see the module's doc), else the bucket. */
  source(key: string): FileSource {
    const path = this.local.localPath(key)
    if (!this.remote || existsSync(path)) return { kind: 'file', path }
    return { kind: 'object', key }
  }

  /** Where a key's bytes are read now: the data folder's store, or the bucket. */
  private holder(key: string): ObjectStore {
    return this.source(key).kind === 'file' ? this.local : this.store
  }

  /** Bytes `start` to `end` (exclusive) of `key`, from wherever it is now. */
  read(key: string, start: number, end: number): Promise<Uint8Array> {
    return this.holder(key).read(key, start, end)
  }

  /** Bytes `start` to `end` (exclusive; Infinity: its end) of `key`, from wherever it is now, as a stream. */
  stream(key: string, start: number, end: number): ReadableStream<Uint8Array> {
    return this.holder(key).stream(key, start, end)
  }

  /** The size of `key` wherever it is now, undefined when there is none; rejects when the bucket does not answer. */
  async stat(key: string): Promise<{ size: number } | undefined> {
    const source = this.source(key)
    if (source.kind === 'object') return this.store.stat(key)
    const st = statSync(source.path, { throwIfNoEntry: false })
    return st?.isFile() ? { size: st.size } : undefined
  }

  /** The URL viewers fetch `key` from, when it is in the bucket; undefined when the pod serves it. */
  viewerUrl(key: string): string | undefined {
    return this.source(key).kind === 'object' ? this.store.viewerUrl(key) : undefined
  }

  /**
   * Where webtorrent seeds `key` from: the data folder alone, its own file store; with a
   * bucket, a chunk store reading the file wherever it is at each read (ranged reads of the
   * bucket, or the data folder until it moves), so a file moved while it is seeded goes on.
   */
  seedPlace(key: string): SeedPlace {
    const folder = dirname(this.localPath(key))
    return this.remote ? { folder, store: readOnlyChunkStore((start, end) => this.read(key, start, end)) } : { folder }
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
    const bytes = await this.holder(key).readAll(key).catch(() => undefined)
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
