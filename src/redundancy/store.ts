/**
 * Redundancy in SQLite: the copies this pod keeps of friends' videos' streams (`mirrors`, one
 * row per stream), and every mirror the network announced with `video.mirror`
 * (`video_mirrors`, one row per pod and file), whose URLs join the video's own so that it
 * still plays when its origin is down.
 */
import type { Database } from 'bun:sqlite'
import type { CopyCandidate, MirrorPort, OwnMirror } from '../../actors/redundancy'
import { sourceParams, webseedUrl } from '../shared/urls'
import { copyKeys } from '../storage/keys'
import type { MoveItem } from '../storage/migrate'
import type { Video } from '../videos/model'
import type { VideoStore } from '../videos/store'
import type { StreamIn } from '../videos/streams'

interface MirrorRow {
  info_hash: Uint8Array
  video: string
  rendition: number | null
  file: string
  size: number
  state: OwnMirror['state']
  created_at: number
}

const toMirror = (r: MirrorRow): OwnMirror => ({
  infoHash: Buffer.from(r.info_hash).toString('hex'),
  video: r.video,
  rendition: r.rendition,
  file: r.file,
  size: r.size,
  state: r.state,
  createdAt: r.created_at,
})

/** A mirror of a video somewhere in the network, as its web seed needs it. */
export interface KnownMirror {
  podUrl: string
  fingerprint: string
  infoHash: string
  /** The stream it keeps with its playlist; null: the original file alone (a pod of an earlier release). */
  rendition: number | null
}

/** Most pods recorded as mirrors of one video (sources a viewer's player may try). */
const MAX_MIRRORS = 8

/** The mirror tables; also the redundancy actor's store port. */
export class MirrorStore implements MirrorPort {
  constructor(
    private readonly db: Database,
    /** The videos' tables (the index, whose videos and pods the mirrors are of). */
    private readonly videoRows: VideoStore,
  ) {}

  /** The copies this pod keeps, oldest first. */
  own(): OwnMirror[] {
    return (this.db.query('SELECT * FROM mirrors ORDER BY created_at').all() as MirrorRow[]).map(toMirror)
  }

  /** This pod's ready copies of a video's streams. */
  keptOf(video: string): OwnMirror[] {
    return (this.db.query("SELECT * FROM mirrors WHERE video = ? AND state = 'ready' AND rendition IS NOT NULL").all(video) as MirrorRow[]).map(toMirror)
  }

  /** One of this pod's copies, by its file's info hash. */
  byInfoHash(infoHash: string): OwnMirror | undefined {
    const row = this.db.query('SELECT * FROM mirrors WHERE info_hash = ?').get(Buffer.from(infoHash, 'hex')) as MirrorRow | null
    return row ? toMirror(row) : undefined
  }

  /** Bytes used (and reserved by downloads) by this pod's copies. */
  used(): number {
    return (this.db.query('SELECT coalesce(sum(size), 0) AS n FROM mirrors').get() as { n: number }).n
  }

  startDownload(m: { infoHash: string; video: string; rendition: number | null; file: string; size: number }, now: number): void {
    this.db
      .query("INSERT INTO mirrors (info_hash, video, rendition, file, size, state, created_at) VALUES (?, ?, ?, ?, ?, 'downloading', ?)")
      .run(Buffer.from(m.infoHash, 'hex'), m.video, m.rendition, m.file, m.size, now)
  }

  markReady(infoHash: string): void {
    this.db.query("UPDATE mirrors SET state = 'ready' WHERE info_hash = ?").run(Buffer.from(infoHash, 'hex'))
  }

  drop(infoHash: string): void {
    this.db.query('DELETE FROM mirrors WHERE info_hash = ?').run(Buffer.from(infoHash, 'hex'))
  }

  /**
   * Copies whose stream is no longer one of its video's (the video left the index: removed
   * at its origin, or the friendship ended; or its origin replaced the stream), with why; and
   * whole-file copies of earlier releases (dropped at start already, see actors/redundancy.ts).
   */
  orphans(): { mirror: OwnMirror; reason: string }[] {
    return this.own()
      .filter((m) => m.rendition === null || !this.videoRows.hasStream(m.video, m.rendition, m.infoHash))
      .map((m) => ({ mirror: m, reason: this.videoRows.has(m.video) ? 'the stream is no longer one of the video' : 'the video left the index' }))
  }

  /**
   * Friends' videos worth a copy, best first by the strategy, each with the streams no copy
   * of this pod keeps yet (a stream kept under another video counts as kept: one copy per
   * info hash), and only where they all fit in `room` bytes together (a copy keeps every
   * stream of its video). A video without streams waits until its origin packages it.
   */
  candidates(self: string, room: number, strategy: 'recent' | 'smallest', limit: number): CopyCandidate[] {
    return this.videoRows.streamCopyCandidates(self, room, strategy, limit, this.own().map((m) => m.infoHash))
  }

  /**
   * Records a mirror announced by a pod: with `rendition`, a copy of that stream of the video
   * (and its playlist), recorded only if the info hash is that stream's; without it (a pod of
   * an earlier release), a copy of the original file, only if the info hash is the original's.
   * Only for a video whose origin is a friend (`friendOrigin`), and at most MAX_MIRRORS pods
   * per video: a friend cannot graft its files onto anyone's video, nor grow a video's lists
   * without bound (a pod has one row per file of the video at most). Returns false when it is
   * not recorded.
   */
  addKnown(
    video: string,
    infoHash: string,
    rendition: number | undefined,
    pod: { fingerprint: string; url: string },
    friendOrigin: (fingerprint: string) => boolean = () => true,
  ): boolean {
    const origin = rendition === undefined ? this.videoRows.originOf(video, infoHash) : this.videoRows.streamOriginOf(video, rendition, infoHash)
    if (!origin || (origin !== pod.fingerprint && !friendOrigin(origin))) return false
    const podId = this.videoRows.podId(pod.fingerprint, pod.url)
    const others = (this.db.query('SELECT count(DISTINCT pod) AS n FROM video_mirrors WHERE video = ? AND pod != ?').get(video, podId) as { n: number }).n
    if (others >= MAX_MIRRORS) return false
    this.db.query('INSERT OR REPLACE INTO video_mirrors (video, pod, info_hash, rendition) VALUES (?, ?, ?, ?)').run(video, podId, Buffer.from(infoHash, 'hex'), rendition ?? null)
    return true
  }

  removeKnown(video: string, infoHash: string, fingerprint: string): boolean {
    const pod = this.videoRows.knownPodId(fingerprint)
    return pod !== undefined && this.db.query('DELETE FROM video_mirrors WHERE video = ? AND info_hash = ? AND pod = ?').run(video, Buffer.from(infoHash, 'hex'), pod).changes > 0
  }

  /** Forgets every mirror a pod announced (the friendship ended). */
  removeKnownOf(fingerprint: string): void {
    const pod = this.videoRows.knownPodId(fingerprint)
    if (pod !== undefined) this.db.query('DELETE FROM video_mirrors WHERE pod = ?').run(pod)
  }

  /** The mirrors of a video known to this pod (its own copy included). */
  knownOf(video: string): KnownMirror[] {
    const rows = this.db.query('SELECT pod, info_hash, rendition FROM video_mirrors WHERE video = ? ORDER BY pod').all(video) as {
      pod: number
      info_hash: Uint8Array
      rendition: number | null
    }[]
    return rows.map((r) => {
      // Every mirror's pod is in the index (video_mirrors.pod references it).
      const pod = this.videoRows.pod(r.pod)!
      return { podUrl: pod.url, fingerprint: pod.fingerprint, infoHash: Buffer.from(r.info_hash).toString('hex'), rendition: r.rendition }
    })
  }
}

/**
 * The pods known to keep a copy of each stream of a video (its playlist and file), by the
 * stream's info hash, and those keeping every one of its streams (whose master playlist is
 * the origin's); the origin itself is not one of them.
 */
export function streamCopies(mirrors: readonly KnownMirror[], origin: string, streams: readonly StreamIn[]): { byInfoHash: Map<string, string[]>; complete: string[] } {
  const byInfoHash = new Map<string, string[]>()
  for (const s of streams) {
    const pods = mirrors.filter((m) => m.fingerprint !== origin && m.rendition === s.rendition && m.infoHash === s.infoHash).map((m) => m.podUrl)
    byInfoHash.set(s.infoHash, pods)
  }
  const complete = [...new Set(mirrors.map((m) => m.podUrl))].filter((url) => streams.length > 0 && streams.every((s) => byInfoHash.get(s.infoHash)!.includes(url)))
  return { byInfoHash, complete }
}

/**
 * A video with its mirrors' web seeds and trackers added (web seeds in `webseedUrls` and as
 * `ws`, trackers as `tr`, their .torrent as further `xs`), so a viewer plays it from the
 * mirrors when its origin is down.
 */
export function withMirrors<V extends Video>(video: V, mirrors: KnownMirror[], fileName: string): V {
  const others = mirrors.filter((m) => m.infoHash === video.infoHash && m.fingerprint !== video.podFingerprint)
  if (!others.length) return video
  const extra = others.map((m) => sourceParams(m.podUrl, fileName, m.infoHash)).join('')
  return { ...video, webseedUrls: [...video.webseedUrls, ...others.map((m) => webseedUrl(m.podUrl, fileName))], magnetUri: video.magnetUri + extra }
}

/**
 * The keys of the pod's ready copies of friends' videos' streams (`mirrors/<infoHash>/<file>`,
 * its media playlist beside it, and the copy's torrent), each kept while its row says ready. A copy still downloading is in the
 * data folder and moves itself (the pod on a bucket keeps it there once done).
 */
export function mirrorItems(mirrors: MirrorStore): MoveItem[] {
  return mirrors
    .own()
    .filter((m) => m.state === 'ready')
    .flatMap((m) => {
      const kept = () => mirrors.byInfoHash(m.infoHash)?.state === 'ready'
      return copyKeys(m).map((key) => ({ key, kept }))
    })
}
