/**
 * A bucket of an S3-compatible service as the pod's store, through Bun's own S3 client
 * (Bun.S3Client): objects under the configured prefix, large files uploaded in parts,
 * ranged reads, and the URLs viewers fetch from (public base URL of public-read objects, or
 * presigned). Every failure to reach the service marks the store unavailable until a check
 * (the housekeeper's, every few seconds) gets an answer again.
 */
import { rmSync, statSync } from 'node:fs'
import type { StorageConfig } from '../shared/config'
import { DomainError } from '../shared/errors'
import { presignGet, type SigningTarget } from './sigv4'
import type { ObjectStore, StorageHealth, StorageInfo, StoredObject } from './store'

/** Errors of reading a local file, which say nothing of the bucket. */
const LOCAL_FILE_ERRORS = new Set(['ENOENT', 'EISDIR', 'ENOTDIR', 'EACCES', 'EPERM', 'ELOOP', 'ENAMETOOLONG'])

/** What went wrong with a request to the service, in words for an admin (never a credential). */
export function describeS3Error(e: unknown): { unreachable: boolean; message: string } {
  const err = e as { code?: string; name?: string; message?: string }
  const code = err?.code ?? ''
  const words: Record<string, string> = {
    NoSuchBucket: 'has no such bucket',
    InvalidAccessKeyId: 'does not know the access key (storage.accessKeyId)',
    SignatureDoesNotMatch: 'refused the signature: wrong secret key (storage.secretAccessKey) or region',
    AccessDenied: 'denied access with these credentials',
  }
  if (words[code]) return { unreachable: false, message: words[code]! }
  // A file of this machine that could not be read (gone, a folder): the bucket is not at fault.
  if (LOCAL_FILE_ERRORS.has(code)) return { unreachable: false, message: `was not sent the file: it could not be read here (${code})` }
  if (code === 'Timeout') return { unreachable: true, message: `is unreachable (${err.message})` }
  // Connection failures (refused, reset, DNS, timeouts) and the service's own 5xx.
  const message = code && code !== 'UnknownError' ? `is unreachable (${code})` : `is unreachable (${err?.message ?? String(e)})`
  return { unreachable: true, message }
}

/** How long a check of the bucket waits for its answer. */
const CHECK_TIMEOUT_MS = 10_000

/** Keys of a pod in its bucket, as S3 URLs need them (each segment escaped, the slashes kept). */
const escapeKey = (key: string) => key.split('/').map(encodeURIComponent).join('/')

/** The pod's bucket. */
export class S3Store implements ObjectStore {
  readonly kind = 's3'
  private readonly client: Bun.S3Client
  private state: StorageHealth = { state: 'ok', checkedAt: 0 }

  constructor(
    private readonly config: StorageConfig,
    private readonly now: () => number = Date.now,
  ) {
    this.client = new Bun.S3Client({
      ...(config.endpoint ? { endpoint: config.endpoint } : {}),
      region: config.region,
      bucket: config.bucket,
      accessKeyId: config.accessKeyId,
      secretAccessKey: config.secretAccessKey,
    })
  }

  private full(key: string): string {
    return this.config.prefix + key
  }

  /**
   * Runs a request within `timeoutMs`; a failure to reach the service, or no answer in time,
   * marks the store unavailable. A service that takes connections and never answers must not
   * hold an upload, a viewer or a seeding peer forever (Bun.S3Client has no timeout of its
   * own); a request given up on may still complete, and what it leaves the start's sweep removes.
   */
  private async call<T>(run: () => Promise<T>, timeoutMs = this.config.requestTimeoutMs): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(Object.assign(new Error(`no answer within ${timeoutMs / 1000} s`), { code: 'Timeout' })), timeoutMs)
    })
    try {
      const out = await Promise.race([run(), timeout])
      if (this.state.state !== 'ok') this.state = { state: 'ok', checkedAt: this.now() }
      return out
    } catch (e) {
      const why = describeS3Error(e)
      if (why.unreachable) this.state = { state: 'unavailable', error: `${this.where()} ${why.message}`, checkedAt: this.now() }
      throw e
    } finally {
      clearTimeout(timer)
    }
  }

  /** The endpoint and bucket, as messages name them. */
  where(): string {
    return `the S3 endpoint ${this.config.endpoint ?? `of AWS (${this.config.region})`}, bucket ${this.config.bucket},`
  }

  async put(key: string, path: string, type: string): Promise<void> {
    await this.upload(key, path, type)
    rmSync(path, { force: true })
  }

  /** Copies the local file at `path` into the bucket under `key` (verified: its size); the file stays. */
  async upload(key: string, path: string, type: string): Promise<void> {
    const size = statSync(path).size
    const full = this.full(key)
    const acl = this.config.publicBaseUrl ? ({ acl: 'public-read' } as const) : {}
    const parts = Math.max(1, Math.ceil(size / this.config.partSizeBytes))
    await this.call(async () => {
      try {
        if (size <= this.config.partSizeBytes) await this.client.write(full, Bun.file(path), { type, ...acl })
        else {
          // Multipart: parts of partSizeBytes, two in flight; the file is streamed, never read whole.
          const writer = this.client.file(full).writer({ partSize: this.config.partSizeBytes, queueSize: 2, type, ...acl })
          for await (const chunk of Bun.file(path).stream()) {
            await writer.write(chunk)
            // Between chunks, the event loop serves others: a move of hundreds of MB in the
            // background must not hold up viewers' requests (the chunks come from the page cache at once).
            await new Promise((resolve) => setImmediate(resolve))
          }
          await writer.end()
        }
        // Bun completes an upload even when it was cut short: only a whole object counts.
        const stored = await this.client.stat(full)
        if (stored.size !== size) throw new DomainError('internal', 'upload_incomplete', `the object ${full} has ${stored.size} bytes, not ${size}`)
      } catch (e) {
        // A part-made object goes; a whole one stays (another writer's, `storage migrate`'s,
        // may have put the same key meanwhile, and it may be the only copy).
        const there = await this.client.stat(full).catch(() => undefined)
        if (there?.size !== size) await this.client.delete(full).catch(() => undefined)
        throw e
      }
    }, parts * this.config.requestTimeoutMs)
  }

  async putBytes(key: string, bytes: Uint8Array | string, type: string): Promise<void> {
    await this.call(() => this.client.write(this.full(key), bytes, { type, ...(this.config.publicBaseUrl ? { acl: 'public-read' as const } : {}) }))
  }

  async stat(key: string): Promise<{ size: number } | undefined> {
    try {
      return { size: (await this.call(() => this.client.stat(this.full(key)))).size }
    } catch (e) {
      if ((e as { code?: string }).code === 'NoSuchKey' || (e as { code?: string }).code === 'NotFound') return undefined
      throw e
    }
  }

  async delete(key: string): Promise<void> {
    await this.call(() => this.client.delete(this.full(key)))
  }

  async list(prefix: string): Promise<StoredObject[]> {
    const out: StoredObject[] = []
    let startAfter: string | undefined
    for (;;) {
      const page = await this.call(() => this.client.list({ prefix: this.full(prefix), maxKeys: 1000, ...(startAfter ? { startAfter } : {}) }))
      const contents = page.contents ?? []
      for (const c of contents) out.push({ key: c.key.slice(this.config.prefix.length), size: c.size ?? 0, ...(c.eTag ? { etag: c.eTag.replace(/"/g, '') } : {}) })
      if (!page.isTruncated || contents.length === 0) return out
      startAfter = contents.at(-1)!.key
    }
  }

  async read(key: string, start: number, end: number): Promise<Uint8Array> {
    return new Uint8Array(await this.call(() => this.client.file(this.full(key)).slice(start, end).arrayBuffer()))
  }

  async readAll(key: string): Promise<Uint8Array | undefined> {
    try {
      return new Uint8Array(await this.call(() => this.client.file(this.full(key)).arrayBuffer()))
    } catch (e) {
      if ((e as { code?: string }).code === 'NoSuchKey') return undefined
      throw e
    }
  }

  /** The object's bytes from `start` (to `end`, exclusive), as a stream Bun fetches as it is read. */
  stream(key: string, start: number, end: number): ReadableStream<Uint8Array> {
    return this.client.file(this.full(key)).slice(start, end).stream()
  }

  /**
   * The URL viewers fetch `key` from: under the public base URL, or presigned. A presigned
   * URL is signed at the start of the current half of its lifetime, so every answer of the
   * pod names the same URL for a while (the player matches a playlist's segment URLs with the
   * video's web seeds) and it is valid at least half its lifetime after it was handed out.
   */
  viewerUrl(key: string): string {
    const full = escapeKey(this.full(key))
    if (this.config.publicBaseUrl) return `${this.config.publicBaseUrl}/${full}`
    const half = (this.config.presignSeconds / 2) * 1000
    return presignGet(this.signing(), `/${this.config.bucket}/${full}`, this.config.presignSeconds, new Date(Math.floor(this.now() / half) * half))
  }

  /** Where and as whom bucket requests are signed (Bun.S3Client has no bucket calls, and its presign URLs change every second). */
  signing(): SigningTarget {
    const c = this.config
    return { endpoint: c.endpoint ?? `https://s3.${c.region}.amazonaws.com`, region: c.region, accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey }
  }

  async check(): Promise<StorageHealth> {
    try {
      await this.call(() => this.client.list({ prefix: this.config.prefix, maxKeys: 1 }), Math.min(CHECK_TIMEOUT_MS, this.config.requestTimeoutMs))
      this.state = { state: 'ok', checkedAt: this.now() }
    } catch (e) {
      this.state = { state: 'unavailable', error: `${this.where()} ${describeS3Error(e).message}`, checkedAt: this.now() }
    }
    return this.state
  }

  health(): StorageHealth {
    return this.state
  }

  info(): StorageInfo {
    const { endpoint, bucket, prefix, publicBaseUrl } = this.config
    return { kind: 's3', ...(endpoint ? { endpoint } : {}), bucket, prefix, ...(publicBaseUrl ? { publicBaseUrl } : {}), health: this.state }
  }
}
