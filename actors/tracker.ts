/**
 * The tracker actor: owns the pod's BitTorrent tracker and the set of info hashes it
 * serves (this pod's own videos). The videos service tells it of uploads and deletions
 * through the system mailbox (`system.get('tracker')`).
 */
import { fromCallback } from 'xstate'
import type { Tracker } from '../src/torrents/tracker'

export type TrackerEvent = { type: 'tracker.video.added'; infoHash: string } | { type: 'tracker.video.removed'; infoHash: string }

export interface TrackerActorInput {
  tracker: Tracker
  /** The info hashes the tracker accepts; the tracker's filter reads this same set. */
  allowed: Set<string>
}

/** Keeps the tracker's allowed set in step with the pod's videos; closes the tracker on stop. */
export const trackerLogic = fromCallback<TrackerEvent, TrackerActorInput>(({ input, receive }) => {
  receive((event) => {
    if (event.type === 'tracker.video.added') input.allowed.add(event.infoHash)
    else {
      input.allowed.delete(event.infoHash)
      input.tracker.forget(event.infoHash)
    }
  })
  return () => void input.tracker.close()
})
