/**
 * The admin page's re-packaging progress (src/transcoding/repackage.ts): how many of the
 * videos stored by earlier releases play by their streams yet, with one progress bar over
 * all their jobs, polled every 2 s while any job waits or runs. Nothing when no video of an
 * earlier release was ever found.
 */
import { useEffect, useState } from 'preact/hooks'
import { api, ApiError } from '../lib/api'
import { sentence } from '../lib/format'
import type { RepackProgress } from '../lib/types'

const POLL_MS = 2000

export function Repackaging() {
  const [p, setP] = useState<RepackProgress | undefined>()
  const [error, setError] = useState<string | undefined>()
  useEffect(() => {
    let live = true
    let timer: ReturnType<typeof setTimeout> | undefined
    const load = async () => {
      try {
        const r = await api<RepackProgress>('/api/v1/videos/repackaging')
        if (!live) return
        setP(r)
        setError(undefined)
        if (r.queued + r.running > 0) timer = setTimeout(load, POLL_MS)
      } catch (e) {
        if (!live) return
        setError(e instanceof ApiError ? sentence(e.message) : 'The re-packaging progress could not be loaded.')
        timer = setTimeout(load, POLL_MS)
      }
    }
    load()
    return () => {
      live = false
      clearTimeout(timer)
    }
  }, [])
  if (!error && !p?.videos) return null
  const percent = p ? Math.floor(p.progress * 100) : 0
  const state = !p ? '' : p.queued + p.running > 0 ? `${p.running} running, ${p.queued} waiting` : p.failed ? `${p.failed} failed` : 'done'
  return (
    <section aria-labelledby="repackaging-title" class="section repackaging" data-state={p && p.queued + p.running === 0 ? 'done' : 'running'}>
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
