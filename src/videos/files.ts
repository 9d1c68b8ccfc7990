/**
 * Where a pod keeps video files, all named by id or info hash, never by what a user sent:
 *   videos/<id>.<ext>        the video (web seed and TCP seeding)
 *   videos/<id>.m3u8         the HLS media playlist of a file packaged as a stream (one per file)
 *   thumbnails/<id>.jpg      thumbnails of own videos, and cached ones of friends' videos
 *   torrents/<infoHash>.torrent
 *   mirrors/<infoHash>/      copies of friends' videos (redundancy)
 *   tmp/                     uploads and work in progress; emptied at start
 */
import { mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

export class VideoFiles {
  readonly videos: string
  readonly thumbnails: string
  readonly torrents: string
  readonly tmp: string
  /** Copies of friends' videos (redundancy), one folder per info hash. */
  readonly mirrors: string

  constructor(dataDir: string) {
    this.videos = join(dataDir, 'videos')
    this.thumbnails = join(dataDir, 'thumbnails')
    this.torrents = join(dataDir, 'torrents')
    this.tmp = join(dataDir, 'tmp')
    this.mirrors = join(dataDir, 'mirrors')
  }

  /** Creates the folders and removes what an interrupted upload left in tmp/. */
  prepare(): void {
    for (const dir of [this.videos, this.thumbnails, this.torrents, this.tmp, this.mirrors]) mkdirSync(dir, { recursive: true, mode: 0o750 })
    for (const name of readdirSync(this.tmp)) rmSync(join(this.tmp, name), { recursive: true, force: true })
  }

  video(id: string, ext: string): string {
    return join(this.videos, `${id}.${ext}`)
  }

  thumbnail(id: string): string {
    return join(this.thumbnails, `${id}.jpg`)
  }

  torrent(infoHash: string): string {
    return join(this.torrents, `${infoHash}.torrent`)
  }

  /**
   * Writes a stream's media playlist to videos/`name` (through tmp/, so a reader never sees
   * half of it); returns its path.
   */
  placePlaylist(text: string, name: string): string {
    const tmp = this.temp('.m3u8')
    const path = join(this.videos, name)
    writeFileSync(tmp, text, { mode: 0o640 })
    renameSync(tmp, path)
    return path
  }

  /** A fresh path in tmp/ with the given suffix. */
  temp(suffix: string): string {
    return join(this.tmp, `${crypto.randomUUID()}${suffix}`)
  }
}
