/**
 * `seedpod runner serve`: the transcoding worker on another machine. It asks its pod for a
 * job (no public address needed: the runner only makes requests), downloads the source,
 * transcodes it with the pod's own ffmpeg code (src/transcoding/ffmpeg.ts, src/media/), and
 * uploads the result, reporting progress meanwhile, which keeps its lease. A pod that cannot
 * be reached is asked again with backoff (backoff.ts); a pod that refuses the lease (it
 * expired, or went to another) gets the job dropped; a pod that refuses the runner (401:
 * revoked or removed) ends the worker.
 */
import { mkdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { masterOf, playlistOf } from '../media/hls'
import type { Logger } from '../shared/log'
import { transcode } from '../transcoding/ffmpeg'
import { backoffDelay, type BackoffPolicy } from './backoff'
import { PodRefusal, PodUnreachable, RunnerClient, type RunnerCredentials } from './client'
import type { RunnerJob } from './model'

/** What a worker runs with. */
export interface WorkerOptions {
  credentials: RunnerCredentials
  /** Where sources and results are kept while a job runs (emptied at start). */
  workDir: string
  /** How often an idle runner asks for a job. */
  pollMs: number
  backoff: BackoffPolicy
  log: Logger
  /** Ends the worker: its ffmpeg is killed and its job handed back to the pod's queue. */
  signal: AbortSignal
  random?: () => number
}

/** Progress goes to the pod at most this often (the admin page shows it). */
const REPORT_EVERY_MS = 1000

/** How many times a download or an upload is tried while the pod cannot be reached. */
const TRANSFER_TRIES = 8

/** Sleeps `ms`, or less when `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms)
    function done() {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
    signal.addEventListener('abort', done, { once: true })
  })
}

/** Runs jobs until `signal` aborts; rejects with the pod's refusal when the runner is no longer registered. */
export async function serveRunner(opts: WorkerOptions): Promise<void> {
  const client = new RunnerClient(opts.credentials)
  const random = opts.random ?? Math.random
  rmSync(opts.workDir, { recursive: true, force: true })
  mkdirSync(opts.workDir, { recursive: true, mode: 0o700 })
  opts.log.info('runner.started', { pod: opts.credentials.pod, runner: opts.credentials.id })
  let failures = 0
  while (!opts.signal.aborted) {
    let job: RunnerJob | null
    try {
      job = await client.claim()
      if (failures) opts.log.info('runner.pod.back', { pod: opts.credentials.pod })
      failures = 0
    } catch (e) {
      if (!(e instanceof PodUnreachable)) throw e
      const wait = backoffDelay(opts.backoff, failures++, random())
      opts.log.warn('runner.pod.unreachable', { error: e.message, retryInMs: wait })
      await sleep(wait, opts.signal)
      continue
    }
    if (!job) {
      await sleep(opts.pollMs * (0.75 + random() / 2), opts.signal)
      continue
    }
    await runJob(client, job, opts, random).catch((e) => {
      if (e instanceof PodRefusal && e.status === 401) throw e
      opts.log.warn('runner.job.dropped', { job: job.id, error: (e as Error).message })
    })
  }
}

/** Tries `step` while the pod cannot be reached, with backoff; a refusal is thrown at once. */
async function persist<T>(step: () => Promise<T>, opts: WorkerOptions, random: () => number): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await step()
    } catch (e) {
      if (!(e instanceof PodUnreachable) || attempt + 1 >= TRANSFER_TRIES || opts.signal.aborted) throw e
      await sleep(backoffDelay(opts.backoff, attempt, random()), opts.signal)
    }
  }
}

async function runJob(client: RunnerClient, job: RunnerJob, opts: WorkerOptions, random: () => number): Promise<void> {
  const source = join(opts.workDir, `${job.id}.source`)
  const output = join(opts.workDir, `${job.id}.mp4`)
  const abort = new AbortController()
  const stop = () => abort.abort()
  opts.signal.addEventListener('abort', stop, { once: true })
  let fraction = 0
  let lost: Error | undefined
  let reported = 0
  // Reports keep the lease: at least three per lease, whether or not ffmpeg says anything new,
  // and one a second at most while it does. A pod that does not answer (restarting) is not a
  // lost lease: ffmpeg goes on, and the upload waits for the pod.
  const report = () => {
    reported = Date.now()
    client.progress(job, fraction).catch((e) => {
      if (e instanceof PodRefusal) {
        lost = e
        abort.abort()
      } else opts.log.warn('runner.report.failed', { job: job.id, error: (e as Error).message })
    })
  }
  const heartbeat = setInterval(report, Math.max(100, job.leaseMs / 3))
  const onProgress = (f: number) => {
    fraction = f
    if (Date.now() - reported >= REPORT_EVERY_MS) report()
  }
  opts.log.info('runner.job.started', { job: job.id, video: job.video, resolution: job.resolution })
  // Whether the pod knows how the job ended: a result, a failure, or a refusal of its own.
  let ended = false
  try {
    await persist(() => client.download(job, source), opts, random)
    const outcome = await transcode({ path: source, duration: job.duration }, output, job.resolution, onProgress, abort.signal)
    if (lost) throw lost
    if (opts.signal.aborted) return
    if (!outcome.ok) {
      const { message, detail } = outcome.error
      await client.fail(job, detail ? `${message}: ${detail}` : message)
      ended = true
      return
    }
    clearInterval(heartbeat)
    await persist(() => client.upload(job, output), opts, random)
    ended = true
    opts.log.info('runner.job.done', { job: job.id, video: job.video, resolution: job.resolution })
  } catch (e) {
    if (e instanceof PodRefusal) ended = true
    throw e
  } finally {
    clearInterval(heartbeat)
    opts.signal.removeEventListener('abort', stop)
    // Stopped mid-job: the job goes back to the queue now, not once its lease runs out.
    if (opts.signal.aborted && !ended && !lost)
      await client.release(job).then(
        () => opts.log.info('runner.job.released', { job: job.id }),
        (e) => opts.log.warn('runner.job.release.failed', { job: job.id, error: (e as Error).message }),
      )
    for (const path of [source, output, playlistOf(output), masterOf(output)]) rmSync(path, { force: true })
  }
}
