/**
 * Redundancy in SQLite: the copies this pod keeps of friends' videos' streams (`mirrors`, one
 * row per stream), and every mirror the network announced with `video.mirror`
 * (`video_mirrors`, one row per pod and file), whose URLs join the video's own so that it
 * still plays when its origin is down.
 */
import type { Database } from 'bun:sqlite'
import type { CopyCandidate, MirrorPort, OwnMirror } from '../../actors/redundancy'
import { playlistOf } from '../media/hls'
import { sourceParams, webseedUrl } from '../shared/urls'
import { podRow, type Video } from '../videos/model'
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

/** A stream of a video the index knows, not kept here yet, as the candidates query reads it. */
interface MissingRow {
  video: string
  rendition: number
  info_hash: Uint8Array
  size: number
}

/** Streams of a video that no copy of this pod keeps (a stream kept under another video counts as kept: one row per info hash). */
const MISSING = 'NOT EXISTS (SELECT 1 FROM mirrors m WHERE m.info_hash = s.info_hash)'

/** The mirror tables; also the redundancy actor's store port. */
export class MirrorStore implements MirrorPort {
  constructor(private readonly db: Database) {}

  /** The copies this pod keeps, oldest first. */
  own(): OwnMirror[] {
    return (this.db.query('SELECT * FROM mirrors ORDER BY created_at').all() as MirrorRow[]).map(toMirror)
  }

  /** This pod's ready copies of a video's streams. */
  keptOf(video: string): OwnMirror[] {
    return (this.db.query("SELECT * FROM mirrors WHERE video = ? AND state = 'ready' AND rendition IS NOT NULL").all(video) as MirrorRow[]).map(toMirror)
  }

  /** The keys a copy has in the pod's store: its file, its media playlist (beside it) and its .torrent. */
  keysOf(m: Pick<OwnMirror, 'file' | 'infoHash' | 'rendition'>): string[] {
    return [`mirrors/${m.file}`, ...(m.rendition === null ? [] : [`mirrors/${playlistOf(m.file)}`]), `torrents/${m.infoHash}.torrent`]
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
   * Copies whose stream is no longer one of its video's (the video left the index: removed at
   * its origin, or the friendship ended; or its origin replaced the stream), with why; and
   * whole-file copies of earlier releases.
   */
  orphans(): { mirror: OwnMirror; reason: string }[] {
    const rows = this.db
      .query(
        `SELECT m.*, EXISTS (SELECT 1 FROM videos v WHERE v.id = m.video) AS listed FROM mirrors m
         WHERE NOT EXISTS (SELECT 1 FROM video_streams s WHERE s.video = m.video AND s.rendition = m.rendition AND s.info_hash = m.info_hash)`,
      )
      .all() as (MirrorRow & { listed: number })[]
    return rows.map((r) => ({ mirror: toMirror(r), reason: r.listed ? 'the stream is no longer one of the video' : 'the video left the index' }))
  }

  /**
   * Friends' videos worth a copy, best first by the strategy, each with the streams no copy
   * of this pod keeps yet: not this pod's videos, only videos with streams (a video of a pod
   * of an earlier release, or stored before streams, waits until its origin packages it), and
   * only where every missing stream fits in `room` bytes together (a copy keeps every stream
   * of its video). A copy's size is the sum of its streams'.
   */
  candidates(self: string, room: number, strategy: 'recent' | 'smallest', limit: number): CopyCandidate[] {
    const missingBytes = `(SELECT sum(s.size) FROM video_streams s WHERE s.video = v.id AND ${MISSING})`
    const order = strategy === 'smallest' ? 'missing ASC' : 'v.created_at DESC'
    const rows = this.db
      .query(
        `WITH chosen AS (
           SELECT v.id, v.created_at, ${missingBytes} AS missing FROM videos v JOIN pods p ON p.id = v.pod
           WHERE p.fingerprint != ?1 AND missing IS NOT NULL AND missing <= ?2
           ORDER BY ${order} LIMIT ?3
         )
         SELECT s.video, s.rendition, s.info_hash, s.size FROM chosen c JOIN video_streams s ON s.video = c.id
         WHERE ${MISSING} ORDER BY ${strategy === 'smallest' ? 'c.missing ASC' : 'c.created_at DESC'}, c.id, s.rendition`,
      )
      .all(self, room, limit) as MissingRow[]
    const videos = new Map<string, CopyCandidate>()
    for (const r of rows) {
      const c = videos.get(r.video) ?? videos.set(r.video, { id: r.video, size: 0, streams: [] }).get(r.video)!
      c.streams.push({ rendition: r.rendition, infoHash: Buffer.from(r.info_hash).toString('hex'), size: r.size })
      c.size += r.size
    }
    return [...videos.values()]
  }

  /**
   * Records a mirror announced by a pod: with `rendition`, a copy of that stream of the video
   * (and its playlist), recorded only if the info hash is that stream's; without it (a pod of
   * an earlier release), a copy of the original file, only if the info hash is the original's.
   * Only for a video whose origin is a friend (`friendOrigin`), and at most MAX_MIRRORS pods
   * per video: a friend cannot graft its files onto anyone's video, nor grow a video's lists
   * without bound (a pod has at most one row per stream). Returns false when it is not recorded.
   */
  addKnown(
    video: string,
    infoHash: string,
    rendition: number | undefined,
    pod: { fingerprint: string; url: string },
    friendOrigin: (fingerprint: string) => boolean = () => true,
  ): boolean {
    const hash = Buffer.from(infoHash, 'hex')
    const row = (
      rendition === undefined
        ? this.db.query('SELECT p.fingerprint FROM videos v JOIN pods p ON p.id = v.pod WHERE v.id = ? AND v.info_hash = ?').get(video, hash)
        : this.db
            .query('SELECT p.fingerprint FROM video_streams s JOIN videos v ON v.id = s.video JOIN pods p ON p.id = v.pod WHERE s.video = ? AND s.info_hash = ? AND s.rendition = ?')
            .get(video, hash, rendition)
    ) as { fingerprint: string } | null
    if (!row || (row.fingerprint !== pod.fingerprint && !friendOrigin(row.fingerprint))) return false
    const podId = podRow(this.db, pod.fingerprint, pod.url)
    const others = (this.db.query('SELECT count(DISTINCT pod) AS n FROM video_mirrors WHERE video = ? AND pod != ?').get(video, podId) as { n: number }).n
    if (others >= MAX_MIRRORS) return false
    this.db.query('INSERT OR REPLACE INTO video_mirrors (video, pod, info_hash, rendition) VALUES (?, ?, ?, ?)').run(video, podId, hash, rendition ?? null)
    return true
  }

  removeKnown(video: string, infoHash: string, fingerprint: string): boolean {
    return (
      this.db
        .query('DELETE FROM video_mirrors WHERE video = ? AND info_hash = ? AND pod = (SELECT id FROM pods WHERE fingerprint = ?)')
        .run(video, Buffer.from(infoHash, 'hex'), fingerprint).changes > 0
    )
  }

  /** Forgets every mirror a pod announced (the friendship ended). */
  removeKnownOf(fingerprint: string): void {
    this.db.query('DELETE FROM video_mirrors WHERE pod = (SELECT id FROM pods WHERE fingerprint = ?)').run(fingerprint)
  }

  /** The mirrors of a video known to this pod (its own copy included). */
  knownOf(video: string): KnownMirror[] {
    return (
      this.db.query('SELECT p.url, p.fingerprint, m.info_hash, m.rendition FROM video_mirrors m JOIN pods p ON p.id = m.pod WHERE m.video = ? ORDER BY p.id').all(video) as {
        url: string
        fingerprint: string
        info_hash: Uint8Array
        rendition: number | null
      }[]
    ).map((r) => ({ podUrl: r.url, fingerprint: r.fingerprint, infoHash: Buffer.from(r.info_hash).toString('hex'), rendition: r.rendition }))
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
