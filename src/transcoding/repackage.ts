/**
 * Re-packaging the own videos of earlier releases, which stored originals (and renditions)
 * but no streams, so that every video plays through its streams. At each start `scan` queues,
 * in the durable transcoding queue (queue.ts, marked `repack`):
 *  - a `package` job for an original without a stream that this release has not looked at:
 *    remuxed into its stream where its codecs allow (as an upload is, src/videos/ingest.ts),
 *    the stream then replacing the original file (`<id>.mp4`, a new info hash); else left as it
 *    is, and the top rendition (its own height, H.264/AAC) is what plays;
 *  - a `package` job for an original stream of an earlier release whose alignment is not
 *    known (it is checked; the file stays);
 *  - a `transcode` job for each rendition without a stream: made again, as a stream, because
 *    earlier releases encoded renditions without a keyframe every 2 s.
 * A package job adds the top rendition when the original needs one (streams.ts
 * needsTopRendition) and transcoding is on. Until its streams are ready a video plays as
 * before, by its file; then friends are told with `video.update`, as for an upload.
 * Package jobs run on this pod only (a remux takes seconds); renditions go to runners too.
 */
import type { Database } from 'bun:sqlite'
import { rmSync } from 'node:fs'
import type { PodEvents } from '../../actors/pod'
import type { TranscodeOutcome, TranscoderJob } from '../../actors/transcoder'
import type { Friends } from '../friends/service'
import { MediaToolError } from '../media/exec'
import { alignedSegments, type StreamInfo } from '../media/hls'
import { probeVideo, type Probed } from '../media/probe'
import { toolLimits } from '../media/limits'
import { packageCopy, probeStreamFile } from '../media/remux'
import type { Config } from '../shared/config'
import type { Logger } from '../shared/log'
import { streamFile } from '../storage/keys'
import { DomainError, fail, ok } from '../shared/errors'
import { makeTorrent } from '../torrents/torrent-file'
import { streamable } from '../videos/ingest'
import { storedPlaylist } from '../videos/served-streams'
import { videoUrls } from '../videos/model'
import { onTheWire, streamFields, type Videos } from '../videos/service'
import type { VideoStore } from '../videos/store'
import { needsTopRendition, segmentUri, type StreamIn } from '../videos/streams'
import { targetResolutions, type RepackProgress, type TranscodeQueue } from './queue'

/** What re-packaging works with. */
export interface RepackagingDeps {
  db: Database
  /** The videos' tables. */
  videoRows: VideoStore
  config: Config
  videos: Videos
  friends: Friends
  queue: TranscodeQueue
  actors: PodEvents
  now: () => number
}

/** The re-packaging of one pod's videos of earlier releases. */
export class Repackaging {
  constructor(private readonly deps: RepackagingDeps) {}

  /**
   * Queues the re-packaging of every own video that needs it (or of one video), once: a job
   * that failed stays failed until its owner asks again (POST /api/v1/videos/:id/transcode).
   * Returns how many jobs it queued.
   */
  scan(video?: string, log?: Logger): number {
    const { db, queue, config, videoRows } = this.deps
    const queued = db.transaction(() => {
      const missing = videoRows.unpackaged(video)
      // Once: a package job that ran (done or failed) is not queued again.
      let count = missing.originals.filter((id) => !queue.has(id, 0) && queue.enqueueRepack(id, 'package', 0)).length
      // Encoding again is transcoding: not on a pod that does none.
      if (config.transcoding.enabled) count += missing.renditions.filter((r) => queue.enqueueRepack(r.video, 'transcode', r.resolution)).length
      return count
    }).immediate()
    if (queued) this.deps.actors.send({ type: 'transcoder.job.added' })
    if (queued) log?.info('repackaging.queued', { jobs: queued })
    return queued
  }

  /** How far it is (the admin page). */
  progress(): RepackProgress {
    return this.deps.queue.repackProgress()
  }

  /** Runs a package job (the transcoder actor's `repackage` port). */
  run(job: TranscoderJob, source: { key: string; duration: number }, onProgress: (fraction: number) => void, signal: AbortSignal): Promise<TranscodeOutcome> {
    const original = this.deps.videoRows.streams(job.video).find((s) => s.rendition === 0)
    // With the original in a bucket, ffmpeg works on a copy in tmp/.
    return this.deps.videos.own.withLocalCopy(source.key, async (path): Promise<TranscodeOutcome> => {
      if (original) return this.checkAlignment(job, path, original)
      // A file of an earlier release was never checked against the media limits: its runs are bounded all the same.
      const limits = toolLimits(this.deps.config.media, source.duration)
      const probed = await probeVideo(path, toolLimits(this.deps.config.media))
      if (!probed.ok) return fail({ message: 'the original cannot be read', detail: probed.error })
      const probe = probed.value
      if (!streamable(probe)) {
        this.settle(job, probe)
        return ok()
      }
      // The stream is about as large as the original: without that room, the job waits.
      if (this.deps.videos.files.disk.room() < probe.sizeBytes) return fail({ message: 'the disk lacks the room to re-package the original; it is done once space is freed', later: true })
      const output = this.deps.videos.files.temp('.mp4')
      try {
        const progress = (seconds: number) => onProgress(source.duration > 0 ? seconds / source.duration : 0)
        const packaged = await packageCopy(path, output, segmentUri(job.video, 0), { signal, onProgress: progress, limits })
        // Stopped meanwhile: nothing is stored; the next start does it again.
        if (!signal.aborted) await this.replaceOriginal(job, output, packaged, probe)
        return ok()
      } catch (e) {
        if (e instanceof MediaToolError) return fail({ message: 'ffmpeg could not remux the original into a stream', detail: e.stderrTail || e.message })
        throw e
      } finally {
        rmSync(output, { force: true })
      }
    })
  }

  /** An original stream of an earlier release: whether its segments are aligned (its file stays as it is). */
  private async checkAlignment(job: TranscoderJob, path: string, original: StreamIn): Promise<TranscodeOutcome> {
    const file = this.deps.videos.localFile(job.video)
    const [playlist, probed] = await Promise.all([file && storedPlaylist(this.deps.videos.files.storage, file), probeStreamFile(path)])
    if (playlist === undefined) return fail({ message: "the original stream's playlist is missing" })
    const aligned = alignedSegments(playlist, probed.frameSeconds)
    this.inTransaction(job, () => this.deps.videoRows.saveStream(job.video, { ...original, aligned }), { ...original, aligned })
    return ok()
  }

  /**
   * An original whose codecs no fragmented MP4 carries (WebM with Vorbis, say): it stays as it
   * is and plays by its file, and by its top rendition once that is made.
   */
  private settle(job: TranscoderJob, probe: Probed): void {
    this.inTransaction(job, () => this.noteProbe(job.video, probe), undefined, false)
  }

  /**
   * Stores the stream made of the original in place of the original (`<id>.mp4`: the same key
   * for an MP4, a new one for a WebM, whose file then goes) with its torrent and playlist.
   */
  private async replaceOriginal(job: TranscoderJob, output: string, packaged: { info: StreamInfo; playlist: string }, probe: Probed): Promise<void> {
    const { videos, config } = this.deps
    const old = videos.localFile(job.video)
    const video = videos.get(job.video)
    if (!old || !video) throw new DomainError('not_found', 'video_gone', 'the video was deleted while it was re-packaged')
    const urls = videoUrls(config.url, job.video, '0'.repeat(40), 'mp4', video.name)
    const name = streamFile(job.video, 0)
    const torrent = await makeTorrent({ file: output, name, announce: urls.trackers, urlList: [urls.webseed] })
    const file = videos.own.file(job.video, null, name, torrent.infoHash, 'video/mp4')
    const kept = await videos.own.keep(file, output, torrent.torrent, packaged.playlist)
    const stream: StreamIn = { rendition: 0, infoHash: torrent.infoHash, size: torrent.length, ...streamFields(packaged.info) }
    try {
      this.inTransaction(job, () => {
        this.deps.videoRows.upsert({ ...video, magnetUri: `magnet:?xt=urn:btih:${torrent.infoHash}`, webseedUrls: [urls.webseed], size: torrent.length }, config.url, this.deps.now())
        this.noteProbe(job.video, probe, 'video/mp4')
        this.deps.videoRows.saveStream(job.video, stream)
        videos.own.queueMove(file)
      }, stream)
    } catch (e) {
      // The file took the original's place: it stays while the video does (its rows still
      // name the original, which a later run replaces again); gone with the video otherwise.
      await videos.own.unkeep(videos.localFile(job.video) ? kept.filter((k) => k !== file.key) : kept)
      throw e
    }
    // The original's torrent, and its file if it had another name (a WebM), are no more.
    await videos.files.storage.drop(old.key === file.key ? [old.torrentKey] : [old.key, old.torrentKey])
    videos.own.startMoves()
    for (const type of ['seeder.video.removed', 'tracker.video.removed'] as const) this.deps.actors.send({ type, infoHash: old.infoHash })
    this.deps.actors.send({ type: 'tracker.video.added', infoHash: file.infoHash })
    this.deps.actors.send({ type: 'seeder.video.added', file })
  }

  /** What was probed of the original, as an upload notes it (its audio marks it looked at). */
  private noteProbe(video: string, probe: Probed, mime?: string): void {
    this.deps.videoRows.noteOwnMedia(video, { width: probe.width, height: probe.height, audio: probe.audioCodec ?? '' }, mime)
  }

  /**
   * Ends a package job in one transaction with `write`: the job done, the top rendition queued
   * when the original (now `original`) needs one, and friends told when `announce`.
   */
  private inTransaction(job: TranscoderJob, write: () => void, original: StreamIn | undefined, announce = true): void {
    const { db, queue, config, videos, friends, videoRows } = this.deps
    db.transaction(() => {
      // The video (and with it the job) may have been deleted meanwhile.
      if (!queue.exists(job.id)) throw new DomainError('not_found', 'video_gone', 'the video was deleted while it was re-packaged')
      write()
      const height = videoRows.ownMedia(job.video)?.height ?? 0
      if (config.transcoding.enabled && needsTopRendition(original)) queue.enqueue(job.video, targetResolutions([], height, true), true)
      queue.done(job.id)
      if (announce) friends.enqueue([{ type: 'video.update', data: onTheWire(videos.get(job.video)!) }])
    }).immediate()
    if (announce) friends.wake()
    this.deps.actors.send({ type: 'transcoder.job.added' })
  }
}
