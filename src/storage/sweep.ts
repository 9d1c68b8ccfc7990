/**
 * The start's repair of a bucket: a crash (or a failed delete) between keeping a file's
 * objects and writing its rows, or between removing rows and objects, leaves objects no row
 * names; they are removed. A video whose original is in neither the bucket nor the data
 * folder (removed behind the pod's back) cannot play: it is forgotten, so that no row points
 * at a missing object. Run before the pod serves, so no upload is under way.
 */
import type { Logger } from '../shared/log'
import type { PodStorage } from './service'

/** The folders of the pod's files in its bucket (everything else under the prefix is not the pod's). */
const FOLDERS = ['videos/', 'thumbnails/', 'torrents/', 'mirrors/']

/** An own video's original, as the sweep checks it. */
export interface SweptOriginal {
  id: string
  key: string
}

/** What the sweep removed. */
export interface SweepResult {
  orphans: string[]
  forgotten: string[]
}

/**
 * Removes the bucket's objects that are not `expected`, and forgets (`forget`) each video of
 * `originals` whose file is nowhere. For a bucket (a data folder keeps its files as they are).
 */
export async function sweepStorage(
  storage: PodStorage,
  expected: ReadonlySet<string>,
  originals: readonly SweptOriginal[],
  forget: (id: string) => Promise<void>,
  log: Logger,
): Promise<SweepResult> {
  const present = new Set<string>()
  const orphans: string[] = []
  for (const folder of FOLDERS) {
    for (const o of await storage.store.list(folder)) {
      if (expected.has(o.key)) present.add(o.key)
      else orphans.push(o.key)
    }
  }
  for (const key of orphans) await storage.store.delete(key)
  const forgotten = originals.filter((o) => !present.has(o.key) && storage.source(o.key).kind === 'object').map((o) => o.id)
  for (const id of forgotten) await forget(id)
  if (orphans.length || forgotten.length) log.warn('storage.swept', { orphans: orphans.length, forgotten })
  return { orphans, forgotten }
}
