/**
 * The files of own videos in the pod's store (src/storage/): keeping a finished file with its
 * .torrent and media playlist, and what viewers get of them: the web seeds of a video (the
 * bucket's URLs; its playlists: served-streams.ts).
 */
import { linkSync, rmSync } from 'node:fs'
import { extname } from 'node:path'
import { originalFile, playlistKey, renditionFile, thumbnailKey, torrentKey, videoKey } from '../storage/keys'
import { typeOf } from '../storage/store'
import type { VideoFiles } from './files'
import type { Video } from './model'
import type { Rendition } from './renditions'
import type { VideoStore } from './store'
import type { Stream } from './streams'

/** Makes `link` a hard link to `path`; false when `path` is gone. */
function linked(path: string, link: string): boolean {
  try {
    linkSync(path, link)
    return true
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false
    throw e
  }
}

/**
 * Every key of the pod's own files that its rows name: each own video's original, its
 * playlist, thumbnail and torrent, and each rendition with its playlist and torrent.
 */
export function ownKeys(rows: VideoStore): string[] {
  return [
    ...rows.ownRows().flatMap((o) => {
      const key = videoKey(originalFile(o.id, o.ext))
      return [key, playlistKey(key), thumbnailKey(o.id), torrentKey(Buffer.from(o.info_hash).toString('hex'))]
    }),
    ...rows.ownRenditions().flatMap((r) => {
      const key = videoKey(renditionFile(r.video, r.resolution))
      return [key, playlistKey(key), torrentKey(r.infoHash)]
    }),
  ]
}

/** An own video's file (the original, or a rendition), as the seeder and the web seed need it. */
export interface LocalFile {
  id: string
  /** Height of a rendition; null for the original upload. */
  resolution: number | null
  infoHash: string
  /** Its key in the pod's store (src/storage/), and its .torrent's. */
  key: string
  torrentKey: string
  mime: string
}

/** The own files of one pod. */
export class OwnFiles {
  constructor(
    private readonly files: VideoFiles,
    private readonly fingerprint: string,
    /** An own video's file (the original, or the rendition of `resolution`). */
    private readonly lookup: (id: string, resolution: number | null) => LocalFile | undefined,
  ) {}

  /** An own file's keys and paths. */
  file(id: string, resolution: number | null, name: string, infoHash: string, mime: string): LocalFile {
    return { id, resolution, infoHash, key: videoKey(name), torrentKey: torrentKey(infoHash), mime }
  }

  /**
   * Keeps a finished file of an own video (from tmp/) with its .torrent and, for a stream,
   * its media playlist; returns the keys it stored (for `unkeep`). On failure nothing stays.
   */
  async keep(file: LocalFile, source: string, torrent: Uint8Array, playlist?: string): Promise<string[]> {
    const storage = this.files.storage
    const puts: [string, () => Promise<void>][] = [
      // Into the data folder; with a bucket, it goes there once its rows are written (`queueMove`).
      [file.key, () => storage.keepHere(file.key, source)],
      [file.torrentKey, () => storage.keepBytes(file.torrentKey, torrent, 'application/x-bittorrent')],
    ]
    if (playlist !== undefined) puts.push([playlistKey(file.key), () => storage.keepBytes(playlistKey(file.key), playlist, typeOf(playlistKey(file.key)))])
    // All at once: with a bucket, each is a round trip, and the small ones go up while the video does.
    const results = await Promise.allSettled(puts.map(([, put]) => put()))
    const failed = results.find((r) => r.status === 'rejected')
    if (failed) {
      await storage.drop(puts.filter((_, i) => results[i]!.status === 'fulfilled').map(([key]) => key))
      throw failed.reason
    }
    return puts.map(([key]) => key)
  }

  /**
   * In the transaction that writes a kept file's rows: with a bucket, queues it for the
   * bucket (src/storage/moves.ts; `startMoves` once the rows are committed).
   */
  queueMove(file: LocalFile): void {
    this.files.moves.queue(file.key)
  }

  /** Moves what is queued for the bucket, in the background. */
  startMoves(): void {
    void this.files.moves.run()
  }

  /** Removes what `keep` stored (its rows could not be written). */
  unkeep(keys: readonly string[]): Promise<void> {
    return this.files.storage.drop(keys)
  }

  /**
   * Runs `work` on an own file as a file of this machine: itself in the data folder, or a
   * copy of the bucket's object in tmp/ (ffmpeg reads files only), removed afterwards. On a
   * pod with a bucket, a file of the data folder may move to the bucket during the work
   * (src/storage/moves.ts): the work gets a hard link to it in tmp/, which the move leaves.
   */
  async withLocalCopy<T>(key: string, work: (path: string) => Promise<T>): Promise<T> {
    const storage = this.files.storage
    const source = storage.source(key)
    if (source.kind === 'file' && !this.files.moves.deferred) return work(source.path)
    const copy = this.files.temp(extname(key))
    try {
      // In the bucket (moved there since it was looked up, if it was in the data folder).
      if (!(source.kind === 'file' && linked(source.path, copy))) await Bun.write(copy, new Response(storage.stream(key, 0, Infinity)))
      return await work(copy)
    } finally {
      rmSync(copy, { force: true })
    }
  }

  /**
   * An own video as its viewers get it: with its files in the bucket, its web seeds are the
   * bucket's URLs (the viewers' bytes come from there, not through the pod). Friends are sent
   * the video without them: their viewers reach it through this pod's URLs, which redirect.
   */
  forViewers<V extends Video>(video: V): V {
    if (video.podFingerprint !== this.fingerprint) return video
    const urlOf = (resolution: number | null) => {
      const file = this.lookup(video.id, resolution)
      return file && this.files.storage.viewerUrl(file.key)
    }
    const original = urlOf(null)
    return {
      ...video,
      webseedUrls: original ? [original, ...video.webseedUrls.slice(1)] : video.webseedUrls,
      ...(video.files ? { files: (video.files as Rendition[]).map((f) => ({ ...f, webseedUrl: urlOf(f.resolution) ?? f.webseedUrl })) } : {}),
      ...(video.streams ? { streams: (video.streams as Stream[]).map((s) => this.streamForViewers(s, urlOf(s.rendition === 0 ? null : s.rendition))) } : {}),
    }
  }

  /** A stream with its file's URL in the bucket as the origin's web seed (its first), when it is there. */
  private streamForViewers(s: Stream, url: string | undefined): Stream {
    return url ? { ...s, webseedUrl: url, webseedUrls: [url, ...s.webseedUrls.slice(1)] } : s
  }
}
