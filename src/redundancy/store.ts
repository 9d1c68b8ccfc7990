/**
 * Redundancy in SQLite: the copies this pod keeps of friends' videos (`mirrors`), and every
 * mirror the network announced with `video.mirror` (`video_mirrors`), whose web seeds and
 * trackers join the video's own so that it still plays when its origin is down.
 */
import type { Database } from 'bun:sqlite'
import type { MirrorPort, OwnMirror } from '../../actors/redundancy'
import { sourceParams, webseedUrl } from '../shared/urls'
import type { Video } from '../videos/model'
import type { VideoStore } from '../videos/store'

interface MirrorRow {
  info_hash: Uint8Array
  video: string
  file: string
  size: number
  state: OwnMirror['state']
  created_at: number
}

const toMirror = (r: MirrorRow): OwnMirror => ({
  infoHash: Buffer.from(r.info_hash).toString('hex'),
  video: r.video,
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
}

/** Most mirrors recorded per video (web seeds a viewer's player may try). */
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

  /** This pod's ready copy of a video, if any. */
  ownOf(video: string): OwnMirror | undefined {
    const row = this.db.query("SELECT * FROM mirrors WHERE video = ? AND state = 'ready'").get(video) as MirrorRow | null
    return row ? toMirror(row) : undefined
  }

  byInfoHash(infoHash: string): OwnMirror | undefined {
    const row = this.db.query('SELECT * FROM mirrors WHERE info_hash = ?').get(Buffer.from(infoHash, 'hex')) as MirrorRow | null
    return row ? toMirror(row) : undefined
  }

  /** Bytes used (and reserved by downloads) by this pod's copies. */
  used(): number {
    return (this.db.query('SELECT coalesce(sum(size), 0) AS n FROM mirrors').get() as { n: number }).n
  }

  startDownload(m: { infoHash: string; video: string; file: string; size: number }, now: number): void {
    this.db
      .query("INSERT INTO mirrors (info_hash, video, file, size, state, created_at) VALUES (?, ?, ?, ?, 'downloading', ?)")
      .run(Buffer.from(m.infoHash, 'hex'), m.video, m.file, m.size, now)
  }

  markReady(infoHash: string): void {
    this.db.query("UPDATE mirrors SET state = 'ready' WHERE info_hash = ?").run(Buffer.from(infoHash, 'hex'))
  }

  drop(infoHash: string): void {
    this.db.query('DELETE FROM mirrors WHERE info_hash = ?').run(Buffer.from(infoHash, 'hex'))
  }

  /** Copies whose video left the index (removed at its origin, or the friendship ended). */
  orphans(): OwnMirror[] {
    return this.own().filter((m) => !this.videoRows.has(m.video))
  }

  /**
   * Friends' videos worth a copy, best first by the strategy: not this pod's, not mirrored
   * yet, of known size within `room` bytes.
   */
  candidates(self: string, room: number, strategy: 'recent' | 'smallest', limit: number): { id: string; infoHash: string; size: number }[] {
    return this.videoRows.copyCandidates(self, room, strategy, limit, this.own().map((m) => m.video))
  }

  /**
   * Records a mirror announced by a pod. Only the video's own file counts (the original's
   * info hash), only for a video whose origin is a friend (`friendOrigin`), and at most
   * MAX_MIRRORS per video: a friend cannot graft its web seed onto anyone's video, nor grow a
   * video's list without bound. Returns false when the mirror is not recorded.
   */
  addKnown(video: string, infoHash: string, pod: { fingerprint: string; url: string }, friendOrigin: (fingerprint: string) => boolean = () => true): boolean {
    const origin = this.videoRows.originOf(video, infoHash)
    if (!origin || (origin !== pod.fingerprint && !friendOrigin(origin))) return false
    const count = (this.db.query('SELECT count(*) AS n FROM video_mirrors WHERE video = ?').get(video) as { n: number }).n
    if (count >= MAX_MIRRORS) return false
    this.db.query('INSERT OR IGNORE INTO video_mirrors (video, pod, info_hash) VALUES (?, ?, ?)').run(video, this.videoRows.podId(pod.fingerprint, pod.url), Buffer.from(infoHash, 'hex'))
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
    const rows = this.db.query('SELECT pod, info_hash FROM video_mirrors WHERE video = ? ORDER BY pod').all(video) as { pod: number; info_hash: Uint8Array }[]
    return rows.map((r) => {
      // Every mirror's pod is in the index (video_mirrors.pod references it).
      const pod = this.videoRows.pod(r.pod)!
      return { podUrl: pod.url, fingerprint: pod.fingerprint, infoHash: Buffer.from(r.info_hash).toString('hex') }
    })
  }
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
