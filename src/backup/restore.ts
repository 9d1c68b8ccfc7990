/**
 * `seedpod restore SRC`: a backup (backup.ts) brought back into an empty data folder, on this
 * machine or a fresh one, with the pod's identity. Every file is copied into a folder of its
 * own inside the data folder and checked against the manifest (size and SHA-256) as it is
 * copied; then the key is checked against the manifest's fingerprint and the database with
 * SQLite's own check. Only then do the files take their places; a damaged backup leaves the
 * data folder as it was found. The pod's bucket is not restored (it was not copied): its
 * objects are checked against the listing when the bucket can be reached.
 */
import { Database } from 'bun:sqlite'
import { readdirSync, readFileSync, renameSync, rmdirSync, rmSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { identityFromPem } from '../identity/keys'
import { SCHEMA_VERSION } from '../shared/db'
import { fail, ok, type Result } from '../shared/errors'
import { FOLDERS } from '../storage/keys'
import type { ObjectStore } from '../storage/store'
import { copyHashed, syncFolder, takeFolder, writeProblem } from './files'
import { BackupProblem, CONFIG, DATABASE, MANIFEST, parseManifest, type BackupFailure, type Manifest } from './model'

/** What `restore` needs. */
export interface RestoreInput {
  src: string
  dataDir: string
  /** The bucket of the configuration the pod is restored with (`storage.kind = "s3"`), to check the backup's listing against. */
  bucket?: ObjectStore
  /** Stops the restore between chunks (Ctrl-C): nothing stays. */
  signal?: AbortSignal
}

/** What a restore brought back. */
export interface RestoreSummary {
  fingerprint: string
  files: number
  bytes: number
  /** Objects of the bucket the backup lists. */
  objects: number
  /** What the admin should know: objects gone from the bucket, a bucket the configuration does not name. */
  warnings: string[]
}

/** Reads and checks SRC's manifest. */
export function readManifest(at: string): Result<Manifest, BackupFailure> {
  const src = resolve(at)
  if (!statSync(src, { throwIfNoEntry: false })?.isDirectory()) return fail({ kind: 'no_input', message: `there is no backup folder ${src}` })
  let text: string
  try {
    text = readFileSync(join(src, MANIFEST), 'utf8')
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    if (code === 'ENOENT') return fail({ kind: 'damaged', message: `${src} has no ${MANIFEST}: it is not a seedpod backup, or one that did not finish` })
    return fail({ kind: 'failed', message: `cannot read ${join(src, MANIFEST)} (${code ?? (e as Error).message})` })
  }
  const manifest = parseManifest(text)
  return manifest.ok ? manifest : fail({ kind: 'damaged', message: `${join(src, MANIFEST)} is damaged: ${manifest.error}` })
}

/** The backup's configuration file, checked against its manifest; undefined when the backup has none. */
export async function backupConfig(src: string): Promise<Result<string | undefined, BackupFailure>> {
  const manifest = readManifest(src)
  if (!manifest.ok) return manifest
  const entry = manifest.value.config
  if (!entry) return ok(undefined)
  const path = join(resolve(src), CONFIG)
  const file = Bun.file(path)
  const sha256 = (await file.exists()) ? new Bun.CryptoHasher('sha256').update(await file.bytes()).digest('hex') : undefined
  if (sha256 !== entry.sha256) return fail({ kind: 'damaged', message: `${path} is ${sha256 ? 'damaged (its SHA-256 is not the manifest\'s)' : 'missing'}` })
  return ok(path)
}

/** Copies every file of the manifest into `into`, checking each; throws a `damaged` BackupProblem at the first that differs. */
async function copyChecked(manifest: Manifest, src: string, into: string, signal?: AbortSignal): Promise<void> {
  for (const f of manifest.files) {
    const key = f.path.startsWith('keys/')
    const copied = await copyHashed(join(src, f.path), join(into, f.path), { mode: key ? 0o600 : 0o640, dirMode: key ? 0o700 : 0o750, signal })
    if (!copied) throw new BackupProblem('damaged', `the backup lacks ${f.path}, which its manifest lists`)
    if (copied.size !== f.size || copied.sha256 !== f.sha256)
      throw new BackupProblem('damaged', `${join(src, f.path)} is damaged: its ${copied.size !== f.size ? `size (${copied.size} bytes, not ${f.size})` : 'SHA-256'} is not the manifest's`)
  }
}

/** Checks the restored key and database against the manifest. */
async function checkRestored(manifest: Manifest, dir: string): Promise<void> {
  let fingerprint: string
  try {
    fingerprint = (await identityFromPem(readFileSync(join(dir, 'keys', 'pod.key'), 'utf8'))).fingerprint
  } catch (e) {
    throw new BackupProblem('damaged', `the backup's key cannot be used (${(e as Error).message})`)
  }
  if (fingerprint !== manifest.fingerprint) throw new BackupProblem('damaged', `the backup's key is the pod ${fingerprint}'s, not ${manifest.fingerprint}'s as its manifest says`)
  if (manifest.schemaVersion > SCHEMA_VERSION)
    throw new BackupProblem('failed', `the backup's database is at schema version ${manifest.schemaVersion}, newer than this seedpod knows (${SCHEMA_VERSION}): restore it with seedpod ${manifest.seedpod}`)
  let problem: string | undefined
  try {
    const db = new Database(join(dir, DATABASE), { readonly: true })
    try {
      const check = db.query('PRAGMA quick_check').all() as { quick_check: string }[]
      const version = (db.query('PRAGMA user_version').get() as { user_version: number }).user_version
      if (check[0]?.quick_check !== 'ok') problem = `SQLite finds it damaged (${check[0]?.quick_check})`
      else if (version !== manifest.schemaVersion) problem = `it is at schema version ${version}, not ${manifest.schemaVersion} as the manifest says`
    } finally {
      db.close()
    }
  } catch (e) {
    problem = (e as Error).message
  }
  if (problem) throw new BackupProblem('damaged', `the backup's database: ${problem}`)
}

/** What the admin should know of the backup's bucket objects. */
async function bucketWarnings(manifest: Manifest, bucket: ObjectStore | undefined): Promise<string[]> {
  const listed = manifest.bucket
  if (!listed?.objects.length) return []
  const where = `bucket ${listed.bucket}${listed.prefix ? `, prefix ${listed.prefix}` : ''}`
  if (!bucket) return [`the backup's ${listed.objects.length} video files in ${where} were listed, not copied: set storage.kind = "s3" and that bucket in the configuration before starting the pod`]
  const info = bucket.info()
  if (info.bucket !== listed.bucket || (info.prefix ?? '') !== listed.prefix) return [`the backup's video files are in ${where}, and the configuration names bucket ${info.bucket}${info.prefix ? `, prefix ${info.prefix}` : ''}`]
  const now = new Map<string, { size: number; etag?: string }>()
  try {
    for (const folder of FOLDERS) for (const x of await bucket.list(folder)) now.set(x.key, x)
  } catch (e) {
    return [`cannot check the backup's video files in ${where} (${(e as Error).message})`]
  }
  const gone = listed.objects.filter((o) => {
    const x = now.get(o.key)
    return !x || x.size !== o.size || (o.etag !== null && x.etag !== undefined && x.etag !== o.etag)
  })
  return gone.length ? [`${gone.length} of the backup's video files in ${where} are gone or changed (${gone.slice(0, 3).map((o) => o.key).join(', ')}${gone.length > 3 ? ', ...' : ''}): the pod forgets their videos at start`] : []
}

/** Restores the backup at `src` into `dataDir` (new or empty). */
export async function restore(input: RestoreInput): Promise<Result<RestoreSummary, BackupFailure>> {
  const src = resolve(input.src)
  const dataDir = resolve(input.dataDir)
  const manifest = readManifest(src)
  if (!manifest.ok) return manifest
  let undo = () => {}
  let staging: string | undefined
  try {
    undo = takeFolder(dataDir, 'the data folder', 0o750).undo
    // Inside the data folder: the same file system (even when the data folder is a mount), so the files move into place by renames.
    staging = join(dataDir, `.restoring-${crypto.randomUUID()}`)
    await copyChecked(manifest.value, src, staging, input.signal)
    await checkRestored(manifest.value, staging)
    const warnings = await bucketWarnings(manifest.value, input.bucket)
    for (const name of readdirSync(staging)) renameSync(join(staging, name), join(dataDir, name))
    rmdirSync(staging)
    syncFolder(dataDir)
    const { files } = manifest.value
    return ok({ fingerprint: manifest.value.fingerprint, files: files.length, bytes: files.reduce((n, f) => n + f.size, 0), objects: manifest.value.bucket?.objects.length ?? 0, warnings })
  } catch (e) {
    if (staging) rmSync(staging, { recursive: true, force: true })
    const problem = writeProblem(e, dataDir)
    undo()
    return fail({ kind: problem.kind, message: problem.message })
  }
}
