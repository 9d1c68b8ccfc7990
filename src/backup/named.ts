/**
 * The files a pod's database names, as a backup copies them: its own videos' (originals,
 * renditions, their playlists, thumbnails and torrents), the ready copies of friends' videos
 * (a copy still downloading is started again), and friends' thumbnails cached in the bucket.
 * Friends' thumbnails cached in the data folder are not named: a cache, fetched again.
 */
import type { Database } from 'bun:sqlite'
import { MirrorStore } from '../redundancy/store'
import { copyKeys, thumbnailKey } from '../storage/keys'
import { ownKeys } from '../videos/own-files'
import { VideoStore } from '../videos/store'

/** Every key the rows of `db` name, each once, in a stable order. */
export function namedKeys(db: Database): string[] {
  const rows = new VideoStore(db)
  const copies = new MirrorStore(db, rows)
    .own()
    .filter((m) => m.state === 'ready')
    .flatMap(copyKeys)
  return [...new Set([...ownKeys(rows), ...copies, ...rows.cachedThumbnails().map(thumbnailKey)])]
}
