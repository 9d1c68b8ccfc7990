/**
 * This pod's side of the network index: its own videos go into the index at once and to
 * every friend's outbox in the same step, so a friend learns of each change exactly once.
 */
import type { Database } from 'bun:sqlite'
import type { Friends } from '../friends/service'
import { removeVideo, upsertVideo, type Video } from './model'

export class Videos {
  constructor(
    private readonly db: Database,
    private readonly friends: Friends,
    private readonly fingerprint: string,
    private readonly url: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** Adds or updates one of this pod's videos and tells every friend (`video.add` / `video.update`). */
  publish(video: Video, type: 'video.add' | 'video.update' = 'video.add'): void {
    if (video.podFingerprint !== this.fingerprint) throw new Error('only this pod\'s own videos can be published')
    this.db.transaction(() => {
      upsertVideo(this.db, video, this.url, this.now())
      this.friends.enqueue([{ type, data: video }])
    }).immediate()
    this.friends.wake()
  }

  /** Removes one of this pod's videos from the index and tells every friend (`video.remove`). */
  unpublish(id: string): boolean {
    const removed = this.db.transaction(() => {
      const gone = removeVideo(this.db, id, this.fingerprint)
      if (gone) this.friends.enqueue([{ type: 'video.remove', data: { id } }])
      return gone
    }).immediate()
    if (removed) this.friends.wake()
    return removed
  }
}
