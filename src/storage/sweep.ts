/**
 * The start's repair of a bucket: a crash (or a failed delete) between keeping a file's
 * objects and writing its rows, or between removing rows and objects, leaves objects no row
 * names; they are removed. A video whose original is in neither the bucket nor the data
 * folder (removed behind the pod's back) cannot play: it is forgotten, and so is a rendition
 * whose file is gone, so that no row points at a missing object. Run before the pod serves,
 * so no upload is under way.
 */
import type { Logger } from '../shared/log'
import { FOLDERS, videoIdOfKey } from './keys'
import type { PodStorage } from './service'
import { StorageStartError } from './start'

/**
 * Stops the start before the sweep deletes or forgets anything when the bucket and prefix are
 * not this pod's: a mistyped bucket or `storage.prefix` (none of the files its rows name are
 * there, every video would be forgotten), or a prefix another pod uses (its videos' files look
 * like orphans, and would be deleted).
 */
function refuseAnotherPods(storage: PodStorage, orphans: readonly string[], present: ReadonlySet<string>, files: readonly SweptFile[], ownId: (id: string) => boolean): void {
  const where = storage.info()
  const at = `bucket ${where.bucket}${where.prefix ? `, prefix ${where.prefix}` : ''}`
  // Not one of the pod's objects (not even a thumbnail or a .torrent): not its bucket or prefix.
  const inBucket = files.filter((f) => storage.source(f.key).kind === 'object').length
  if (inBucket > 0 && present.size === 0)
    throw new StorageStartError(`${at} holds none of this pod's files (${inBucket} of its video files are kept there): is storage.bucket or storage.prefix wrong? Nothing was changed.`)
  // videos/ holds own videos only (thumbnails/ also friends' cached ones, mirrors/ copies).
  const theirs = orphans.find((key) => {
    const id = videoIdOfKey(key)
    return id !== undefined && !ownId(id)
  })
  if (theirs)
    throw new StorageStartError(`${at} holds files of another pod (${theirs}): give each pod its own storage.prefix. Nothing was changed.`)
}

/** An own video's file (its original, or a rendition), as the sweep checks it. */
export interface SweptFile {
  id: string
  resolution: number | null
  key: string
}

/** What the sweep removed. */
export interface SweepResult {
  orphans: string[]
  /** The expected keys the bucket has. */
  present: ReadonlySet<string>
  /** The files forgotten, as `<id>` (a video) or `<id>.<height>` (a rendition). */
  forgotten: string[]
}

/** A feature's files in the pod's store, as the start's sweep sees them. */
export interface StoredFiles {
  /** Every key the feature's rows name. */
  keys(): Iterable<string>
  /** Its own videos' files (originals and renditions): one that is nowhere is forgotten (`forget`). */
  files?(): readonly SweptFile[]
  forget?(file: SweptFile): Promise<void>
  /** Whether a video id is one of this pod's own (its ids begin with its fingerprint). */
  ownId?(id: string): boolean
  /** Told which of its keys the bucket has (a cache forgets the others). */
  present?(present: ReadonlySet<string>): void
}

/**
 * The start's repair of the pod's store, run before the pod serves: with a bucket, removes
 * its objects that no feature's rows name, and forgets each own file that is nowhere (its
 * rendition, or for an original its video). A data folder keeps its files as they are.
 */
export async function sweepAtStart(storage: PodStorage, parts: readonly StoredFiles[], log: Logger): Promise<SweepResult | undefined> {
  if (storage.store.kind === 'local') return undefined
  const expected = new Set(parts.flatMap((p) => [...p.keys()]))
  const files = parts.flatMap((p) => (p.files?.() ?? []).map((file) => ({ file, part: p })))
  const ownId = (id: string) => parts.some((p) => p.ownId?.(id))
  const swept = await sweep(storage, expected, files, log, ownId)
  for (const p of parts) p.present?.(swept.present)
  return swept
}

/** Removes the bucket's objects that are not `expected`, and forgets each of `files` that is nowhere. */
async function sweep(
  storage: PodStorage,
  expected: ReadonlySet<string>,
  owned: readonly { file: SweptFile; part: StoredFiles }[],
  log: Logger,
  ownId: (id: string) => boolean,
): Promise<SweepResult> {
  const files = owned.map((o) => o.file)
  const present = new Set<string>()
  const orphans: string[] = []
  for (const folder of FOLDERS) {
    for (const o of await storage.store.list(folder)) {
      if (expected.has(o.key)) present.add(o.key)
      else orphans.push(o.key)
    }
  }
  const lost = owned.filter(({ file: f }) => !present.has(f.key) && storage.source(f.key).kind === 'object')
  refuseAnotherPods(storage, orphans, present, files, ownId)
  for (const key of orphans) await storage.store.delete(key)
  // An original's video goes with its renditions: theirs need no forgetting of their own.
  const gone = new Set(lost.filter(({ file: f }) => f.resolution === null).map(({ file: f }) => f.id))
  const toForget = lost.filter(({ file: f }) => f.resolution === null || !gone.has(f.id))
  for (const { file, part } of toForget) await part.forget?.(file)
  const forgotten = toForget.map(({ file: f }) => (f.resolution === null ? f.id : `${f.id}.${f.resolution}`))
  if (orphans.length || forgotten.length) log.warn('storage.swept', { orphans: orphans.length, forgotten })
  return { orphans, present, forgotten }
}
