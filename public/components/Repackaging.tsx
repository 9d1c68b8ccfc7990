/**
 * The admin page's re-packaging progress (src/transcoding/repackage.ts): how many of the
 * videos stored by earlier releases play by their streams yet, with one progress bar over
 * all their jobs, polled every 2 s while any job waits or runs. Nothing when no video of an
 * earlier release was ever found.
 */
import { usePolled } from '../lib/refresh'
import type { RepackProgress } from '../lib/types'

const POLL_MS = 2000

export function Repackaging() {
  const unfinished = (r: RepackProgress) => r.queued + r.running > 0
  const { value: p, error } = usePolled<RepackProgress>('/api/v1/videos/repackaging', POLL_MS, unfinished, 'The re-packaging progress could not be loaded.')
  if (!error && !p?.videos) return null
  const percent = p ? Math.floor(p.progress * 100) : 0
  const state = !p ? '' : unfinished(p) ? `${p.running} running, ${p.queued} waiting` : p.failed ? `${p.failed} failed` : 'done'
  return (
    <section aria-labelledby="repackaging-title" class="section repackaging" data-state={p && !unfinished(p) ? 'done' : 'running'}>
      <h2 id="repackaging-title">Re-packaging</h2>
      {error && <p class="error-text">{error}</p>}
      {p && (
        <div class={`job${p.failed ? ' job-failed' : ''}`}>
          <p class="muted">
            Videos stored by an earlier release get streams, so that they play adaptively; until then they play by their file. Failed jobs are listed under
            Transcoding.
          </p>
          <div class="job-head">
            <label for="repackaging-progress">
              <strong>
                {p.videosDone} of {p.videos} videos ready
              </strong>
            </label>
            <span class="job-state">{state}</span>
          </div>
          <progress id="repackaging-progress" max={100} value={percent} aria-valuetext={`${p.videosDone} of ${p.videos} videos ready, ${percent}%`} />
        </div>
      )}
    </section>
  )
}
