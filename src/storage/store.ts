/**
 * Where the pod keeps its files: one store interface, with the data folder (LocalStore) and
 * a bucket of an S3-compatible service (S3Store, s3.ts) behind it. Files are named by keys
 * that are their paths under the data folder (keys.ts), so a data folder of an earlier
 * release is a local store as it is, byte for byte.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'

/** Content types of the pod's files, by extension. */
const TYPES: Record<string, string> = {
  mp4: 'video/mp4',
  webm: 'video/webm',
  m3u8: 'application/vnd.apple.mpegurl',
  jpg: 'image/jpeg',
  torrent: 'application/x-bittorrent',
}

/** A key's content type, by its extension. */
export const typeOf = (key: string) => TYPES[key.split('.').pop() ?? ''] ?? 'application/octet-stream'

/** Removes a folder of the data folder if it holds nothing (a copy's, once its file moved away). */
export function removeIfEmpty(folder: string): void {
  try {
    rmdirSync(folder)
  } catch {
    // Not empty, or gone already.
  }
}

/** An object of a store: its key and size, and a bucket's ETag of it (without quotes; `seedpod backup` lists it). */
export interface StoredObject {
  key: string
  size: number
  etag?: string
}

/** Whether the store answers, as the admin page shows it. */
export interface StorageHealth {
  state: 'ok' | 'unavailable'
  /** What failed, when unavailable (no credentials in it). */
  error?: string
  /** When the state was last confirmed (ms since the epoch). */
  checkedAt: number
}

/** The store's public description (no credentials): the admin API's. */
export interface StorageInfo {
  kind: 'local' | 's3'
  endpoint?: string
  bucket?: string
  prefix?: string
  publicBaseUrl?: string
  health: StorageHealth
}

/** One store of the pod's files. */
export interface ObjectStore {
  readonly kind: 'local' | 's3'
  /** Moves the local file at `path` into the store under `key` (large files in parts); the file is gone afterwards. */
  put(key: string, path: string, type: string): Promise<void>
  /** Stores small contents (a playlist, a .torrent) under `key`. */
  putBytes(key: string, bytes: Uint8Array | string, type: string): Promise<void>
  /** The object's size, undefined when there is none. */
  stat(key: string): Promise<{ size: number } | undefined>
  delete(key: string): Promise<void>
  /** Every object whose key starts with `prefix`. */
  list(prefix: string): Promise<StoredObject[]>
  /** Bytes `start` to `end` (exclusive) of an object. */
  read(key: string, start: number, end: number): Promise<Uint8Array>
  /** A whole (small) object, undefined when there is none. */
  readAll(key: string): Promise<Uint8Array | undefined>
  /** The object's bytes from `start` to `end` (exclusive; Infinity: its end), as a stream read as it is consumed. */
  stream(key: string, start: number, end: number): ReadableStream<Uint8Array>
  /** The URL a viewer fetches the object from (public or presigned); undefined: the pod serves it. */
  viewerUrl(key: string): string | undefined
  /** Asks the store whether it answers, and remembers the answer (`health`). */
  check(): Promise<StorageHealth>
  health(): StorageHealth
  info(): StorageInfo
}

/** The data folder as a store: keys are paths under it. */
export class LocalStore implements ObjectStore {
  readonly kind = 'local'
  constructor(private readonly dir: string) {}

  /** Where a key's file is. */
  localPath(key: string): string {
    return join(this.dir, key)
  }

  async put(key: string, path: string): Promise<void> {
    const to = this.localPath(key)
    mkdirSync(dirname(to), { recursive: true, mode: 0o750 })
    renameSync(path, to)
  }

  async putBytes(key: string, bytes: Uint8Array | string): Promise<void> {
    // Through tmp/ and a rename: a reader never sees half of it.
    const tmp = join(this.dir, 'tmp', `${crypto.randomUUID()}.part`)
    writeFileSync(tmp, bytes, { mode: 0o640 })
    await this.put(key, tmp)
  }

  async stat(key: string): Promise<{ size: number } | undefined> {
    const st = statSync(this.localPath(key), { throwIfNoEntry: false })
    return st?.isFile() ? { size: st.size } : undefined
  }

  async delete(key: string): Promise<void> {
    rmSync(this.localPath(key), { force: true })
  }

  async list(prefix: string): Promise<StoredObject[]> {
    const out: StoredObject[] = []
    const walk = (dir: string) => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, e.name)
        if (e.isDirectory()) walk(path)
        else if (e.isFile()) out.push({ key: relative(this.dir, path), size: statSync(path).size })
      }
    }
    const top = prefix.split('/')[0]!
    if (statSync(join(this.dir, top), { throwIfNoEntry: false })?.isDirectory()) walk(join(this.dir, top))
    return out.filter((o) => o.key.startsWith(prefix))
  }

  async read(key: string, start: number, end: number): Promise<Uint8Array> {
    return new Uint8Array(await Bun.file(this.localPath(key)).slice(start, end).arrayBuffer())
  }

  async readAll(key: string): Promise<Uint8Array | undefined> {
    try {
      return readFileSync(this.localPath(key))
    } catch {
      return undefined
    }
  }

  stream(key: string, start: number, end: number): ReadableStream<Uint8Array> {
    return Bun.file(this.localPath(key)).slice(start, end === Infinity ? undefined : end).stream()
  }

  viewerUrl(): undefined {
    return undefined
  }

  async check(): Promise<StorageHealth> {
    return this.health()
  }

  health(): StorageHealth {
    return { state: 'ok', checkedAt: Date.now() }
  }

  info(): StorageInfo {
    return { kind: 'local', health: this.health() }
  }
}
