/**
 * Data folders of stopped pods, made without running one, for the backup tests and benchmark:
 * a key, a database, and own videos whose rows and files are there (their playlists are not).
 * (No bun:test import here, so benchmarks can use it too.)
 */
import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { AccountStore } from '../../src/accounts/store'
import { loadOrCreateIdentity } from '../../src/identity/keys'
import { openDatabase } from '../../src/shared/db'
import { VideoStore } from '../../src/videos/store'
import { videoOf } from './network'
import { tempDir } from './temp'

const URL = 'http://127.0.0.1:1'
const MiB = 1024 * 1024

/** A stopped pod's data folder (`dir/data`). */
export interface PodFolder {
  dir: string
  dataDir: string
  fingerprint: string
}

/** The info hash of the `n`th video addVideo makes. */
export const infoHashOf = (n: number) => n.toString(16).padStart(40, '0')

/** Writes `size` random bytes to `path`, a MiB at a time. */
function randomFile(path: string, size: number): void {
  const chunk = crypto.getRandomValues(new Uint8Array(Math.min(size, MiB)))
  const fd = openSync(path, 'w')
  try {
    for (let left = size; left > 0; left -= chunk.length) {
      // Each MiB unlike the one before.
      chunk[0]! ^= left & 0xff
      writeSync(fd, chunk, 0, Math.min(left, chunk.length))
    }
  } finally {
    closeSync(fd)
  }
}

/**
 * Adds the `n`th own video to a pod's folder: its rows, and its file (`bytes` random bytes),
 * thumbnail and torrent (its playlist is not there); returns its id.
 */
export function addVideo(f: PodFolder, n: number, bytes = 3 * MiB + 17): string {
  const id = `${f.fingerprint.slice(0, 16)}video${n}`
  const db = openDatabase(join(f.dataDir, 'seedpod.db'))
  try {
    const accounts = new AccountStore(db)
    const owner = accounts.byName('alice') ?? accounts.add({ username: 'alice', passwordHash: 'h', role: 'user', status: 'active', registeredFrom: null, createdAt: 1 })
    const rows = new VideoStore(db)
    rows.upsert(videoOf({ url: URL, fingerprint: f.fingerprint }, { id, magnetUri: `magnet:?xt=urn:btih:${infoHashOf(n)}` }), URL, Date.now())
    rows.addOwn(id, owner.id, 'video/mp4', { width: 320, height: 240, audio: 'aac' })
  } finally {
    db.close()
  }
  for (const folder of ['videos', 'thumbnails', 'torrents']) mkdirSync(join(f.dataDir, folder), { recursive: true })
  randomFile(join(f.dataDir, 'videos', `${id}.mp4`), bytes)
  writeFileSync(join(f.dataDir, 'thumbnails', `${id}.jpg`), crypto.getRandomValues(new Uint8Array(2000)))
  writeFileSync(join(f.dataDir, 'torrents', `${infoHashOf(n)}.torrent`), crypto.getRandomValues(new Uint8Array(300)))
  return id
}

/** A stopped pod's data folder with its key and database, and `videos` own videos of `bytes` each. */
export async function podFolder(videos = 1, bytes?: number): Promise<PodFolder & { ids: string[] }> {
  const dir = tempDir()
  const dataDir = join(dir, 'data')
  mkdirSync(dataDir)
  const { identity } = await loadOrCreateIdentity(dataDir)
  const f = { dir, dataDir, fingerprint: identity.fingerprint }
  return { ...f, ids: Array.from({ length: videos }, (_, i) => addVideo(f, i + 1, bytes)) }
}
