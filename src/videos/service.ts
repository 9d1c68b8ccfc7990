/**
 * This pod's videos: uploads become stored, seeded, indexed and announced videos; edits and
 * deletions reach every friend. A change to an own video goes into the index and into every
 * friend's outbox in one transaction, so each friend learns of it exactly once.
 */
import type { Database } from 'bun:sqlite'
import { rmSync } from 'node:fs'
import type { PodEvents } from '../../actors/pod'
import type { Inbox, InboxContext } from '../federation/inbox'
import type { User } from '../accounts/service'
import type { Config } from '../shared/config'
import type { Friends } from '../friends/service'
import { DomainError } from '../shared/errors'
import type { Logger } from '../shared/log'
import type { Outbound } from '../shared/outbound'
import type { StreamInfo } from '../media/hls'
import { originalFile, playlistKey, renditionFile, thumbnailKey } from '../storage/keys'
import type { StoredFiles } from '../storage/sweep'
import { OwnFiles, ownKeys, type LocalFile } from './own-files'
import { Thumbnails, type Thumbnail } from './thumbnails'
import { makeTorrent } from '../torrents/torrent-file'
import type { VideoFiles } from './files'
import { videoOfRow, videoUrls, type OwnRow, type Video } from './model'
import { searchVideos, type VideoPage, type VideoQuery } from './search'
import type { ReceivedUpload } from './upload'
import { checkTexts, mayClaimId, newVideoId, prepareUpload, type Packaged } from './ingest'
import { IngestQueue } from './ingest-queue'
import { renditionUrls, type Rendition } from './renditions'
import type { VideoStore } from './store'
import { masterPlaylistUrl, needsTopRendition, withStreamUrls, type Stream, type StreamIn } from './streams'
import type { ServedStreams } from './served-streams'
import { targetResolutions, type TranscodeJob, type TranscodeQueue } from '../transcoding/queue'
import type { KnownMirrors } from '../redundancy/known-store'
import { readingPod, streamCopies, torrentPods, withMirrors } from '../redundancy/listing'
import type { MirrorStore } from '../redundancy/store'
import { summarize } from '../details/model'
import type { DetailsStore } from '../details/store'

export type { LocalFile } from './own-files'
export type { Thumbnail } from './thumbnails'

/** A stream's fields from what its master playlist said (codecs and alignment only when known). */
export function streamFields(info: StreamInfo): Pick<StreamIn, 'width' | 'height' | 'bandwidth' | 'codecs' | 'aligned'> {
  return { width: info.width, height: info.height, bandwidth: info.bandwidth, ...(info.codecs ? { codecs: info.codecs } : {}), ...(info.aligned === undefined ? {} : { aligned: info.aligned }) }
}

/**
 * A video as friends are sent it: without this pod's transcoding jobs, whose errors quote
 * ffmpeg (and with it local paths) and which are nobody else's business.
 */
export function onTheWire<V extends Video & { transcoding?: unknown }>(video: V): Omit<V, 'transcoding'> {
  const { transcoding: _jobs, ...rest } = video
  return rest
}

/** What the videos feature is built from. */
export interface VideosDeps {
  db: Database
  /** The videos' tables. */
  rows: VideoStore
  /** Where an own video's full description is kept. */
  details: DetailsStore
  config: Config
  friends: Friends
  fingerprint: string
  files: VideoFiles
  /** Copies of friends' videos kept here. */
  mirrors: MirrorStore
  /** Mirrors the network announced, listed once proven. */
  known: KnownMirrors
  queue: TranscodeQueue
  inbox: Inbox
  actors: PodEvents
  outbound: Outbound
  log: Logger
  now?: () => number
}

/** This pod's videos and the index's video messages. */
export class Videos {
  /** The files of own videos in the store, and what viewers get of them. */
  readonly own: OwnFiles
  /** Thumbnails as readers get them (friends' cached). */
  readonly thumbnails: Thumbnails
  private readonly db: Database
  private readonly rows: VideoStore
  private readonly details: DetailsStore
  private readonly config: Config
  private readonly friends: Friends
  private readonly fingerprint: string
  readonly files: VideoFiles
  private readonly mirrors: MirrorStore
  private readonly known: KnownMirrors
  private readonly queue: TranscodeQueue
  private readonly actors: PodEvents
  private readonly log: Logger
  private readonly now: () => number
  /** Uploads in flight, and their turns to be prepared (`uploads.*`). */
  readonly uploads: IngestQueue

  constructor(deps: VideosDeps) {
    ;({
      db: this.db, rows: this.rows, details: this.details, config: this.config, friends: this.friends, fingerprint: this.fingerprint,
      files: this.files, mirrors: this.mirrors, known: this.known, queue: this.queue, actors: this.actors, log: this.log, now: this.now = Date.now,
    } = deps)
    const { inbox, outbound } = deps
    this.own = new OwnFiles(this.files, this.fingerprint, (id, resolution) => this.localFile(id, resolution))
    this.thumbnails = new Thumbnails(this.rows, this.files, this.fingerprint, outbound, (id) => this.get(id))
    this.uploads = new IngestQueue(this.config.uploads, this.now)
    // The network index: a friend announces, changes and removes its own videos only.
    const upsert = (v: Video, { sender, friend, now }: InboxContext) => {
      if (v.podFingerprint !== sender || !mayClaimId(v.id, sender)) return { ok: false, error: 'not_origin' }
      // A friend's share of the index is bounded (friends.maxVideosPerFriend); updates always pass.
      if (!this.rows.has(v.id) && this.rows.podVideoCount(sender) >= this.config.friends.maxVideosPerFriend) return { ok: false, error: 'too_many_videos' }
      return { ok: this.rows.index(v, friend!.url, now) }
    }
    inbox.on('video.add', upsert)
    inbox.on('video.update', upsert)
    inbox.on('video.remove', ({ id }, { sender }) => ({ ok: this.rows.remove(id, sender) }))
  }

  /** Own videos' files and friends' thumbnails cached in the bucket, as the start's sweep checks them. */
  storedFiles(): StoredFiles {
    return {
      keys: () => [...ownKeys(this.rows), ...this.thumbnails.cachedKeys()],
      files: () => this.localFiles(),
      forget: (f) => (f.resolution === null ? this.forget(f.id) : this.forgetRendition(f.id, f.resolution)),
      ownId: (id) => mayClaimId(id, this.fingerprint),
      present: (present) => this.thumbnails.keepPresent(present),
    }
  }

  /** A video's thumbnail (src/videos/thumbnails.ts); undefined when there is none. */
  thumbnail(id: string): Promise<Thumbnail | undefined> {
    return this.thumbnails.of(id)
  }

  /** A page of the network index (search, sort, scope). */
  search(query: VideoQuery): VideoPage {
    return searchVideos(this.db, query, this.fingerprint, this.config.url)
  }

  /** Adds or updates one of this pod's videos and tells every friend (`video.add` / `video.update`). */
  publish(video: Video, type: 'video.add' | 'video.update' = 'video.add'): void {
    if (video.podFingerprint !== this.fingerprint) throw new DomainError('internal', 'not_own_video', 'only this pod\'s own videos can be published')
    this.db.transaction(() => {
      this.rows.upsert(video, this.config.url, this.now())
      this.friends.enqueue([{ type, data: onTheWire(video) }])
    }).immediate()
    this.friends.wake()
  }

  /** Removes one of this pod's videos from the index and tells every friend (`video.remove`). */
  unpublish(id: string): boolean {
    const removed = this.db.transaction(() => {
      const gone = this.rows.remove(id, this.fingerprint)
      if (gone) this.friends.enqueue([{ type: 'video.remove', data: { id } }])
      return gone
    }).immediate()
    if (removed) this.friends.wake()
    return removed
  }

  /**
   * A video of the index as this pod's readers see it: thumbnails through this pod, its
   * renditions, and for an own video the state of its transcoding jobs.
   */
  get(id: string): (Video & { files: Rendition[]; streams?: Stream[]; transcoding?: TranscodeJob[] }) | undefined {
    const row = this.rows.row(id)
    if (!row) return undefined
    // Only the mirrors this pod proved, and of them only web seeds and playlists (src/redundancy/listing.ts).
    const listed = this.known.listed(id)
    const here = readingPod({ url: this.config.url, fingerprint: this.fingerprint }, this.mirrors, this.known)
    const mirrored = withMirrors(videoOfRow(row, this.config.url), listed, originalFile(id, row.ext), here)
    const files = this.rows.renditions(id).map((f) => ({ ...f, ...renditionUrls(row.pod_url, id, f.resolution, f.infoHash, row.name) }))
    const stored = this.rows.streams(id)
    // An index row has no streams of its own: they are added here, with their URLs at the
    // origin and at each pod known to keep a copy of them.
    const copies = streamCopies(listed, row.pod_fingerprint, stored)
    const streams = stored.map((s) => withStreamUrls(row.pod_url, id, s, copies.byInfoHash.get(s.infoHash), torrentPods(here, row.pod_fingerprint, s.infoHash)))
    const masters = [row.pod_url, ...copies.complete].map((pod) => masterPlaylistUrl(pod, id))
    const video: Video & { streams?: Stream[] } = streams.length
      ? { ...mirrored, streams, masterPlaylistUrl: masters[0]!, masterPlaylistUrls: masters }
      : (mirrored as Omit<Video, 'streams'>)
    if (row.pod_fingerprint !== this.fingerprint) return { ...video, files }
    // An own video: its frame size (the watch page labels the original with its height), and its jobs.
    const size = this.rows.ownMedia(id)
    const own = { ...video, ...(size?.width && size.height ? { width: size.width, height: size.height } : {}), files }
    const jobs = this.queue.of(id)
    return jobs.length ? { ...own, transcoding: jobs } : own
  }

  /** Every own video's files, originals and renditions (for the seeder and the tracker at start). */
  localFiles(): LocalFile[] {
    return [...this.rows.ownRows().map((r) => this.fileOf(r)), ...this.rows.ownRenditions().map((r) => this.renditionFile(r.video, r.resolution, r.infoHash))]
  }

  /** Every file of one own video: the original and its renditions (none for a remote video). */
  private filesOf(id: string): LocalFile[] {
    const original = this.localFile(id)
    if (!original) return []
    return [original, ...this.rows.renditions(id).map((r) => this.renditionFile(id, r.resolution, r.infoHash))]
  }

  /** One file of an own video (the original, or the rendition of `resolution`); undefined for remote or unknown ones. */
  localFile(id: string, resolution: number | null = null): LocalFile | undefined {
    if (resolution !== null) {
      const infoHash = this.rows.ownRendition(id, resolution)
      return infoHash ? this.renditionFile(id, resolution, infoHash) : undefined
    }
    const row = this.rows.ownRow(id)
    return row ? this.fileOf(row) : undefined
  }

  private fileOf(r: OwnRow): LocalFile {
    return this.own.file(r.id, null, originalFile(r.id, r.ext), Buffer.from(r.info_hash).toString('hex'), r.mime)
  }

  renditionFile(id: string, resolution: number, infoHash: string): LocalFile {
    return this.own.file(id, resolution, renditionFile(id, resolution), infoHash, 'video/mp4')
  }

  /** The own file (original or rendition) with this info hash, if any. */
  localFileByInfoHash(infoHash: string): LocalFile | undefined {
    const original = this.rows.ownRowByInfoHash(infoHash)
    if (original) return this.fileOf(original)
    const r = this.rows.ownRenditionByInfoHash(infoHash)
    return r ? this.renditionFile(r.video, r.resolution, infoHash) : undefined
  }

  /** Someone is about to watch a video: if it is an own one, or this pod keeps a copy of it, have all its files seeded. */
  watched(id: string): void {
    for (const file of this.filesOf(id)) this.actors.send({ type: 'seeder.video.wanted', infoHash: file.infoHash })
    for (const copy of this.mirrors.keptOf(id)) this.actors.send({ type: 'seeder.video.wanted', infoHash: copy.infoHash })
  }

  /** An own video's streams as this pod serves them (playlists); undefined for another pod's video. */
  servedStreams(id: string): ServedStreams | undefined {
    if (!this.localFile(id)) return undefined
    return { list: this.rows.streams(id), file: (rendition) => this.localFile(id, rendition === 0 ? null : rendition) }
  }

  /**
   * Turns a received upload into a stored, seeded, indexed and announced video. On any
   * failure every file it made is removed and nothing is written to the database.
   */
  async ingest(user: User, upload: ReceivedUpload): Promise<Video> {
    const prepared = await prepareUpload(upload, this.files, this.fingerprint, this.config.media).catch((e: unknown) => {
      // What ffmpeg said of a refused file quotes local paths: for the log, not the uploader.
      const cause = e instanceof DomainError && e.kind !== 'internal' ? (e.cause as { stderrTail?: string } | undefined) : undefined
      if (cause?.stderrTail !== undefined) this.log.info('video.upload.refused', { uploader: user.username, code: (e as DomainError).code, detail: cause.stderrTail })
      throw e
    })
    try {
      const video = await this.store(user, prepared.video)
      // A remuxed upload leaves the file as it was sent (the stored one was moved into place).
      rmSync(upload.file.path, { force: true })
      return video
    } catch (e) {
      prepared.discard()
      throw e
    }
  }

  /**
   * Stores a checked, browser-ready video file and its thumbnail (both in tmp/, moved into
   * place): makes its torrent, writes the rows and announces it to friends, the tracker and
   * the seeder. On failure the files it placed are removed and no row is written.
   */
  async store(
    user: User,
    v: { id?: string; name?: string; description?: string; ext: string; mime: string; source: string; thumb: string; duration: number; width: number; height: number; audio: string; stream?: Packaged },
  ): Promise<Video> {
    const placed: string[] = []
    try {
      const id = v.id ?? newVideoId(this.fingerprint)
      const urls = videoUrls(this.config.url, id, '0'.repeat(40), v.ext, v.name!)
      const torrent = await makeTorrent({ file: v.source, name: originalFile(id, v.ext), announce: urls.trackers, urlList: [urls.webseed] })
      // The files first, the rows once they are all kept: a crash between leaves objects
      // without rows, which the start's sweep removes (src/storage/sweep.ts), never a row without its file.
      const thumbKey = thumbnailKey(id)
      const stored = this.own.file(id, null, originalFile(id, v.ext), torrent.infoHash, v.mime)
      // At once: with a bucket, each is a round trip.
      const [thumb, kept] = await Promise.allSettled([this.files.storage.keep(thumbKey, v.thumb, 'image/jpeg'), this.own.keep(stored, v.source, torrent.torrent, v.stream?.playlist)])
      if (thumb.status === 'fulfilled') placed.push(thumbKey)
      if (kept.status === 'fulfilled') placed.push(...kept.value)
      if (thumb.status === 'rejected') throw thumb.reason
      if (kept.status === 'rejected') throw kept.reason

      const now = this.now()
      // The index (and every friend's) gets a summary; the full text stays in this pod's details.
      const full = v.description ?? ''
      const video: Video = {
        id,
        name: v.name!,
        description: summarize(full),
        uploader: user.username,
        podUrl: this.config.url,
        podFingerprint: this.fingerprint,
        magnetUri: `magnet:?xt=urn:btih:${torrent.infoHash}`,
        torrentUrl: null,
        webseedUrls: [urls.webseed],
        duration: v.duration,
        size: torrent.length,
        createdAt: new Date(now).toISOString(),
      }
      this.db.transaction(() => {
        this.rows.upsert(video, this.config.url, now)
        if (video.description !== full) this.details.saveFullDescription(id, full, now)
        this.rows.addOwn(id, user.id, v.mime, v)
        if (v.stream) this.rows.saveStream(id, { rendition: 0, infoHash: torrent.infoHash, size: torrent.length, ...streamFields(v.stream.info) })
        this.own.queueMove(stored)
        const top = needsTopRendition(v.stream && streamFields(v.stream.info))
        if (this.config.transcoding.enabled) this.queue.enqueue(id, targetResolutions(this.config.transcoding.resolutions, v.height, top))
        this.friends.enqueue([{ type: 'video.add', data: onTheWire(this.get(id)!) }])
      }).immediate()
      this.own.startMoves()
      this.friends.wake()
      this.actors.send({ type: 'transcoder.job.added' })
      const file = this.localFile(id)!
      this.actors.send({ type: 'tracker.video.added', infoHash: file.infoHash })
      this.actors.send({ type: 'seeder.video.added', file })
      this.log.info('video.uploaded', { id, name: video.name, uploader: user.username, size: video.size, duration: video.duration })
      return this.get(id)!
    } catch (e) {
      await this.files.storage.drop(placed)
      throw e
    }
  }

  /** Changes the name or description of an own video (owner or admin) and tells friends. */
  update(id: string, user: User, fields: { name?: unknown; description?: unknown }): Video {
    this.mustOwn(id, user)
    const texts = checkTexts(fields, true)
    const current = this.get(id)!
    this.db.transaction(() => {
      if (texts.description !== undefined && summarize(texts.description) !== texts.description)
        this.details.saveFullDescription(id, texts.description, this.now())
      const description = texts.description === undefined ? current.description : summarize(texts.description)
      this.publish({ ...current, ...texts, description }, 'video.update')
    }).immediate()
    return this.get(id)!
  }

  /** Deletes an own video (owner or admin): files, torrent, row; friends are told. */
  remove(id: string, user: User): void {
    this.mustOwn(id, user)
    const files = this.filesOf(id)
    this.unpublish(id)
    void this.dropFiles(id, files)
    for (const file of files) {
      this.actors.send({ type: 'seeder.video.removed', infoHash: file.infoHash })
      this.actors.send({ type: 'tracker.video.removed', infoHash: file.infoHash })
    }
    this.log.info('video.deleted', { id, by: user.username })
  }

  /** Removes an own video's files from the store (in the background: the rows are gone already). */
  private dropFiles(id: string, files: LocalFile[]): Promise<void> {
    return this.files.storage.drop([thumbnailKey(id), ...files.flatMap((f) => [f.key, playlistKey(f.key), f.torrentKey])])
  }

  /** Forgets an own video whose file is gone (the start's sweep): its rows, friends told, what is left of its files. */
  async forget(id: string): Promise<void> {
    const files = this.filesOf(id)
    this.unpublish(id)
    this.log.warn('video.lost', { id })
    await this.dropFiles(id, files)
  }

  /** Forgets a rendition of an own video whose file is gone (the start's sweep): its rows, friends told (`video.update`), its other files. */
  async forgetRendition(id: string, resolution: number): Promise<void> {
    const file = this.localFile(id, resolution)
    if (!file) return
    this.db.transaction(() => {
      this.rows.saveRenditions(id, this.rows.renditions(id).filter((r) => r.resolution !== resolution))
      this.rows.dropStream(id, resolution)
      this.friends.enqueue([{ type: 'video.update', data: onTheWire(this.get(id)!) }])
    }).immediate()
    this.friends.wake()
    this.log.warn('video.rendition.lost', { id, resolution })
    await this.files.storage.drop([playlistKey(file.key), file.torrentKey])
  }

  /** An own video's original, if `user` may change it (its uploader or an admin); else a not_found or forbidden error. */
  mustOwn(id: string, user: User): LocalFile {
    const file = this.localFile(id)
    if (!file) {
      if (this.get(id)) throw new DomainError('forbidden', 'forbidden', 'this video belongs to another pod; only its origin can change it')
      throw new DomainError('not_found', 'not_found', `no video with id ${id}`)
    }
    const owner = this.rows.owner(id)
    if (owner !== user.id && user.role !== 'admin') throw new DomainError('forbidden', 'forbidden', 'only the uploader or an admin can change this video')
    return file
  }
}
