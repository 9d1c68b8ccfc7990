/**
 * The videos' tables, and every write to them: the network index (pods, uploaders, videos and
 * their full-text tables, src/shared/db.ts), each video's renditions (video_files) and streams
 * (video_streams), this pod's own videos (local_videos) and the friends' thumbnails cached in
 * the bucket (cached_thumbnails). Other features read and change videos through this store;
 * only the index's search (search.ts) reads the index's tables itself, with its own plans.
 *
 * A row keeps what cannot be derived (id, texts, info hash, file extension, sizes, dates)
 * and its origin pod; the magnet URI, torrent, web seed and thumbnail URLs are derived from
 * the origin's current URL (model.ts), so a million videos stay small and `pod.moved` moves them all.
 */
import type { Database } from 'bun:sqlite'
import { INDEX_SAMPLE_EVERY } from '../shared/db'
import { gramsOf } from './grams'
import { extOf, videoOfRow, type OwnMedia, type OwnRow, type StreamFile, type Video, type VideoRow } from './model'
import type { RenditionIn } from './renditions'
import type { StreamIn } from './streams'

/**
 * Columns of `VideoRow`, for queries that join videos (v) with pods (p). The uploader's name
 * is looked up by its key (names are stored once, in `uploaders`), only for the rows returned;
 * a NULL extension is mp4 (see src/shared/db.ts).
 */
export const VIDEO_COLUMNS =
  "v.seq, v.id, v.name, v.description, (SELECT name FROM uploaders WHERE id = v.uploader) AS uploader, v.info_hash, coalesce(v.ext, 'mp4') AS ext, v.duration, v.size, v.created_at, v.updated_at, p.url AS pod_url, p.fingerprint AS pod_fingerprint"

/**
 * The FTS5 query for every video of a pod (by its id in `pods`): its token, which videos_text
 * (src/shared/db.ts) adds to each video's text. How the index finds a pod's videos: it has no index
 * on the pod column.
 */
export function podMatch(pod: number): string {
  return `"\u{E000}${pod}"`
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')

const LOCAL = `SELECT ${VIDEO_COLUMNS}, l.mime FROM local_videos l JOIN videos v ON v.id = l.video JOIN pods p ON p.id = v.pod`
const OWN_RENDITIONS = 'SELECT f.video, f.resolution, f.info_hash FROM video_files f JOIN local_videos l ON l.video = f.video'

/** The videos' tables of one pod's database. */
export class VideoStore {
  constructor(private readonly db: Database) {}

  // --- pods --------------------------------------------------------------------------------

  /** The id of a pod in the index, adding it (or refreshing its URL). */
  podId(fingerprint: string, url: string): number {
    // Read first: every video of a friend's list comes through here, and the pod rarely changes.
    const known = this.db.query('SELECT id, url FROM pods WHERE fingerprint = ?').get(fingerprint) as { id: number; url: string } | null
    if (known?.url === url) return known.id
    return (
      this.db.query('INSERT INTO pods (fingerprint, url) VALUES (?, ?) ON CONFLICT (fingerprint) DO UPDATE SET url = excluded.url RETURNING id').get(fingerprint, url) as {
        id: number
      }
    ).id
  }

  /** The id of a pod the index knows, without adding it. */
  knownPodId(fingerprint: string): number | undefined {
    return (this.db.query('SELECT id FROM pods WHERE fingerprint = ?').get(fingerprint) as { id: number } | null)?.id
  }

  /** A pod of the index by its id. */
  pod(id: number): { url: string; fingerprint: string } | undefined {
    return (this.db.query('SELECT url, fingerprint FROM pods WHERE id = ?').get(id) as { url: string; fingerprint: string } | null) ?? undefined
  }

  /** Points a pod's videos at its new URL (after `pod.moved`). */
  movePod(podFingerprint: string, newUrl: string): void {
    this.db.query('UPDATE pods SET url = ? WHERE fingerprint = ?').run(newUrl, podFingerprint)
  }

  /** How many videos of a pod the index holds (kept by the index's triggers, not counted). */
  podVideoCount(fingerprint: string): number {
    return (this.db.query('SELECT videos FROM pods WHERE fingerprint = ?').get(fingerprint) as { videos: number } | null)?.videos ?? 0
  }

  // --- the index ---------------------------------------------------------------------------

  /** The key of an uploader's name, adding the name if new (the videos triggers remove unused names). */
  private uploaderId(name: string): number {
    const known = this.db.query('SELECT id FROM uploaders WHERE name = ?').get(name) as { id: number } | null
    return known?.id ?? (this.db.query('INSERT INTO uploaders (name) VALUES (?) RETURNING id').get(name) as { id: number }).id
  }

  /**
   * Inserts or updates a video of the index under its origin pod (`podUrl` is the URL this pod
   * knows the origin by). An existing row of another origin is left alone (returns false): a pod
   * cannot overwrite another pod's video by reusing its id.
   *
   * A new video is indexed for search (and sampled, and counted) here rather than by triggers
   * (see src/shared/db.ts: FTS5 writes out its pending terms at every statement savepoint), so every
   * statement below is a single-row write, and no savepoint is opened inside a caller's
   * transaction.
   */
  upsert(v: Video, podUrl: string, now: number): boolean {
    const db = this.db
    const write = () => {
      const pod = this.podId(v.podFingerprint, podUrl)
      const uploader = this.uploaderId(v.uploader)
      const infoHash = Buffer.from(/xt=urn:btih:([0-9a-fA-F]{40})/.exec(v.magnetUri)![1]!, 'hex')
      const ext = extOf(v)
      const grams = gramsOf(v.name, v.description, v.uploader)
      const values = [v.id, pod, v.name, v.description, uploader, infoHash, ext === 'mp4' ? null : ext, v.duration, v.size, Date.parse(v.createdAt), now, grams] as const
      const added = db
        .query(
          `INSERT INTO videos (id, pod, name, description, uploader, info_hash, ext, duration, size, created_at, updated_at, grams)
           VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) ON CONFLICT (id) DO NOTHING`,
        )
        .run(...values)
      if (added.changes > 0) {
        const seq = Number(added.lastInsertRowid)
        // What videos_text shows for the row, computed alike (FTS5 must be given exactly that).
        // Not INSERT ... SELECT from the view: that is a multi-row statement, with a savepoint.
        db.query(
          `INSERT INTO videos_fts (rowid, name, description, uploader, grams, pod)
           VALUES (?1, replace(?2, char(57344), ''), replace(?3, char(57344), ''), replace(?4, char(57344), ''), replace(?6, char(57344), ''), char(57344) || ?5)`,
        ).run(seq, v.name, v.description, v.uploader, pod, grams)
        if (seq % INDEX_SAMPLE_EVERY === 0) {
          db.query(
            `INSERT INTO videos_sample (rowid, name, description, uploader, grams)
             VALUES (?1, replace(?2, char(57344), ''), replace(?3, char(57344), ''), replace(?4, char(57344), ''), replace(?5, char(57344), ''))`,
          ).run(seq, v.name, v.description, v.uploader, grams)
        }
        db.query('UPDATE pods SET videos = videos + 1 WHERE id = ?').run(pod)
        db.query('UPDATE uploaders SET videos = videos + 1 WHERE id = ?').run(uploader)
        return true
      }
      // Known id: only its origin may change it (the triggers re-index changed texts).
      const updated = db
        .query(
          `UPDATE videos SET name = ?3, description = ?4, uploader = ?5, info_hash = ?6, ext = ?7, duration = ?8, size = ?9, updated_at = ?11, grams = ?12
           WHERE id = ?1 AND pod = ?2`,
        )
        .run(...values)
      // Refused: a name added just for this video would stay with no video to remove it.
      if (updated.changes === 0) db.query('DELETE FROM uploaders WHERE id = ? AND videos = 0').run(uploader)
      return updated.changes > 0
    }
    // Inside a caller's transaction, no savepoint of our own (it would cost FTS5 a flush).
    return db.inTransaction ? write() : db.transaction(write).immediate()
  }

  /**
   * Indexes a friend's video as its origin announced it (`video.add`/`video.update`, friend
   * making): the row, then its renditions and streams; false when the row is another origin's.
   */
  index(v: Video, podUrl: string, now: number): boolean {
    const ok = this.upsert(v, podUrl, now)
    if (ok && v.files) this.saveRenditions(v.id, v.files)
    if (ok && v.streams) this.saveStreams(v.id, v.streams)
    return ok
  }

  /** Removes one video of an origin pod; returns whether it existed. */
  remove(id: string, podFingerprint: string): boolean {
    return this.db.query('DELETE FROM videos WHERE id = ? AND pod = (SELECT id FROM pods WHERE fingerprint = ?)').run(id, podFingerprint).changes > 0
  }

  /** Removes every video of an origin pod (a friendship ended); returns how many. */
  removeAllOf(podFingerprint: string): number {
    const pod = this.knownPodId(podFingerprint)
    if (pod === undefined) return 0
    return this.db.query('DELETE FROM videos WHERE seq IN (SELECT rowid FROM videos_fts WHERE videos_fts MATCH ?)').run(podMatch(pod)).changes
  }

  /** Every video whose origin is the given pod, oldest first, with its renditions and streams (what a new friend is sent). */
  videosOf(podFingerprint: string): Video[] {
    const pod = this.knownPodId(podFingerprint)
    if (pod === undefined) return []
    return (
      this.db
        .query(`SELECT ${VIDEO_COLUMNS} FROM videos v JOIN pods p ON p.id = v.pod WHERE v.seq IN (SELECT rowid FROM videos_fts WHERE videos_fts MATCH ?) ORDER BY v.created_at, v.id`)
        .all(podMatch(pod)) as VideoRow[]
    ).map((r) => {
      const streams = this.streams(r.id)
      return { ...videoOfRow(r), files: this.renditions(r.id), ...(streams.length ? { streams } : {}) }
    })
  }

  /** One row of the index by id. */
  row(id: string): VideoRow | undefined {
    return (this.db.query(`SELECT ${VIDEO_COLUMNS} FROM videos v JOIN pods p ON p.id = v.pod WHERE v.id = ?`).get(id) as VideoRow | null) ?? undefined
  }

  /** Whether the index has a video. */
  has(id: string): boolean {
    return this.db.query('SELECT 1 FROM videos WHERE id = ?').get(id) !== null
  }

  /** The origin's fingerprint of a video of the index whose original has this info hash. */
  originOf(id: string, infoHash: string): string | undefined {
    const row = this.db.query('SELECT p.fingerprint FROM videos v JOIN pods p ON p.id = v.pod WHERE v.id = ? AND v.info_hash = ?').get(id, Buffer.from(infoHash, 'hex')) as {
      fingerprint: string
    } | null
    return row?.fingerprint
  }

  /** The origin's fingerprint of a video of the index that has this stream. */
  streamOriginOf(id: string, rendition: number, infoHash: string): string | undefined {
    const row = this.db
      .query('SELECT p.fingerprint FROM video_streams s JOIN videos v ON v.id = s.video JOIN pods p ON p.id = v.pod WHERE s.video = ? AND s.rendition = ? AND s.info_hash = ?')
      .get(id, rendition, Buffer.from(infoHash, 'hex')) as { fingerprint: string } | null
    return row?.fingerprint
  }

  /**
   * Other pods' videos with streams, best first by the strategy (`smallest`: the fewest
   * bytes to copy), each with its streams whose info hash is not in `kept` (the files a copy
   * is kept of already), where those come to `room` bytes at most together.
   */
  streamCopyCandidates(self: string, room: number, strategy: 'recent' | 'smallest', limit: number, kept: readonly string[]): { id: string; size: number; streams: StreamFile[] }[] {
    const missing = 'lower(hex(s.info_hash)) NOT IN kept'
    const order = strategy === 'smallest' ? 'missing ASC' : 'created_at DESC'
    const rows = this.db
      .query(
        `WITH kept AS (SELECT value FROM json_each(?4)),
         chosen AS (
           SELECT v.id, v.created_at, (SELECT sum(s.size) FROM video_streams s WHERE s.video = v.id AND ${missing}) AS missing
           FROM videos v JOIN pods p ON p.id = v.pod
           WHERE p.fingerprint != ?1 AND missing IS NOT NULL AND missing <= ?2 ORDER BY ${order} LIMIT ?3
         )
         SELECT s.video, s.rendition, s.info_hash, s.size FROM chosen c JOIN video_streams s ON s.video = c.id WHERE ${missing} ORDER BY ${order}, c.id, s.rendition`,
      )
      .all(self, room, limit, JSON.stringify(kept)) as { video: string; rendition: number; info_hash: Uint8Array; size: number }[]
    const videos = new Map<string, { id: string; size: number; streams: StreamFile[] }>()
    for (const r of rows) {
      const c = videos.get(r.video) ?? videos.set(r.video, { id: r.video, size: 0, streams: [] }).get(r.video)!
      c.streams.push({ rendition: r.rendition, infoHash: hex(r.info_hash), size: r.size })
      c.size += r.size
    }
    return [...videos.values()]
  }

  // --- renditions and streams --------------------------------------------------------------

  /** Replaces the renditions the index knows of a video. */
  saveRenditions(videoId: string, files: readonly RenditionIn[]): void {
    this.db.query('DELETE FROM video_files WHERE video = ?').run(videoId)
    const insert = this.db.query("INSERT INTO video_files (video, resolution, info_hash, ext, size) VALUES (?, ?, ?, 'mp4', ?)")
    for (const f of files) insert.run(videoId, f.resolution, Buffer.from(f.infoHash, 'hex'), f.size)
  }

  /** The renditions of a video, lowest first. */
  renditions(videoId: string): RenditionIn[] {
    const rows = this.db.query('SELECT resolution, info_hash, size FROM video_files WHERE video = ? ORDER BY resolution').all(videoId) as { resolution: number; info_hash: Uint8Array; size: number }[]
    return rows.map((r) => ({ resolution: r.resolution, infoHash: hex(r.info_hash), size: r.size }))
  }

  /** Replaces the streams the index knows of a video (inside the caller's transaction). */
  saveStreams(videoId: string, streams: readonly StreamIn[]): void {
    this.db.query('DELETE FROM video_streams WHERE video = ?').run(videoId)
    for (const s of streams) this.saveStream(videoId, s)
  }

  /** Adds or replaces one stream of a video. */
  saveStream(videoId: string, s: StreamIn): void {
    this.db
      .query('INSERT OR REPLACE INTO video_streams (video, rendition, info_hash, size, width, height, bandwidth, codecs, aligned) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
      .run(videoId, s.rendition, Buffer.from(s.infoHash, 'hex'), s.size, s.width, s.height, s.bandwidth, s.codecs ?? null, s.aligned === undefined ? null : Number(s.aligned))
  }

  /** Forgets one stream of a video. */
  dropStream(videoId: string, rendition: number): void {
    this.db.query('DELETE FROM video_streams WHERE video = ? AND rendition = ?').run(videoId, rendition)
  }

  /** Whether a video of the index has this stream. */
  hasStream(id: string, rendition: number, infoHash: string): boolean {
    return this.db.query('SELECT 1 FROM video_streams WHERE video = ? AND rendition = ? AND info_hash = ?').get(id, rendition, Buffer.from(infoHash, 'hex')) !== null
  }

  /** The streams of a video, lowest first (by height, then bit rate). */
  streams(videoId: string): StreamIn[] {
    const rows = this.db.query('SELECT rendition, info_hash, size, width, height, bandwidth, codecs, aligned FROM video_streams WHERE video = ? ORDER BY height, bandwidth').all(videoId) as {
      rendition: number
      info_hash: Uint8Array
      size: number
      width: number
      height: number
      bandwidth: number
      codecs: string | null
      aligned: number | null
    }[]
    return rows.map((r) => ({
      rendition: r.rendition,
      infoHash: hex(r.info_hash),
      size: r.size,
      width: r.width,
      height: r.height,
      bandwidth: r.bandwidth,
      ...(r.codecs ? { codecs: r.codecs } : {}),
      ...(r.aligned === null ? {} : { aligned: r.aligned === 1 }),
    }))
  }

  // --- own videos --------------------------------------------------------------------------

  /** Records an own video's original (inside the transaction that writes its index row). */
  addOwn(id: string, owner: number, mime: string, media: { width: number; height: number; audio: string }): void {
    this.db.query('INSERT INTO local_videos (video, owner, mime, width, height, audio) VALUES (?, ?, ?, ?, ?, ?)').run(id, owner, mime, media.width, media.height, media.audio)
  }

  /** Every own video, in the order they were added. */
  ownRows(): OwnRow[] {
    return this.db.query(`${LOCAL} ORDER BY v.seq`).all() as OwnRow[]
  }

  /** One own video; undefined for another pod's or an unknown one. */
  ownRow(id: string): OwnRow | undefined {
    return (this.db.query(`${LOCAL} WHERE v.id = ?`).get(id) as OwnRow | null) ?? undefined
  }

  /** The own video whose original has this info hash. */
  ownRowByInfoHash(infoHash: string): OwnRow | undefined {
    return (this.db.query(`${LOCAL} WHERE v.info_hash = ?`).get(Buffer.from(infoHash, 'hex')) as OwnRow | null) ?? undefined
  }

  /** Every rendition of own videos. */
  ownRenditions(): { video: string; resolution: number; infoHash: string }[] {
    const rows = this.db.query(`${OWN_RENDITIONS} ORDER BY f.video, f.resolution`).all() as { video: string; resolution: number; info_hash: Uint8Array }[]
    return rows.map((r) => ({ video: r.video, resolution: r.resolution, infoHash: hex(r.info_hash) }))
  }

  /** The info hash of an own video's rendition. */
  ownRendition(id: string, resolution: number): string | undefined {
    const row = this.db.query(`${OWN_RENDITIONS} WHERE f.video = ? AND f.resolution = ?`).get(id, resolution) as { info_hash: Uint8Array } | null
    return row ? hex(row.info_hash) : undefined
  }

  /** The own rendition with this info hash. */
  ownRenditionByInfoHash(infoHash: string): { video: string; resolution: number } | undefined {
    return (this.db.query(`${OWN_RENDITIONS} WHERE f.info_hash = ?`).get(Buffer.from(infoHash, 'hex')) as { video: string; resolution: number } | null) ?? undefined
  }

  /**
   * What own videos of earlier releases lack (src/transcoding/repackage.ts), of every own
   * video or of one: originals without a stream that this release has not probed (their
   * audio is not noted) or with a stream of unknown alignment, and renditions without a stream.
   */
  unpackaged(id?: string): { originals: string[]; renditions: { video: string; resolution: number }[] } {
    const one = id === undefined ? '' : ' AND l.video = ?1'
    const args = id === undefined ? [] : [id]
    const originals = this.db
      .query(
        `SELECT l.video FROM local_videos l LEFT JOIN video_streams s ON s.video = l.video AND s.rendition = 0
         WHERE ((s.video IS NULL AND l.audio IS NULL) OR (s.video IS NOT NULL AND s.aligned IS NULL))${one} ORDER BY l.video`,
      )
      .all(...args) as { video: string }[]
    const renditions = this.db
      .query(`${OWN_RENDITIONS} LEFT JOIN video_streams s ON s.video = f.video AND s.rendition = f.resolution WHERE s.video IS NULL${one} ORDER BY f.video, f.resolution`)
      .all(...args) as { video: string; resolution: number }[]
    return { originals: originals.map((o) => o.video), renditions: renditions.map((r) => ({ video: r.video, resolution: r.resolution })) }
  }

  /** Notes what was probed of an own video's original, and its content type when it changed (re-packaging). */
  noteOwnMedia(id: string, media: { width: number; height: number; audio: string }, mime?: string): void {
    this.db.query('UPDATE local_videos SET width = ?, height = ?, audio = ?, mime = coalesce(?, mime) WHERE video = ?').run(media.width, media.height, media.audio, mime ?? null, id)
  }

  /** The user who uploaded an own video. */
  owner(id: string): number | undefined {
    return (this.db.query('SELECT owner FROM local_videos WHERE video = ?').get(id) as { owner: number } | null)?.owner
  }

  /** What was probed of an own video's original; undefined for another pod's or an unknown one. */
  ownMedia(id: string): OwnMedia | undefined {
    return (this.db.query('SELECT v.duration, l.width, l.height, l.audio FROM videos v JOIN local_videos l ON l.video = v.id WHERE v.id = ?').get(id) as OwnMedia | null) ?? undefined
  }

  /** A video's name and duration, as the index has them. */
  summary(id: string): { name: string; duration: number | null } | undefined {
    return (this.db.query('SELECT name, duration FROM videos WHERE id = ?').get(id) as { name: string; duration: number | null } | null) ?? undefined
  }

  // --- friends' thumbnails cached in the bucket (src/videos/thumbnails.ts) -----------------

  /** The videos whose thumbnail is cached in the bucket. */
  cachedThumbnails(): string[] {
    return (this.db.query('SELECT video FROM cached_thumbnails').all() as { video: string }[]).map((r) => r.video)
  }

  isThumbnailCached(id: string): boolean {
    return this.db.query('SELECT 1 FROM cached_thumbnails WHERE video = ?').get(id) !== null
  }

  /** Records a cached thumbnail, only while its video is in the index (its cascade removes the row with it); false when it is not. */
  cacheThumbnail(id: string): boolean {
    return this.db.query('INSERT OR IGNORE INTO cached_thumbnails (video) SELECT id FROM videos WHERE id = ?').run(id).changes > 0
  }

  /** Forgets cached thumbnails (their objects are gone). */
  forgetThumbnails(ids: readonly string[]): void {
    const gone = this.db.query('DELETE FROM cached_thumbnails WHERE video = ?')
    this.db.transaction(() => {
      for (const id of ids) gone.run(id)
    })()
  }
}
