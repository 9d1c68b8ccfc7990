/**
 * A backup of a pod (`seedpod backup`, `seedpod restore`): a folder laid out like the data
 * folder (its database, `keys/`, the files of videos/, thumbnails/, torrents/, mirrors/), the
 * pod's configuration when given, and `manifest.json`, written last: every file with its size
 * and SHA-256, what is in the pod's bucket (listed, not copied), and the pod's identity. A
 * folder without a manifest is not a backup, or one that did not finish.
 *
 * A manifest is read as hostile input: every path is checked against the layout, so that a
 * doctored one cannot make a restore write outside the data folder.
 */
import { FOLDERS } from '../storage/keys'
import { fail, ok, type Result } from '../shared/errors'

/** The manifest's name in a backup. */
export const MANIFEST = 'manifest.json'
/** The database's name, in the data folder and in a backup. */
export const DATABASE = 'seedpod.db'
/** The name the pod's configuration file (`--config`) has in a backup. */
export const CONFIG = 'seedpod.toml'
/** What a manifest's `format` says. */
const FORMAT = 'seedpod-backup'
/** The manifest's version this release writes and reads. */
const MANIFEST_VERSION = 1

/** A file of a backup: its path (as in the data folder), size and SHA-256 (hex). */
export interface BackedUpFile {
  path: string
  size: number
  sha256: string
}

/** An object of the pod's bucket, as listed when the backup was made. */
export interface ListedObject {
  key: string
  size: number
  etag: string | null
}

/** What `manifest.json` says. */
export interface Manifest {
  format: typeof FORMAT
  version: typeof MANIFEST_VERSION
  /** The seedpod release that made the backup. */
  seedpod: string
  createdAt: string
  /** The pod's identity (the fingerprint of keys/pod.key): a restore checks the key against it. */
  fingerprint: string
  /** The database's schema version. */
  schemaVersion: number
  /** The pod's configuration (CONFIG), when `--config` was given. */
  config: BackedUpFile | null
  /** The database, the keys and the files of the data folder. */
  files: BackedUpFile[]
  /** The pod's bucket and its objects that the database names (not copied). */
  bucket: { endpoint: string | null; bucket: string; prefix: string; objects: ListedObject[] } | null
  /** Keys the database names that were in neither the data folder nor the bucket. */
  missing: string[]
}

/** What failed, as the CLI turns it into its exit code. */
export type BackupFailureKind = 'no_input' | 'cannot_create' | 'damaged' | 'interrupted' | 'failed'

/** A backup or restore that failed (and left nothing behind). */
export interface BackupFailure {
  kind: BackupFailureKind
  message: string
}

/** A failure thrown inside a backup or restore, turned into a BackupFailure (after the clean-up) where it began. */
export class BackupProblem extends Error {
  constructor(
    readonly kind: BackupFailureKind,
    message: string,
  ) {
    super(message)
  }
}

/** One name of a path: letters, digits, `.`, `_`, `-`, never `.` or `..` alone. */
const NAME = /^(?!\.{1,2}$)[A-Za-z0-9._-]{1,255}$/

/** Whether `path` may be a file of a backup: the database, a key, or a file of the folders the pod keeps its files in. */
export function isBackupPath(path: string): boolean {
  if (path === DATABASE) return true
  const parts = path.split('/')
  if (!parts.every((p) => NAME.test(p))) return false
  if (parts[0] === 'keys') return parts.length === 2
  return FOLDERS.some((f) => path.startsWith(f)) && parts.length >= 2 && parts.length <= 3
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
const isSize = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0
const isSha256 = (v: unknown): v is string => typeof v === 'string' && /^[0-9a-f]{64}$/.test(v)

/** A file entry of a manifest, checked; a reason when it is not one. */
function fileEntry(v: unknown, where: string): Result<BackedUpFile, string> {
  if (!isObject(v) || typeof v.path !== 'string' || !isSize(v.size) || !isSha256(v.sha256)) return fail(`${where} is not a file entry (path, size, sha256)`)
  return ok({ path: v.path, size: v.size, sha256: v.sha256 })
}

/** The bucket part of a manifest, checked. */
function bucketPart(v: unknown): Result<Manifest['bucket'], string> {
  if (v === null) return ok(null)
  if (!isObject(v) || typeof v.bucket !== 'string' || typeof v.prefix !== 'string' || !(v.endpoint === null || typeof v.endpoint === 'string') || !Array.isArray(v.objects))
    return fail('bucket is not a bucket (endpoint, bucket, prefix, objects)')
  const objects: ListedObject[] = []
  for (const o of v.objects) {
    if (!isObject(o) || typeof o.key !== 'string' || !isSize(o.size) || !(o.etag === null || typeof o.etag === 'string')) return fail('bucket.objects has an entry that is not an object (key, size, etag)')
    objects.push({ key: o.key, size: o.size, etag: o.etag })
  }
  return ok({ endpoint: v.endpoint, bucket: v.bucket, prefix: v.prefix, objects })
}

/** Reads a manifest's text; a reason when it is not a manifest this release can restore. */
export function parseManifest(text: string): Result<Manifest, string> {
  let v: unknown
  try {
    v = JSON.parse(text)
  } catch {
    return fail('it is not JSON')
  }
  if (!isObject(v) || v.format !== FORMAT) return fail(`it is not a seedpod backup's manifest (no "format": "${FORMAT}")`)
  if (v.version !== MANIFEST_VERSION) return fail(`its version (${JSON.stringify(v.version)}) is not ${MANIFEST_VERSION}: restore it with the seedpod release that made it (${JSON.stringify(v.seedpod)})`)
  if (typeof v.seedpod !== 'string' || typeof v.createdAt !== 'string' || typeof v.fingerprint !== 'string' || !isSize(v.schemaVersion) || !Array.isArray(v.files) || !Array.isArray(v.missing))
    return fail('it lacks seedpod, createdAt, fingerprint, schemaVersion, files or missing')
  const files: BackedUpFile[] = []
  const seen = new Set<string>()
  for (const [i, entry] of v.files.entries()) {
    const file = fileEntry(entry, `files[${i}]`)
    if (!file.ok) return file
    if (!isBackupPath(file.value.path)) return fail(`files[${i}] names ${JSON.stringify(file.value.path)}, which is not a file of a data folder`)
    if (seen.has(file.value.path)) return fail(`files lists ${file.value.path} twice`)
    seen.add(file.value.path)
    files.push(file.value)
  }
  if (!seen.has(DATABASE) || !seen.has('keys/pod.key')) return fail(`files lacks ${DATABASE} or keys/pod.key`)
  const config = v.config === null ? ok(null) : fileEntry(v.config, 'config')
  if (!config.ok) return config
  if (config.value && config.value.path !== CONFIG) return fail(`config names ${JSON.stringify(config.value.path)}, not ${CONFIG}`)
  const bucket = bucketPart(v.bucket)
  if (!bucket.ok) return bucket
  const missing = v.missing.filter((k): k is string => typeof k === 'string')
  return ok({ format: FORMAT, version: MANIFEST_VERSION, seedpod: v.seedpod, createdAt: v.createdAt, fingerprint: v.fingerprint, schemaVersion: v.schemaVersion, config: config.value, files, bucket: bucket.value, missing })
}

/** A new manifest's fixed fields. */
export const manifestHeader = { format: FORMAT, version: MANIFEST_VERSION } as const
