/**
 * Mirrors the network announced with `video.mirror`, in SQLite (`video_mirrors`, one row per
 * pod and file of a video), each with its proof (checks.ts): listed to viewers only once this
 * pod has checked pieces of the file at the mirror, checked again from time to time; and the
 * .torrent files those checks trust for friends' files (`mirror_torrents`), which this pod
 * serves to viewers in place of the mirrors' own.
 */
import type { Database } from 'bun:sqlite'
import type { VideoStore } from '../videos/store'

/** A mirror of a video somewhere in the network, as its URLs need it. */
export interface KnownMirror {
  podUrl: string
  fingerprint: string
  infoHash: string
  /** The stream it keeps with its playlist; null: the original file alone (a pod of an earlier release). */
  rendition: number | null
}

/** A mirror whose check is due: which row, and what its last checks said. */
export interface DueMirror extends KnownMirror {
  video: string
  /** The pod's id in the index (the row's key, with video and info hash). */
  pod: number
  /** Checks failed in a row. */
  failures: number
  /** Whether it is listed now (its last check passed). */
  listed: boolean
}

interface MirrorRow {
  video: string
  pod: number
  info_hash: Uint8Array
  rendition: number | null
  failures: number
  proven_at: number | null
}

/** Most pods recorded as mirrors of one video (sources a viewer's player may try), this pod's own copy aside. */
export const MAX_MIRRORS = 8

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')
const blob = (infoHash: string) => Buffer.from(infoHash, 'hex')

/** The table of mirrors the network announced, and the .torrent files their checks trust. */
export class KnownMirrors {
  constructor(
    private readonly db: Database,
    /** The videos' tables (the index, whose videos and pods the mirrors are of). */
    private readonly videoRows: VideoStore,
    /** This pod: its own copies are mirrors of the network too, proven by their download. */
    private readonly self: { fingerprint: string; url: string },
  ) {}

  private selfId(): number {
    return this.videoRows.knownPodId(this.self.fingerprint) ?? -1
  }

  /**
   * Records a mirror announced by a pod, to be checked at once (`now`) and listed only once
   * proven: with `rendition`, a copy of that stream of the video, recorded only if the info
   * hash is that stream's; without it (a pod of an earlier release), a copy of the original
   * file, only if the info hash is the original's. Only for a video whose origin is a friend
   * (`friendOrigin`), and at most MAX_MIRRORS pods per video besides this one: when they are
   * all taken, a pod none of whose files passed a check (and that failed one) gives way. A
   * mirror announced again keeps its proof. Returns false when it is not recorded.
   */
  announce(
    video: string,
    infoHash: string,
    rendition: number | undefined,
    pod: { fingerprint: string; url: string },
    friendOrigin: (fingerprint: string) => boolean,
    now: number,
  ): boolean {
    const origin = rendition === undefined ? this.videoRows.originOf(video, infoHash) : this.videoRows.streamOriginOf(video, rendition, infoHash)
    if (!origin || (origin !== pod.fingerprint && !friendOrigin(origin))) return false
    const podId = this.videoRows.podId(pod.fingerprint, pod.url)
    if (!this.room(video, podId)) return false
    this.db
      .query(
        `INSERT INTO video_mirrors (video, pod, info_hash, rendition, proven_at, failures, check_at) VALUES (?, ?, ?, ?, NULL, 0, ?)
         ON CONFLICT (video, pod, info_hash) DO UPDATE SET rendition = excluded.rendition`,
      )
      .run(video, podId, blob(infoHash), rendition ?? null, now)
    return true
  }

  /** Whether pod `podId` may be recorded as a mirror of `video` (one already is), making room if a failing mirror fills its place. */
  private room(video: string, podId: number): boolean {
    const others = [video, podId, this.selfId()] as const
    const n = (this.db.query('SELECT count(DISTINCT pod) AS n FROM video_mirrors WHERE video = ? AND pod NOT IN (?, ?)').get(...others) as { n: number }).n
    const known = this.db.query('SELECT 1 FROM video_mirrors WHERE video = ? AND pod = ?').get(video, podId)
    if (known || n < MAX_MIRRORS) return true
    const failing = this.db
      .query(
        `SELECT pod FROM video_mirrors WHERE video = ? AND pod NOT IN (?, ?)
         GROUP BY pod HAVING count(proven_at) = 0 AND min(failures) > 0 ORDER BY min(failures) DESC, pod LIMIT 1`,
      )
      .get(...others) as { pod: number } | null
    if (!failing) return false
    this.db.query('DELETE FROM video_mirrors WHERE video = ? AND pod = ?').run(video, failing.pod)
    return true
  }

  /** Forgets a pod's mirror of a file (`video.unmirror`); false when it was not known. */
  withdraw(video: string, infoHash: string, fingerprint: string): boolean {
    const pod = this.videoRows.knownPodId(fingerprint)
    return pod !== undefined && this.db.query('DELETE FROM video_mirrors WHERE video = ? AND info_hash = ? AND pod = ?').run(video, blob(infoHash), pod).changes > 0
  }

  /** Forgets every mirror a pod announced (the friendship ended). */
  forgetPod(fingerprint: string): void {
    const pod = this.videoRows.knownPodId(fingerprint)
    if (pod !== undefined) this.db.query('DELETE FROM video_mirrors WHERE pod = ?').run(pod)
  }

  /** Lists this pod's ready copy of a file: proven by its own download, never checked over the network. */
  addOwn(video: string, infoHash: string, rendition: number | null, now: number): void {
    const pod = this.videoRows.podId(this.self.fingerprint, this.self.url)
    this.db
      .query(
        `INSERT INTO video_mirrors (video, pod, info_hash, rendition, proven_at, failures, check_at) VALUES (?, ?, ?, ?, ?, 0, NULL)
         ON CONFLICT (video, pod, info_hash) DO UPDATE SET rendition = excluded.rendition, proven_at = excluded.proven_at, failures = 0, check_at = NULL`,
      )
      .run(video, pod, blob(infoHash), rendition, now)
  }

  /** Unlists this pod's copy of a file (dropped). */
  removeOwn(video: string, infoHash: string): void {
    this.withdraw(video, infoHash, this.self.fingerprint)
  }

  /** The mirrors of a video listed to viewers: proven ones (this pod's own copy included). */
  listed(video: string): KnownMirror[] {
    const rows = this.db.query('SELECT * FROM video_mirrors WHERE video = ? AND proven_at IS NOT NULL ORDER BY pod').all(video) as MirrorRow[]
    return rows.map((r) => this.mirrorOf(r))
  }

  private mirrorOf(r: MirrorRow): DueMirror {
    // Every mirror's pod is in the index (video_mirrors.pod references it).
    const pod = this.videoRows.pod(r.pod)!
    return { video: r.video, pod: r.pod, podUrl: pod.url, fingerprint: pod.fingerprint, infoHash: hex(r.info_hash), rendition: r.rendition, failures: r.failures, listed: r.proven_at !== null }
  }

  /** Mirrors whose check is due at `now`, the longest due first. */
  due(now: number, limit: number): DueMirror[] {
    const rows = this.db.query('SELECT * FROM video_mirrors WHERE check_at <= ? ORDER BY check_at LIMIT ?').all(now, limit) as MirrorRow[]
    return rows.map((r) => this.mirrorOf(r))
  }

  private update(set: string, m: DueMirror, ...values: (number | null)[]): void {
    this.db.query(`UPDATE video_mirrors SET ${set} WHERE video = ? AND pod = ? AND info_hash = ?`).run(...values, m.video, m.pod, blob(m.infoHash))
  }

  /** A check passed: listed, checked again at `next`. */
  proven(m: DueMirror, now: number, next: number): void {
    this.update('proven_at = ?, failures = 0, check_at = ?', m, now, next)
  }

  /** A check failed: unlisted, one more failure, checked again at `next`. */
  failed(m: DueMirror, next: number): void {
    this.update('proven_at = NULL, failures = failures + 1, check_at = ?', m, next)
  }

  /** This pod could not check the mirror now (through no fault of the mirror's): as it was, checked at `next`. */
  later(m: DueMirror, next: number): void {
    this.update('check_at = ?', m, next)
  }

  /** Forgets a mirror of a file no longer the video's (its origin replaced the stream), or a record of this pod's copy that it no longer keeps. */
  drop(m: DueMirror): void {
    this.db.query('DELETE FROM video_mirrors WHERE video = ? AND pod = ? AND info_hash = ?').run(m.video, m.pod, blob(m.infoHash))
  }

  /** The .torrent this pod's checks trust for a friend's file, as it was fetched from its origin. */
  trustedTorrent(infoHash: string): Uint8Array | undefined {
    const row = this.db.query('SELECT torrent FROM mirror_torrents WHERE info_hash = ?').get(blob(infoHash)) as { torrent: Uint8Array } | null
    return row ? new Uint8Array(row.torrent) : undefined
  }

  /** Whether this pod keeps a trusted .torrent of that file. */
  hasTrustedTorrent(infoHash: string): boolean {
    return this.db.query('SELECT 1 FROM mirror_torrents WHERE info_hash = ?').get(blob(infoHash)) !== null
  }

  /** Keeps the .torrent of a friend's file, checked against its info hash, while mirrors of the file are known. */
  keepTrustedTorrent(infoHash: string, torrent: Uint8Array): void {
    this.db.query('INSERT OR IGNORE INTO mirror_torrents (info_hash, torrent) VALUES (?, ?)').run(blob(infoHash), torrent)
  }

  /** Drops the trusted .torrent files of which no mirror is known any more; how many. */
  pruneTrustedTorrents(): number {
    return this.db.query('DELETE FROM mirror_torrents WHERE info_hash NOT IN (SELECT info_hash FROM video_mirrors)').run().changes
  }
}
