/**
 * The transcoder actor: runs transcoding jobs from the durable queue, `concurrency` at a
 * time. The queue is the state: jobs that were running when the pod stopped are queued again
 * at start, so a restart finishes them. The videos service tells it of new jobs (through the
 * pod actor). How a job is run (ffmpeg, its time limit) and stored is the pod's, given as
 * ports: this machine only schedules. A `package` job (re-packaging an original into its
 * stream) is one port, `repackage`, that makes and stores its result; a `transcode` job is
 * two, `transcode` then `finish`.
 */
import { rmSync } from 'node:fs'
import { fromCallback } from 'xstate'
import type { Result } from '../src/shared/errors'
import type { ActorLog } from './ports'

export type TranscoderEvent = { type: 'transcoder.job.added' }

/** A job as the transcoder schedules it. */
export interface TranscoderJob {
  id: number
  video: string
  resolution: number
  kind: 'transcode' | 'package'
}

/** The durable queue, as the transcoder uses it. */
export interface TranscoderQueue {
  /** Jobs left running by a stop are queued again; returns how many. */
  resume(): number
  /** The next queued job, marked running; undefined when none is queued. */
  claim(): TranscoderJob | undefined
  progress(id: number, fraction: number): void
  /** Marks a job failed: `error` is what anyone may read, `detail` (the tool's words) what admins may. */
  fail(id: number, error: string, detail?: string): void
  /** Puts a running job back in the queue, to be run again later. */
  requeue(id: number): void
}

/**
 * What a run of the transcoding tool came to: done, or why not (`message` for anyone, `detail`,
 * the tool's words, for admins); `later` when the job could not be done now but can be (the
 * disk was full): it goes back to the queue instead of failing.
 */
export type TranscodeOutcome = Result<void, { message: string; detail?: string; later?: boolean }>

/** What the transcoder needs from the pod. */
export interface TranscoderActorInput {
  queue: TranscoderQueue
  concurrency: number
  /** The original file of an own video (its key in the pod's store) and its duration, if it still exists. */
  source(video: string): { key: string; duration: number } | undefined
  /** A fresh temporary path for an output. */
  tempPath(): string
  /** Runs one job to `output`; reports progress (0 to 1); ends early when `signal` aborts. */
  transcode(job: TranscoderJob, source: { key: string; duration: number }, output: string, onProgress: (fraction: number) => void, signal: AbortSignal): Promise<TranscodeOutcome>
  /** Stores a finished rendition (torrent, files, rows, announcements). */
  finish(job: TranscoderJob, output: string): Promise<void>
  /**
   * Runs a `package` job to its end, stored and announced; ends early, storing nothing, when
   * `signal` aborts (the job then stays running in the queue, resumed at the next start).
   */
  repackage(job: TranscoderJob, source: { key: string; duration: number }, onProgress: (fraction: number) => void, signal: AbortSignal): Promise<TranscodeOutcome>
  /** Whether an error thrown by a job is one of the moment (the disk full): the job is queued again rather than failed. */
  later(e: unknown): boolean
  log: ActorLog
}

/** How often a running job's progress is written to the database. */
const PROGRESS_EVERY_MS = 250

export const transcoderLogic = fromCallback<TranscoderEvent, TranscoderActorInput>(({ input, receive }) => {
  const running = new Map<number, AbortController>()
  let stopped = false
  const resumed = input.queue.resume()
  if (resumed) input.log.info('transcoder.resumed', { jobs: resumed })

  const run = async (job: TranscoderJob) => {
    const source = input.source(job.video)
    if (!source) return input.queue.fail(job.id, 'the original file is missing')
    const output = input.tempPath()
    const abort = new AbortController()
    running.set(job.id, abort)
    input.log.info('transcoder.job.started', { job: job.id, video: job.video, resolution: job.resolution })
    let last = 0
    const onProgress = (fraction: number) => {
      if (stopped || Date.now() - last < PROGRESS_EVERY_MS) return
      last = Date.now()
      input.queue.progress(job.id, Math.min(0.99, fraction))
    }
    const work = job.kind === 'package' ? input.repackage(job, source, onProgress, abort.signal) : input.transcode(job, source, output, onProgress, abort.signal)
    const outcome = await work.finally(() => running.delete(job.id))
    // Ended by a stop: the job stays 'running' in the database and is resumed at the next start.
    if (stopped) return rmSync(output, { force: true })
    if (!outcome.ok && outcome.error.later) return putBack(job, output, outcome.error.message)
    if (!outcome.ok) {
      rmSync(output, { force: true })
      const { message, detail } = outcome.error
      input.queue.fail(job.id, message, detail)
      input.log.warn('transcoder.job.failed', { job: job.id, video: job.video, error: message, detail })
      return
    }
    if (job.kind === 'package') return input.log.info('transcoder.job.done', { job: job.id, video: job.video, kind: job.kind })
    try {
      await input.finish(job, output)
      input.log.info('transcoder.job.done', { job: job.id, video: job.video, resolution: job.resolution })
    } catch (e) {
      if (input.later(e)) return putBack(job, output, (e as Error).message)
      rmSync(output, { force: true })
      input.queue.fail(job.id, (e as Error).message)
      input.log.warn('transcoder.job.failed', { job: job.id, video: job.video, error: (e as Error).message })
    }
  }

  /** A job that could not be done now: its output goes, the job waits in the queue (the pod's claim holds it back while the disk is full). */
  const putBack = (job: TranscoderJob, output: string | undefined, reason: string) => {
    if (output) rmSync(output, { force: true })
    input.queue.requeue(job.id)
    input.log.warn('transcoder.job.postponed', { job: job.id, video: job.video, reason })
  }

  const pump = () => {
    while (!stopped && running.size < input.concurrency) {
      const job = input.queue.claim()
      if (!job) return
      run(job)
        .catch((e) => {
          // A job cut by a stop (the database may be closed by now) stays 'running' and is resumed at the next start.
          if (stopped) return
          if (input.later(e)) return putBack(job, undefined, (e as Error).message)
          input.queue.fail(job.id, (e as Error).message)
          input.log.error('transcoder.job.crashed', { job: job.id, error: e })
        })
        .finally(pump)
    }
  }

  receive(() => pump())
  setTimeout(pump, 0)
  return () => {
    stopped = true
    for (const abort of running.values()) abort.abort()
  }
})
