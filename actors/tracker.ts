/**
 * The tracker actor: keeps the set of info hashes the pod's tracker serves (its own videos
 * and the copies it keeps) in step with uploads, deletions and copies, and closes the
 * tracker when the pod stops.
 */
import { fromCallback } from 'xstate'

export type TrackerEvent = { type: 'tracker.video.added'; infoHash: string } | { type: 'tracker.video.removed'; infoHash: string }

/** What the tracker actor needs: the tracker's own controls and the set its filter reads. */
export interface TrackerActorInput {
  tracker: { forget(infoHash: string): void; close(): Promise<void> | void }
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
