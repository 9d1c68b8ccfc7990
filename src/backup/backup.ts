/**
 * `seedpod backup DEST`: a consistent copy of a pod, made while it runs.
 *
 * The database is copied first (SQLite's VACUUM INTO: the database as of one commit, while
 * the pod writes), then the files its rows name: own videos' files, playlists, thumbnails and
 * torrents, and the ready copies of friends' videos. What changed meanwhile (an upload that
 * finished, a video deleted, a file replaced) is caught by copying the database again and
 * copying what its rows name now, until a round finds nothing new: the database of the backup
 * and its files agree. Files in the pod's bucket are listed (key, size, ETag), not copied.
 * The key and the configuration are copied; `manifest.json`, written last, lists everything
 * with its SHA-256. On any failure (or Ctrl-C) what was written is removed.
 */
import { Database } from 'bun:sqlite'
import { chmodSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { isAbsolute, join, relative, resolve, sep } from 'node:path'
import { identityFromPem } from '../identity/keys'
import { fail, ok, type Result } from '../shared/errors'
import { SCHEMA_VERSION, schemaVersion } from '../shared/db'
import { snapshotInto } from '../shared/migrate'
import { VERSION } from '../shared/version'
import { FOLDERS } from '../storage/keys'
import type { ObjectStore } from '../storage/store'
import { copyHashed, hashFile, syncFolder, takeFolder, writeProblem, type Copied } from './files'
import { namedKeys } from './named'
import { BackupProblem, CONFIG, DATABASE, manifestHeader, MANIFEST, type BackedUpFile, type BackupFailure, type ListedObject, type Manifest } from './model'

/** Rounds of "copy the database, copy what it names" before the backup settles for the last one. */
const MAX_ROUNDS = 5

/** Modes of what a backup holds: it has the pod's private key, so only its owner reads it. */
const DIR_MODE = 0o700
const FILE_MODE = 0o600

/** What `backUp` needs. */
export interface BackupInput {
  dataDir: string
  dest: string
  /** The configuration file the pod runs with (`--config`), copied as CONFIG. */
  configFile?: string
  /** The pod's bucket (`storage.kind = "s3"`): its objects are listed, not copied. */
  bucket?: ObjectStore
  /** Stops the backup between chunks (Ctrl-C): what was written is removed. */
  signal?: AbortSignal
}

/** What a backup made. */
export interface BackupSummary {
  fingerprint: string
  /** Files copied (database, keys, configuration, media) and their bytes. */
  files: number
  bytes: number
  /** Objects of the bucket listed. */
  objects: number
  /** Keys the database names that were nowhere. */
  missing: string[]
  /** Rounds of copying the database and what it names. */
  rounds: number
}

/** Checks that `dataDir` is a pod's data folder and returns its fingerprint. */
async function podOf(dataDir: string): Promise<string> {
  if (!statSync(dataDir, { throwIfNoEntry: false })?.isDirectory()) throw new BackupProblem('no_input', `there is no data folder ${dataDir}: nothing to back up (is --data-dir or --config right?)`)
  for (const name of [DATABASE, 'keys/pod.key'])
    if (!statSync(join(dataDir, name), { throwIfNoEntry: false })?.isFile()) throw new BackupProblem('no_input', `${dataDir} has no ${name}: it is not a pod's data folder`)
  try {
    return (await identityFromPem(readFileSync(join(dataDir, 'keys', 'pod.key'), 'utf8'))).fingerprint
  } catch (e) {
    throw new BackupProblem('failed', `the pod's key ${join(dataDir, 'keys', 'pod.key')} cannot be used (${(e as Error).message})`)
  }
}

/** The media files: copied ones by key, and the keys that were not in the data folder when tried. */
interface Media {
  copied: Map<string, Copied>
  absent: Set<string>
}

/**
 * One round: copies the database into `dest`, drops the files its rows no longer name, and
 * copies those it names that were not copied yet (or changed since). Returns how many it copied.
 */
async function round(live: Database, input: BackupInput, media: Media): Promise<{ copied: number; named: string[] }> {
  const copy = join(input.dest, DATABASE)
  rmSync(copy, { force: true })
  snapshotInto(live, copy)
  // It holds password hashes: only the backup's owner reads it.
  chmodSync(copy, FILE_MODE)
  const named = keysOf(copy)
  const wanted = new Set(named)
  for (const key of [...media.copied.keys()].filter((k) => !wanted.has(k))) {
    rmSync(join(input.dest, key), { force: true })
    media.copied.delete(key)
  }
  for (const key of [...media.absent].filter((k) => !wanted.has(k))) media.absent.delete(key)
  const changed = (key: string, c: Copied) => {
    const st = statSync(join(input.dataDir, key), { throwIfNoEntry: false })
    return st !== undefined && (st.size !== c.size || st.mtimeMs !== c.mtimeMs)
  }
  const pending = named.filter((k) => (media.copied.has(k) ? changed(k, media.copied.get(k)!) : !media.absent.has(k)))
  for (const key of pending) {
    rmSync(join(input.dest, key), { force: true })
    media.copied.delete(key)
    const c = await copyHashed(join(input.dataDir, key), join(input.dest, key), { mode: FILE_MODE, dirMode: DIR_MODE, signal: input.signal })
    if (c) media.copied.set(key, c)
    else media.absent.add(key)
  }
  return { copied: pending.length, named }
}

/** The keys the rows of the database copy at `path` name, read with this release's schema. */
function keysOf(path: string): string[] {
  const db = new Database(path, { readonly: true, strict: true })
  try {
    const version = schemaVersion(db)
    if (version !== SCHEMA_VERSION)
      throw new BackupProblem(
        'failed',
        `the pod's database is at schema version ${version} and this seedpod's (${VERSION}) at ${SCHEMA_VERSION}: back up with the release the pod runs, or restart the pod with this one first`,
      )
    return namedKeys(db)
  } finally {
    db.close()
  }
}

/** The bucket's objects among `keys`, by listing the pod's folders in it. */
async function listed(bucket: ObjectStore, keys: ReadonlySet<string>): Promise<ListedObject[]> {
  const objects: ListedObject[] = []
  for (const folder of FOLDERS) for (const o of await bucket.list(folder)) if (keys.has(o.key)) objects.push({ key: o.key, size: o.size, etag: o.etag ?? null })
  return objects.sort((a, b) => a.key.localeCompare(b.key))
}

/** Copies the files of `keys/` and the configuration file (small files, read whole); returns their entries. */
function copySmall(input: BackupInput): { keys: BackedUpFile[]; config: BackedUpFile | null } {
  const entry = (path: string, from: string): BackedUpFile => {
    const bytes = readFileSync(from)
    writeFileSync(join(input.dest, path), bytes, { mode: FILE_MODE, flag: 'wx' })
    return { path, size: bytes.length, sha256: new Bun.CryptoHasher('sha256').update(bytes).digest('hex') }
  }
  const dir = join(input.dataDir, 'keys')
  mkdirSync(join(input.dest, 'keys'), { mode: DIR_MODE })
  const keys = readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => entry(`keys/${e.name}`, join(dir, e.name)))
  return { keys, config: input.configFile ? entry(CONFIG, input.configFile) : null }
}

/** Makes the backup into `dest` (new or empty); on failure leaves `dest` as it was found. */
export async function backUp(input: BackupInput): Promise<Result<BackupSummary, BackupFailure>> {
  const dest = resolve(input.dest)
  const dataDir = resolve(input.dataDir)
  let undo = () => {}
  let live: Database | undefined
  try {
    const fingerprint = await podOf(dataDir)
    const inside = relative(dataDir, dest)
    if (inside !== '..' && !inside.startsWith(`..${sep}`) && !isAbsolute(inside)) throw new BackupProblem('cannot_create', `${dest} is inside the data folder ${dataDir}: a backup there would be lost with it`)
    undo = takeFolder(dest, 'the backup folder', DIR_MODE).undo
    const at = { ...input, dest, dataDir }
    // Without migrating it (a pod of another release may be running on it): VACUUM INTO only reads.
    live = new Database(join(dataDir, DATABASE), { readonly: true })
    live.exec('PRAGMA busy_timeout = 5000')
    const small = copySmall(at)
    const media: Media = { copied: new Map(), absent: new Set() }
    let rounds = 0
    let named: string[] = []
    for (let copied = -1; copied !== 0 && rounds < MAX_ROUNDS; rounds++) ({ copied, named } = await round(live, at, media))
    live.close()
    live = undefined
    const objects = input.bucket ? await listed(input.bucket, media.absent) : []
    const inBucket = new Set(objects.map((o) => o.key))
    const database = { path: DATABASE, ...(await hashFile(join(dest, DATABASE))) }
    const files = [database, ...small.keys, ...named.filter((k) => media.copied.has(k)).map((k) => ({ path: k, size: media.copied.get(k)!.size, sha256: media.copied.get(k)!.sha256 }))]
    const info = input.bucket?.info()
    const manifest: Manifest = {
      ...manifestHeader,
      seedpod: VERSION,
      createdAt: new Date().toISOString(),
      fingerprint,
      schemaVersion: SCHEMA_VERSION,
      config: small.config,
      files,
      bucket: info ? { endpoint: info.endpoint ?? null, bucket: info.bucket ?? '', prefix: info.prefix ?? '', objects } : null,
      missing: [...media.absent].filter((k) => !inBucket.has(k)).sort(),
    }
    // A Ctrl-C that came after the last chunk still stops it: the manifest would make it a backup.
    if (input.signal?.aborted) throw new BackupProblem('interrupted', 'interrupted')
    const part = join(dest, `${MANIFEST}.part`)
    writeFileSync(part, JSON.stringify(manifest, null, 2) + '\n', { mode: FILE_MODE })
    renameSync(part, join(dest, MANIFEST))
    syncFolder(dest)
    const all = [...files, ...(small.config ? [small.config] : [])]
    return ok({ fingerprint, files: all.length, bytes: all.reduce((n, f) => n + f.size, 0), objects: objects.length, missing: manifest.missing, rounds })
  } catch (e) {
    live?.close()
    const problem = writeProblem(e, dest)
    undo()
    return fail({ kind: problem.kind, message: problem.message })
  }
}
