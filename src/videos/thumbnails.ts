/**
 * Thumbnails as readers get them. An own video's is kept with its files (src/storage/). A
 * friend's is fetched from its origin once (through the outbound client: one fetch at a time,
 * failures remembered) and cached: in the data folder, or on a pod with a bucket in the
 * bucket, where a row of cached_thumbnails says it is (no request to ask the bucket). Such a
 * row goes with its video (ON DELETE CASCADE), and the start's sweep then removes the object;
 * a row whose object is gone is dropped at start (`keepPresent`), and the thumbnail fetched again.
 */
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs'
import { join } from 'node:path'
import type { Outbound } from '../shared/outbound'
import { thumbnailUrl } from '../shared/urls'
import { parseThumbnailFile, thumbnailKey } from '../storage/keys'
import type { VideoFiles } from './files'
import type { Video } from './model'
import type { VideoStore } from './store'

/** A thumbnail to serve: a file of the data folder, the bucket's URL of it, or its bytes (the bucket did not take them). */
export type Thumbnail = { path: string } | { url: string } | { bytes: Uint8Array }

/** A thumbnail is a small JPEG; a friend's larger answer is not kept. */
const THUMBNAIL_MAX_BYTES = 2 * 1024 * 1024

/** The thumbnails of one pod. */
export class Thumbnails {
  constructor(
    private readonly rows: VideoStore,
    private readonly files: VideoFiles,
    private readonly fingerprint: string,
    private readonly outbound: Outbound,
    /** A video of the index. */
    private readonly video: (id: string) => Video | undefined,
  ) {}

  /**
   * Removes cached thumbnails in the data folder of videos that left the index (a friend
   * removed them, or the friendship ended) since the last start.
   */
  prune(): number {
    let removed = 0
    for (const name of readdirSync(this.files.thumbnails)) {
      const id = parseThumbnailFile(name)
      if (!id || !this.rows.has(id)) {
        rmSync(join(this.files.thumbnails, name), { force: true })
        removed++
      }
    }
    return removed
  }

  /** The keys of friends' thumbnails cached in the bucket (the start's sweep keeps them). */
  cachedKeys(): string[] {
    return this.rows.cachedThumbnails().map(thumbnailKey)
  }

  /** Forgets the cached thumbnails whose objects the start's sweep did not find. */
  keepPresent(present: ReadonlySet<string>): void {
    this.rows.forgetThumbnails(this.rows.cachedThumbnails().filter((id) => !present.has(thumbnailKey(id))))
  }

  /** A video's thumbnail; undefined when there is none. */
  async of(id: string): Promise<Thumbnail | undefined> {
    const key = thumbnailKey(id)
    const path = this.files.path(key)
    if (existsSync(path) && statSync(path).isFile()) return { path }
    const video = this.video(id)
    if (!video) return undefined
    const storage = this.files.storage
    // An own one, or a friend's cached in the bucket: the bucket's URL of it.
    const own = video.podFingerprint === this.fingerprint
    const url = own || this.rows.isThumbnailCached(id) ? storage.viewerUrl(key) : undefined
    if (url || own) return url ? { url } : undefined
    const res = await this.outbound.get(thumbnailUrl(video.podUrl, id), { maxBytes: THUMBNAIL_MAX_BYTES, accept: 'image/jpeg' })
    // Only a JPEG of sane size is kept: the origin is a friend, not a trusted file source.
    if (!res.ok || res.value.status !== 200 || res.value.body[0] !== 0xff || res.value.body[1] !== 0xd8) return undefined
    // The video may have left the index meanwhile: then nothing is kept.
    if (!this.video(id)) return undefined
    let kept: { path: string } | { url: string | undefined }
    try {
      kept = await storage.keepCopy(key, res.value.body, 'image/jpeg')
    } catch {
      // The bucket does not take it now: this reader gets the bytes, a later one tries again.
      return { bytes: res.value.body }
    }
    // A file of the data folder is found as it is; an object of the bucket by its row, written
    // only if the video is still there (its cascade removes the row with it).
    if ('path' in kept) return kept
    if (!this.rows.cacheThumbnail(id) && !this.video(id)) await storage.drop([key])
    return kept.url ? { url: kept.url } : { bytes: res.value.body }
  }
}
