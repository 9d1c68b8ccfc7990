/**
 * Redundancy in SQLite: the copies this pod keeps of friends' videos' streams (`mirrors`, one
 * row per stream). The mirrors the network announced are known-store.ts's.
 */
import type { Database } from 'bun:sqlite'
import type { CopyCandidate, MirrorPort, OwnMirror } from '../../actors/redundancy'
import { copyKeys } from '../storage/keys'
import type { MoveItem } from '../storage/migrate'
import type { VideoStore } from '../videos/store'

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

/** The table of this pod's copies; also the redundancy actor's store port. */
export class MirrorStore implements MirrorPort {
  constructor(
    private readonly db: Database,
    /** The videos' tables (the index, whose videos are copied). */
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
