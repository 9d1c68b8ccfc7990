/**
 * Transcoding jobs with a progress bar each (the upload page's new video, the admin page's
 * queue), and the polling that keeps them current while any is unfinished.
 */
import type { ComponentChildren } from 'preact'
import { useEffect, useState } from 'preact/hooks'
import { sentence } from '../lib/format'
import type { TranscodeJob } from '../lib/types'

const STATE_TEXT: Record<TranscodeJob['state'], string> = {
  queued: 'waiting',
  running: 'transcoding',
  done: 'ready',
  failed: 'failed',
}

/** Whether a job may still change. */
export const unfinished = (j: TranscodeJob) => j.state === 'queued' || j.state === 'running'

/** What a job makes: a rendition's height, or the stream of the original (a package job's remux). */
const made = (j: TranscodeJob) => (j.kind === 'package' ? 'stream of the original' : `${j.resolution}p`)

/** How far a job is, in whole percent (a queued job is at 0, a done one at 100). */
const percent = (j: TranscodeJob) => (j.state === 'done' ? 100 : Math.floor(Math.min(1, Math.max(0, j.progress)) * 100))

/**
 * Calls `load` now and every `everyMs` while the last answer (or `initial`) has an unfinished
 * job; `load` returns the jobs it got (undefined: it failed, try again at the next tick).
 */
export function usePollJobs(load: () => Promise<TranscodeJob[] | undefined>, initial: TranscodeJob[] | undefined, everyMs: number, deps: unknown[]): void {
  useEffect(() => {
    let live = true
    let timer: ReturnType<typeof setTimeout> | undefined
    const tick = async () => {
      const jobs = await load()
      // Stop once every job is done or failed: nothing will move any more.
      if (live && (jobs === undefined || jobs.some(unfinished))) timer = setTimeout(tick, everyMs)
    }
    if (initial === undefined || initial.some(unfinished)) tick()
    return () => {
      live = false
      clearTimeout(timer)
    }
  }, deps)
}

/**
 * The jobs as a list: per job its height (or the original's stream), state and a
 * determinate <progress> (labelled, so screen readers say which rendition it is), and a
 * failed job's error in ffmpeg's words. `title(job)` names the video (the admin list mixes videos).
 */
export function TranscodeJobList({ jobs, title }: { jobs: TranscodeJob[]; title?: (j: TranscodeJob) => ComponentChildren }) {
  return (
    <ul class="jobs">
      {jobs.map((j) => {
        const id = `job-${j.id}`
        return (
          <li key={j.id} class={`job job-${j.state}`} data-state={j.state} data-resolution={j.resolution}>
            <div class="job-head">
              <label for={id}>
                {title && <span class="job-video">{title(j)} </span>}
                <strong>{made(j)}</strong>
              </label>
              <span class="job-state">
                {j.kind === 'package' && j.state === 'running' ? 'remuxing' : STATE_TEXT[j.state]}
                {j.state === 'running' && ` ${percent(j)}%`}
              </span>
            </div>
            <progress id={id} max={100} value={percent(j)} aria-valuetext={`${made(j)}: ${STATE_TEXT[j.state]}, ${percent(j)}%`} />
            {j.state === 'failed' && j.error && <p class="error-text job-error">{sentence(j.error)}</p>}
          </li>
        )
      })}
    </ul>
  )
}

/** Polling state for one video's jobs (upload page): its jobs, refreshed every second until all are finished. */
export function useVideoJobs(videoId: string, initial: TranscodeJob[] | undefined, fetchJobs: (id: string) => Promise<TranscodeJob[] | undefined>): TranscodeJob[] | undefined {
  const [jobs, setJobs] = useState(initial)
  usePollJobs(
    async () => {
      const j = await fetchJobs(videoId)
      if (j) setJobs(j)
      return j
    },
    initial,
    1000,
    [videoId],
  )
  return jobs
}
