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

/**
 * Removes the bucket's objects that are not `expected`, and forgets (`forget`) each file of
 * `files` that is nowhere (its rendition, or for an original its video). For a bucket (a data folder keeps its files as they are).
 */
export async function sweepStorage(
  storage: PodStorage,
  expected: ReadonlySet<string>,
  files: readonly SweptFile[],
  forget: (file: SweptFile) => Promise<void>,
  log: Logger,
  /** Whether a video id is one of this pod's own (its ids begin with its fingerprint). */
  ownId: (id: string) => boolean,
): Promise<SweepResult> {
  const present = new Set<string>()
  const orphans: string[] = []
  for (const folder of FOLDERS) {
    for (const o of await storage.store.list(folder)) {
      if (expected.has(o.key)) present.add(o.key)
      else orphans.push(o.key)
    }
  }
  const lost = files.filter((f) => !present.has(f.key) && storage.source(f.key).kind === 'object')
  refuseAnotherPods(storage, orphans, present, files, ownId)
  for (const key of orphans) await storage.store.delete(key)
  // An original's video goes with its renditions: theirs need no forgetting of their own.
  const gone = new Set(lost.filter((f) => f.resolution === null).map((f) => f.id))
  const toForget = lost.filter((f) => f.resolution === null || !gone.has(f.id))
  for (const f of toForget) await forget(f)
  const forgotten = toForget.map((f) => (f.resolution === null ? f.id : `${f.id}.${f.resolution}`))
  if (orphans.length || forgotten.length) log.warn('storage.swept', { orphans: orphans.length, forgotten })
  return { orphans, present, forgotten }
}
