/**
 * Remote transcoding runners (docs/runners.md): an admin makes registration tokens; a runner
 * registers with one and gets a secret of its own; it then claims queued jobs (a lease of
 * `transcoding.leaseMs`, extended by each report), downloads the source, and uploads its
 * result, which is verified (ffprobe) and repackaged by the pod's own ffmpeg (a copy, no
 * re-encode: the playlist is then the pod's, not the runner's) before it is published the
 * way a local result is. Leases that run out are swept back to the queue (src/transcoding/queue.ts).
 */
import { rmSync } from 'node:fs'
import type { Chore } from '../../actors/housekeeper'
import type { PodEvents } from '../../actors/pod'
import { toolLimits } from '../media/limits'
import { packageCopy } from '../media/remux'
import type { Config } from '../shared/config'
import { DomainError, ok, type Result } from '../shared/errors'
import type { Logger } from '../shared/log'
import type { LeaseCheck, LeaseRefusal, TranscodeQueue } from '../transcoding/queue'
import type { MediaTools } from '../media/tools'
import type { Transcoding } from '../transcoding/service'
import type { Videos } from '../videos/service'
import type { VideoStore } from '../videos/store'
import { segmentUri } from '../videos/streams'
import type { RunnerInfo, RunnerJob, TokenInfo } from './model'
import type { Runner, RunnerStore } from './store'
import { verifyResult, type Original } from './verify'

/** How often a result upload in progress extends its lease (a slow link must not lose it). */
const EXTEND_EVERY_MS = 1000

const LEASE_ERRORS = {
  not_found: new DomainError('not_found', 'not_found', 'no such transcoding job'),
  not_your_lease: new DomainError('conflict', 'not_your_lease', 'this job is not leased to this runner (any more): drop it'),
  lease_expired: new DomainError('conflict', 'lease_expired', 'the lease on this job expired: it went back to the queue; drop it'),
} as const

/** The job a lease check found, or its refusal thrown. */
function held<T>(check: Result<T, LeaseRefusal>): T {
  if (!check.ok) throw LEASE_ERRORS[check.error]
  return check.value
}

/** What the runners feature is built from. */
export interface RunnersDeps {
  config: Config
  store: RunnerStore
  /** The jobs' queue, which holds the leases. */
  queue: TranscodeQueue
  videos: Videos
  /** The videos' tables. */
  videoRows: VideoStore
  transcoding: Transcoding
  /** ffmpeg and ffprobe: without them no job is leased (a result could not be checked). */
  media: Pick<MediaTools, 'ready'>
  actors: PodEvents
  log: Logger
}

/** The runners of one pod. */
export class Runners {
  private readonly config: Config
  readonly store: RunnerStore
  private readonly queue: TranscodeQueue
  private readonly videos: Videos
  private readonly videoRows: VideoStore
  private readonly transcoding: Transcoding
  private readonly media: Pick<MediaTools, 'ready'>
  private readonly actors: PodEvents
  private readonly log: Logger

  constructor(deps: RunnersDeps) {
    ;({
      config: this.config, store: this.store, queue: this.queue, videos: this.videos, videoRows: this.videoRows, transcoding: this.transcoding,
      media: this.media, actors: this.actors, log: this.log,
    } = deps)
  }

  /**
   * The housekeeper's chores: leases that ran out go back to the queue, and queued jobs that
   * waited long enough for a runner go to this pod's transcoder.
   */
  chores(): Chore[] {
    const run = () => {
      const expired = this.queue.sweepLeases()
      if (expired) this.log.info('runner.leases.expired', { jobs: expired })
      if (this.queue.anyQueued()) this.actors.send({ type: 'transcoder.job.added' })
    }
    return [{ name: 'runner-leases', everyMs: Math.min(1000, this.config.transcoding.leaseMs / 2), run }]
  }

  createToken(name: string): TokenInfo & { token: string } {
    return this.store.createToken(name)
  }

  tokens(): TokenInfo[] {
    return this.store.tokens()
  }

  revokeToken(id: number): void {
    if (!this.store.revokeToken(id)) throw new DomainError('not_found', 'not_found', 'no such registration token')
    this.actors.send({ type: 'transcoder.job.added' })
  }

  runners(): RunnerInfo[] {
    return this.store.runners()
  }

  removeRunner(id: number): void {
    if (!this.store.removeRunner(id)) throw new DomainError('not_found', 'not_found', 'no such runner')
    this.actors.send({ type: 'transcoder.job.added' })
  }

  register(token: string, name: string): { id: number; name: string; secret: string } {
    const made = this.store.register(token, name)
    if (!made) throw new DomainError('unauthenticated', 'invalid_token', 'the registration token is invalid or revoked; ask the pod admin for one')
    this.log.info('runner.registered', { runner: made.runner.id, name })
    return { ...made.runner, secret: made.secret }
  }

  /** The runner of a request (`Authorization: Bearer <secret>`); 401 for anything else. */
  authenticate(request: Request): Runner {
    const m = request.headers.get('authorization')?.match(/^Bearer\s+(\S+)$/i)
    const runner = m && this.store.authenticate(m[1]!)
    if (!runner) throw new DomainError('unauthenticated', 'invalid_token', 'unknown, revoked or removed runner: register again with a new token')
    return runner
  }

  /** Leases the next queued job to `runner`; null when there is none, or the pod could not check its result (no ffprobe). */
  claim(runner: Runner): RunnerJob | null {
    if (!this.media.ready) return null
    const lease = this.queue.leaseTo(runner.id, this.config.transcoding.leaseMs)
    if (!lease) return null
    this.log.info('runner.job.leased', { runner: runner.id, job: lease.id, video: lease.video, resolution: lease.resolution })
    return { ...lease, duration: this.videoRows.summary(lease.video)?.duration ?? 0 }
  }

  /**
   * The original file of a leased job, for the runner to download: from the data folder, or
   * streamed from the bucket (not a redirect: the runner's bearer secret must not follow it there).
   */
  source(runner: Runner, id: number, lease: string): Blob | Response {
    const job = held(this.queue.checkLease(runner.id, id, lease))
    const file = this.videos.localFile(job.video)
    if (!file) throw new DomainError('not_found', 'not_found', 'the original of this video is gone')
    const storage = this.videos.files.storage
    const where = storage.source(file.key)
    if (where.kind === 'file') return Bun.file(where.path)
    storage.mustBeAvailable()
    return new Response(storage.stream(file.key, 0, Infinity), { headers: { 'content-type': file.mime } })
  }

  /** A progress report: extends the lease; returns its new expiry. */
  progress(runner: Runner, id: number, lease: string, progress: number): { leaseExpiresAt: string } {
    const extended = this.queue.extendLease(runner.id, id, lease, this.config.transcoding.leaseMs, Math.min(0.99, progress))
    return { leaseExpiresAt: held(extended).leaseExpiresAt }
  }

  /**
   * The runner's ffmpeg failed: the job goes back to the queue for another try (one broken or
   * hostile runner must not fail every job), and fails with the last runner's words (for
   * admins) once runners have tried it MAX_ATTEMPTS times.
   */
  fail(runner: Runner, id: number, lease: string, error: string): void {
    held(this.queue.releaseLease(runner.id, id, lease, `runners could not transcode to this height`, { detail: error }))
    this.log.warn('runner.job.failed', { runner: runner.id, job: id, detail: error })
    this.actors.send({ type: 'transcoder.job.added' })
  }

  /**
   * A runner that stops (SIGTERM) hands its job back: queued again at once, not when the
   * lease runs out. The attempt counts, as an expired lease's does (a runner that takes jobs
   * and hands them back must not hold them forever).
   */
  release(runner: Runner, id: number, lease: string): void {
    held(this.queue.releaseLease(runner.id, id, lease, 'runners did not finish this job'))
    this.log.info('runner.job.released', { runner: runner.id, job: id })
    this.actors.send({ type: 'transcoder.job.added' })
  }

  /**
   * A result upload (the body is the rendition, an MP4). Refused before a byte is read for a
   * lease that is not held; streamed to a temporary file within `maxUploadBytes`; verified;
   * repackaged; published. A refused file is removed and its job queued again.
   */
  async result(runner: Runner, id: number, lease: string, request: Request): Promise<{ id: number; state: 'done' }> {
    const check = () => this.queue.extendLease(runner.id, id, lease, this.config.transcoding.leaseMs)
    const job = held(check())
    const tmp = this.videos.files.temp('.mp4')
    const output = this.videos.files.temp('.mp4')
    // A refused result costs the job one attempt: it is queued again for another runner (or the pod).
    const refuse = (error: DomainError, reason: string) => {
      this.queue.releaseLease(runner.id, id, lease, `runners' results were refused ${job.attempts} times`)
      this.log.warn('runner.result.refused', { runner: runner.id, job: id, reason })
      this.actors.send({ type: 'transcoder.job.added' })
      return error
    }
    try {
      await this.receive(request, tmp, check).catch((e) => {
        throw e instanceof DomainError && e.code === 'too_large' ? refuse(e, e.message) : e
      })
      const source = this.videos.localFile(job.video)
      if (!source) throw new DomainError('not_found', 'not_found', 'the original of this video is gone')
      // Checked against what was probed of the original at upload; a video of an earlier
      // release against the file (from the bucket, a whole copy in tmp/: ffprobe reads local files only).
      const known = this.original(job.video)
      const limits = toolLimits(this.config.media)
      const verdict = known ? await verifyResult(tmp, known, job.resolution, limits) : await this.videos.own.withLocalCopy(source.key, (original) => verifyResult(tmp, original, job.resolution, limits))
      if (!verdict.ok) throw refuse(new DomainError('invalid', 'bad_result', `result refused: ${verdict.error}`), verdict.error)
      held(check())
      const packaged = await packageCopy(tmp, output, segmentUri(job.video, job.resolution), { limits: toolLimits(this.config.media, known?.ok ? known.value.durationSeconds : 0) })
      rmSync(tmp, { force: true })
      await this.transcoding.publish(job, output, packaged, () => held(this.queue.checkLease(runner.id, id, lease)))
      this.log.info('runner.job.done', { runner: runner.id, job: id, video: job.video, resolution: job.resolution })
      return { id, state: 'done' }
    } finally {
      rmSync(tmp, { force: true })
      rmSync(output, { force: true })
    }
  }

  /**
   * What was probed of a video's original at upload, as a result is checked against it;
   * undefined for a video of an earlier release (its sound was not kept) or one gone.
   */
  private original(video: string): Original | undefined {
    const media = this.videoRows.ownMedia(video)
    if (!media || media.audio === null || !media.duration) return undefined
    return ok({ durationSeconds: media.duration, ...(media.audio ? { audioCodec: media.audio } : {}) })
  }

  /** Streams the body to `path` within the upload limit and the disk's margin, extending the lease as it comes. */
  private async receive(request: Request, path: string, extend: () => LeaseCheck): Promise<void> {
    const limit = this.config.maxUploadBytes
    const tooLarge = new DomainError('too_large', 'too_large', `a result may have at most ${limit} bytes`)
    const declared = Number(request.headers.get('content-length') ?? 0)
    if (declared > limit) throw tooLarge
    this.videos.files.disk.mustHaveRoom(declared, 'for this result')
    if (!request.body) throw new DomainError('invalid', 'invalid_request', 'send the result file as the body')
    const diskFull = this.videos.files.disk.watch('during this result')
    const writer = Bun.file(path).writer()
    let size = 0
    let extended = Date.now()
    try {
      for await (const chunk of request.body) {
        size += chunk.byteLength
        if (size > limit) throw tooLarge
        const full = diskFull(size)
        if (full) throw full
        writer.write(chunk)
        if (Date.now() - extended >= EXTEND_EVERY_MS) {
          held(extend())
          extended = Date.now()
        }
      }
    } finally {
      await writer.end()
    }
    if (size === 0) throw new DomainError('invalid', 'invalid_request', 'the result is empty')
  }
}
