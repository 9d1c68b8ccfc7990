/**
 * Transcoding: smaller renditions of own videos, made by the transcoder actor from the
 * durable queue (queue.ts) with ffmpeg (ffmpeg.ts), stored beside the original as files of
 * their own with their own torrents and HLS playlists (each rendition is a stream,
 * src/videos/streams.ts), and announced to friends with `video.update`.
 */
import type { Database } from 'bun:sqlite'
import type { PodEvents } from '../../actors/pod'
import type { TranscoderActorInput, TranscoderJob } from '../../actors/transcoder'
import type { User } from '../accounts/service'
import type { Friends } from '../friends/service'
import type { Config } from '../shared/config'
import { DomainError, fail } from '../shared/errors'
import type { Logger } from '../shared/log'
import { trackerUrls } from '../shared/urls'
import { makeTorrent } from '../torrents/torrent-file'
import { renditionFile } from '../storage/keys'
import { renditionUrls } from '../videos/renditions'
import { onTheWire, streamFields, type Videos } from '../videos/service'
import type { VideoStore } from '../videos/store'
import { needsTopRendition, segmentUri } from '../videos/streams'
import { readPackaged, renditionBytes, type StreamInfo } from '../media/hls'
import type { RunnerStore } from '../runners/store'
import type { MediaTools } from '../media/tools'
import { transcode } from './ffmpeg'
import { toolLimits } from '../media/limits'
import { isNoSpace } from '../storage/disk'
import { targetResolutions, type TranscodeJob, type TranscodeQueue } from './queue'
import { Repackaging, type RepackagingDeps } from './repackage'

/** What transcoding is built from: what re-packaging is, and the runners' tokens. */
export interface TranscodingDeps extends Omit<RepackagingDeps, 'now'> {
  runners: RunnerStore
  /** ffmpeg and ffprobe: without them the pod's own transcoder takes no job (nor do runners: runners/service.ts). */
  media: Pick<MediaTools, 'ready'>
  now?: () => number
}

/** Transcoding of one pod's videos. */
export class Transcoding {
  /** The room (bytes above the disk's margin) the last job postponed for lack of it needed; 0 when none waits for room. */
  private roomWanted = 0
  private readonly db: Database
  private readonly videoRows: VideoStore
  private readonly config: Config
  private readonly videos: Videos
  private readonly friends: Friends
  readonly queue: TranscodeQueue
  /** The re-packaging of videos of earlier releases (repackage.ts). */
  readonly repackaging: Repackaging
  private readonly actors: PodEvents
  private readonly runners: RunnerStore
  private readonly media: Pick<MediaTools, 'ready'>
  private readonly now: () => number

  constructor(deps: TranscodingDeps) {
    ;({
      db: this.db, videoRows: this.videoRows, config: this.config, videos: this.videos, friends: this.friends, queue: this.queue,
      actors: this.actors, runners: this.runners, media: this.media, now: this.now = Date.now,
    } = deps)
    this.repackaging = new Repackaging({ db: this.db, videoRows: this.videoRows, config: this.config, videos: this.videos, friends: this.friends, queue: this.queue, actors: this.actors, now: this.now })
  }

  /**
   * Queues (again) the renditions of an own video that are missing or failed, and its
   * re-packaging if that failed (owner or admin); returns its jobs. Transcoding off: a conflict.
   */
  requeue(id: string, user: User): TranscodeJob[] {
    this.videos.mustOwn(id, user)
    if (!this.config.transcoding.enabled) throw new DomainError('conflict', 'transcoding_disabled', 'transcoding is off on this pod (transcoding.enabled = false)')
    const height = this.videoRows.ownMedia(id)?.height ?? 0
    this.db.transaction(() => {
      this.queue.dropFailed(id)
      this.repackaging.scan(id)
      const have = new Set(this.videoRows.renditions(id).map((f) => f.resolution))
      // An original waiting for its package job: that job queues the top rendition if it is needed.
      const packaging = this.queue.of(id).some((j) => j.kind === 'package' && j.state !== 'done')
      const top = !packaging && needsTopRendition(this.videoRows.streams(id).find((s) => s.rendition === 0))
      this.queue.enqueue(id, targetResolutions(this.config.transcoding.resolutions, height, top).filter((r) => !have.has(r)))
    }).immediate()
    this.actors.send({ type: 'transcoder.job.added' })
    return this.queue.of(id)
  }

  /** Transcoding jobs, unfinished first, each with its video's name and, failed, ffmpeg's words (admin page). */
  jobs(): (TranscodeJob & { name?: string; detail?: string })[] {
    return this.queue.list().map((j) => {
      const row = this.videoRows.summary(j.video)
      return row ? { ...j, name: row.name } : j
    })
  }

  /** What the transcoder actor runs on. */
  actorInput(log: Logger): TranscoderActorInput {
    const queue = this.queue
    return {
      queue: { resume: () => queue.resume(), claim: () => this.claimLocal(), progress: (id, f) => queue.progress(id, f), fail: (id, e, d) => queue.fail(id, e, d), requeue: (id) => queue.requeue(id) },
      concurrency: this.config.transcoding.concurrency,
      source: (video) => {
        const file = this.videos.localFile(video)
        return file ? { key: file.key, duration: this.videoRows.summary(video)?.duration ?? 0 } : undefined
      },
      tempPath: () => this.videos.files.temp('.mp4'),
      // With the original in a bucket, ffmpeg works on a copy in tmp/.
      transcode: async (job, source, output, onProgress, signal) => {
        // What the rendition may take must be free: else the job waits until it is.
        const need = renditionBytes(job.resolution, source.duration)
        if (this.videos.files.disk.room() < need) {
          this.roomWanted = need
          return fail({ message: `the disk has less than the ${need} bytes this rendition may take above its margin (disk.minFreeBytes)`, later: true })
        }
        this.roomWanted = 0
        const opts = { limits: toolLimits(this.config.media, source.duration), diskFull: () => this.videos.files.disk.room() < 0 }
        const outcome = await this.videos.own.withLocalCopy(source.key, (path) => transcode({ path, duration: source.duration }, output, job.resolution, onProgress, signal, opts))
        // Ended with the disk below its margin: ffmpeg's HLS muxer can meet a full disk, write
        // nothing more, and still exit 0. Done again later, when twice the estimate is free.
        if (outcome.ok ? this.videos.files.disk.room() >= 0 : !outcome.error.later) return outcome
        this.roomWanted = 2 * need
        return fail({ message: `the disk filled up transcoding to ${job.resolution}p; it is done again once space is freed`, later: true })
      },
      finish: (job, output) => this.addRendition(job, output),
      // With the disk below its margin, a failure to store is the disk's (a silent ENOSPC leaves an empty playlist).
      later: (e) => isNoSpace(e) || (e instanceof DomainError && e.kind === 'insufficient_storage') || this.videos.files.disk.room() < 0,
      repackage: (job, source, onProgress, signal) => this.repackaging.run(job, source, onProgress, signal),
      log,
    }
  }

  /**
   * The pod's own transcoder takes a job: with `transcoding.local` off, only a package job
   * (runners do not take those); while a runner is in contact (within a lease's time), only a
   * package job or one that has waited `runnerWaitMs` for one. Without ffmpeg, none: the jobs
   * wait for the pod's restart with ffmpeg installed.
   */
  private claimLocal(): TranscodeJob | undefined {
    if (!this.media.ready) return undefined
    const t = this.config.transcoding
    // Jobs wait in the queue while the disk lacks what the last one postponed needs (the housekeeper offers them again every second).
    if (this.videos.files.disk.room() < Math.max(1, this.roomWanted)) return undefined
    if (!t.local) return this.queue.claim(null)
    return this.queue.claim(this.runners.anyActive(t.leaseMs) ? this.now() - t.runnerWaitMs : undefined)
  }

  /** A rendition made here: ffmpeg left its playlists beside `output`. */
  private addRendition(job: TranscoderJob, output: string): Promise<void> {
    const packaged = readPackaged(output, segmentUri(job.video, job.resolution))
    // Encoded with a keyframe every 2 s (src/media/hls.ts streamArgs): aligned by construction.
    return this.publish(job, output, { ...packaged, info: { ...packaged.info, aligned: true } })
  }

  /**
   * Stores a finished rendition at `output` with its stream's numbers and media playlist:
   * torrent, file, rows, job done, and `video.update` to friends. `held`, run inside the
   * transaction, throws when the job is no longer this result's (a runner's lease lost).
   */
  async publish(job: Pick<TranscoderJob, 'id' | 'video' | 'resolution'>, output: string, { info, playlist }: { info: StreamInfo; playlist: string }, held?: () => void): Promise<void> {
    const video = this.videos.get(job.video)
    if (!video) throw new DomainError('not_found', 'video_gone', 'the video was deleted while it was transcoded')
    const urls = renditionUrls(this.config.url, job.video, job.resolution, '0'.repeat(40), video.name)
    const torrent = await makeTorrent({ file: output, name: renditionFile(job.video, job.resolution), announce: trackerUrls(this.config.url), urlList: [urls.webseedUrl] })
    const file = this.videos.renditionFile(job.video, job.resolution, torrent.infoHash)
    // A rendition of an earlier release made again (repackage.ts): the new file takes its place.
    const previous = this.videos.localFile(job.video, job.resolution)
    const kept = await this.videos.own.keep(file, output, torrent.torrent, playlist)
    try {
      this.db.transaction(() => {
        // The video (and with it the job) may have been deleted while ffmpeg ran.
        if (!this.queue.exists(job.id)) throw new DomainError('not_found', 'video_gone', 'the video was deleted while it was transcoded')
        held?.()
        const files = [...this.videoRows.renditions(job.video).filter((f) => f.resolution !== job.resolution), { resolution: job.resolution, infoHash: torrent.infoHash, size: torrent.length }]
        this.videoRows.saveRenditions(job.video, files.sort((a, b) => a.resolution - b.resolution))
        this.videoRows.saveStream(job.video, { rendition: job.resolution, infoHash: torrent.infoHash, size: torrent.length, ...streamFields(info) })
        this.queue.done(job.id)
        this.videos.own.queueMove(file)
        this.friends.enqueue([{ type: 'video.update', data: onTheWire(this.videos.get(job.video)!) }])
      }).immediate()
    } catch (e) {
      // A file that took a previous one's place stays while the video does (a later run replaces it again).
      await this.videos.own.unkeep(previous && this.videos.localFile(job.video) ? kept.filter((k) => k !== file.key) : kept)
      throw e
    }
    if (previous && previous.infoHash !== file.infoHash) {
      await this.videos.files.storage.drop([previous.torrentKey])
      for (const type of ['seeder.video.removed', 'tracker.video.removed'] as const) this.actors.send({ type, infoHash: previous.infoHash })
    }
    this.videos.own.startMoves()
    this.friends.wake()
    this.actors.send({ type: 'tracker.video.added', infoHash: file.infoHash })
    this.actors.send({ type: 'seeder.video.added', file })
  }
}
