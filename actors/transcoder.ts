/**
 * The transcoder actor: runs ffmpeg jobs from the durable queue, `concurrency` at a time.
 * The queue is the state: jobs that were running when the pod stopped are queued again at
 * start, so a restart finishes them. The videos service tells it of new jobs through the
 * system mailbox (`system.get('transcoder')`).
 */
import { rmSync } from 'node:fs'
import { fromCallback } from 'xstate'
import type { Logger } from '../src/shared/log'
import { stderrTail } from '../src/media/exec'
import { transcodeArgs, type TranscodeJob, type TranscodeQueue } from '../src/transcoding/queue'

export type TranscoderEvent = { type: 'transcoder.job.added' }

/** What the transcoder needs from the videos service. */
export interface TranscoderActorInput {
  queue: TranscodeQueue
  concurrency: number
  /** The original file of an own video and its duration, if it still exists. */
  source(video: string): { path: string; duration: number } | undefined
  /** A fresh temporary path for an output. */
  tempPath(): string
  /** Stores a finished rendition (torrent, files, rows, announcements). */
  finish(job: TranscodeJob, output: string): Promise<void>
  log: Logger
}

/** How often a running job's progress is written to the database. */
const PROGRESS_EVERY_MS = 250

export const transcoderLogic = fromCallback<TranscoderEvent, TranscoderActorInput>(({ input, receive }) => {
  const running = new Map<number, Bun.Subprocess>()
  let stopped = false
  const resumed = input.queue.resume()
  if (resumed) input.log.info('transcoder.resumed', { jobs: resumed })

  const run = async (job: TranscodeJob) => {
    const source = input.source(job.video)
    if (!source) {
      input.queue.fail(job.id, 'the original file is missing')
      return
    }
    const output = input.tempPath()
    const proc = Bun.spawn(transcodeArgs(source.path, output, job.resolution), { stdout: 'pipe', stderr: 'pipe', stdin: 'ignore' })
    running.set(job.id, proc)
    input.log.info('transcoder.job.started', { job: job.id, video: job.video, resolution: job.resolution })
    const stderr = new Response(proc.stderr).text()
    let last = 0
    let buffered = ''
    for await (const chunk of proc.stdout) {
      buffered += new TextDecoder().decode(chunk)
      const lines = buffered.split('\n')
      buffered = lines.pop()!
      for (const line of lines) {
        const m = /^out_time_us=(\d+)/.exec(line)
        if (m && source.duration > 0 && Date.now() - last > PROGRESS_EVERY_MS) {
          last = Date.now()
          input.queue.progress(job.id, Math.min(0.99, Number(m[1]) / 1e6 / source.duration))
        }
      }
    }
    const code = await proc.exited
    running.delete(job.id)
    // Killed by a stop: the job stays 'running' in the database and is resumed at the next start.
    if (stopped) return rmSync(output, { force: true })
    if (code !== 0) {
      rmSync(output, { force: true })
      const error = `ffmpeg could not transcode to ${job.resolution}p: ${stderrTail(await stderr) || `exit code ${code}`}`
      input.queue.fail(job.id, error)
      input.log.warn('transcoder.job.failed', { job: job.id, video: job.video, error })
      return
    }
    try {
      await input.finish(job, output)
      input.log.info('transcoder.job.done', { job: job.id, video: job.video, resolution: job.resolution })
    } catch (e) {
      rmSync(output, { force: true })
      input.queue.fail(job.id, (e as Error).message)
      input.log.warn('transcoder.job.failed', { job: job.id, video: job.video, error: e as Error })
    }
  }

  const pump = () => {
    while (!stopped && running.size < input.concurrency) {
      const job = input.queue.claim()
      if (!job) return
      run(job)
        .catch((e) => {
          input.queue.fail(job.id, (e as Error).message)
          input.log.error('transcoder.job.crashed', { job: job.id, error: e as Error })
        })
        .finally(pump)
    }
  }

  receive(() => pump())
  setTimeout(pump, 0)
  return () => {
    stopped = true
    for (const proc of running.values()) proc.kill('SIGKILL')
  }
})
