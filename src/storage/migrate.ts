/**
 * `seedpod storage migrate --to s3|local`: moves an existing pod's own files (originals,
 * renditions, playlists, thumbnails, torrents) between its data folder and its bucket, one
 * file at a time, while the pod serves.
 *
 * A pod on a bucket reads a key from the data folder first, then from the bucket
 * (src/storage/service.ts), so each file switches over at one atomic step, only once its new
 * copy is complete: to the bucket, the upload is verified (size) before the local file is
 * removed; to the data folder, the object is downloaded to tmp/, checked, and renamed into
 * place before the object is deleted. A viewer fetching the file meanwhile gets it from the
 * old place before the step and from the new one after it. Rerun after an interruption, it
 * goes on where it stopped (what has switched is skipped, a half copy is made again).
 */
import type { Database } from 'bun:sqlite'
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs'
import { dirname, join } from 'node:path'
import type { S3Store } from './s3'

/** Content types of the pod's files, by extension. */
const TYPES: Record<string, string> = {
  mp4: 'video/mp4',
  webm: 'video/webm',
  m3u8: 'application/vnd.apple.mpegurl',
  jpg: 'image/jpeg',
  torrent: 'application/x-bittorrent',
}

const typeOf = (key: string) => TYPES[key.split('.').pop() ?? ''] ?? 'application/octet-stream'
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')

/**
 * Every key of the pod's own files that its rows name: each own video's original, its
 * playlist, thumbnail and torrent, and each rendition with its playlist and torrent. (Copies
 * of friends' videos and cached thumbnails of theirs stay in the data folder.)
 */
export function ownKeys(db: Database): string[] {
  const originals = db.query("SELECT v.id, coalesce(v.ext, 'mp4') AS ext, v.info_hash FROM local_videos l JOIN videos v ON v.id = l.video").all() as { id: string; ext: string; info_hash: Uint8Array }[]
  const renditions = db.query('SELECT f.video, f.resolution, f.info_hash FROM video_files f JOIN local_videos l ON l.video = f.video').all() as { video: string; resolution: number; info_hash: Uint8Array }[]
  return [
    ...originals.flatMap((o) => [`videos/${o.id}.${o.ext}`, `videos/${o.id}.m3u8`, `thumbnails/${o.id}.jpg`, `torrents/${hex(o.info_hash)}.torrent`]),
    ...renditions.flatMap((r) => [`videos/${r.video}.${r.resolution}.mp4`, `videos/${r.video}.${r.resolution}.m3u8`, `torrents/${hex(r.info_hash)}.torrent`]),
  ]
}

/** What one run did. */
export interface MigrationResult {
  moved: number
  /** Already in place (switched by an earlier run, or never there: a video without a playlist). */
  skipped: number
}

/** Moves every key of `keys` to the bucket (`to` s3) or to the data folder (`to` local). */
export async function migrate(keys: readonly string[], bucket: S3Store, dataDir: string, to: 's3' | 'local', progress: (key: string) => void): Promise<MigrationResult> {
  let moved = 0
  let skipped = 0
  for (const key of keys) {
    const path = join(dataDir, key)
    if (to === 's3') {
      if (!existsSync(path)) {
        skipped++
        continue
      }
      // Uploaded, checked, then the local file removed: the switch.
      await bucket.put(key, path, typeOf(key))
    } else {
      if (existsSync(path)) {
        // Switched already (an interrupted run): only the old copy may be left.
        if (await bucket.stat(key)) await bucket.delete(key)
        skipped++
        continue
      }
      const stat = await bucket.stat(key)
      if (!stat) {
        skipped++
        continue
      }
      const tmp = join(dataDir, 'tmp', `${crypto.randomUUID()}.part`)
      try {
        await Bun.write(tmp, new Response(bucket.stream(key, 0, stat.size)))
        if (Bun.file(tmp).size !== stat.size) throw new Error(`the copy of ${key} is incomplete`)
        mkdirSync(dirname(path), { recursive: true, mode: 0o750 })
        renameSync(tmp, path)
      } finally {
        rmSync(tmp, { force: true })
      }
      await bucket.delete(key)
    }
    moved++
    progress(key)
  }
  return { moved, skipped }
}
