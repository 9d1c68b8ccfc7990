/**
 * Friends in SQLite: the friend rows (each friend actor's durable record), the durable
 * outbox, the blacklist, applied message ids, and pod-wide settings. Every multi-row change
 * is one transaction; read-modify-write ones are `.immediate`.
 */
import type { Database } from 'bun:sqlite'
import type { JWK } from 'jose'
import type { FriendRecord, FriendState } from '../../actors/friend'
import type { Message } from '../federation/envelope'

/** A friend as stored. */
export interface Friend extends FriendRecord {
  fingerprint: string
  url: string
  publicKey: JWK
  name: string
  createdAt: number
  /** Messages waiting in its outbox. */
  queued: number
}

interface FriendRow {
  fingerprint: string
  url: string
  public_key: string
  name: string
  score: number
  state: FriendState
  attempts: number
  next_retry_at: number | null
  last_error: string | null
  created_at: number
  queued: number
}

const SELECT_FRIEND = `SELECT f.*, (SELECT count(*) FROM outbox o WHERE o.friend = f.fingerprint) AS queued FROM friends f`

const toFriend = (r: FriendRow): Friend => ({
  fingerprint: r.fingerprint,
  url: r.url,
  publicKey: JSON.parse(r.public_key),
  name: r.name,
  score: r.score,
  state: r.state,
  attempts: r.attempts,
  nextRetryAt: r.next_retry_at,
  lastError: r.last_error,
  createdAt: r.created_at,
  queued: r.queued,
})

/** A pod that asked to become a friend and waits for an admin. */
export interface FriendRequest {
  fingerprint: string
  url: string
  name: string
  publicKey: JWK
  /** The address the request came from. */
  address: string
}

interface FriendRequestRow {
  fingerprint: string
  url: string
  name: string
  public_key: string
  address: string
  created_at: number
}

const toRequest = (r: FriendRequestRow) => ({ fingerprint: r.fingerprint, url: r.url, name: r.name, publicKey: JSON.parse(r.public_key) as JWK, address: r.address, createdAt: r.created_at })

/** A batch of queued messages, sent (and resent) under one `jti`. */
export interface Batch {
  jti: string
  messages: Message[]
}

/** Limits on one batch: how many messages and how many bytes of message data. */
export interface BatchLimits {
  messages: number
  bytes: number
}

/** Score points kept per friend: the admin chart's history, bounded. */
export const SCORE_HISTORY_MAX = 500

/** The SQL side of friendships. */
export class FriendStore {
  constructor(private readonly db: Database) {}

  all(): Friend[] {
    return (this.db.query(`${SELECT_FRIEND} ORDER BY f.created_at, f.fingerprint`).all() as FriendRow[]).map(toFriend)
  }

  get(fingerprint: string): Friend | undefined {
    const row = this.db.query(`${SELECT_FRIEND} WHERE f.fingerprint = ?`).get(fingerprint) as FriendRow | null
    return row ? toFriend(row) : undefined
  }

  /** A friend's URL (undefined for a stranger), without the counts `get` adds. */
  urlOf(fingerprint: string): string | undefined {
    return (this.db.query('SELECT url FROM friends WHERE fingerprint = ?').get(fingerprint) as { url: string } | null)?.url
  }

  /** Adds a friend, or refreshes the URL, key and name of an existing one (keeping its score). */
  upsert(f: { fingerprint: string; url: string; publicKey: JWK; name: string }, initialScore: number, now: number): void {
    this.db
      .query(
        `INSERT INTO friends (fingerprint, url, public_key, name, score, state, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, 'active', ?6, ?6)
         ON CONFLICT (fingerprint) DO UPDATE SET url = ?2, public_key = ?3, name = ?4, updated_at = ?6`,
      )
      .run(f.fingerprint, f.url, JSON.stringify(f.publicKey), f.name, initialScore, now)
  }

  /**
   * Saves a friend actor's record. A score that differs from the last one in the friend's
   * history (or a first score) is added to it; each friend keeps its latest SCORE_HISTORY_MAX.
   */
  saveRecord(fingerprint: string, r: FriendRecord, now: number): void {
    this.db.transaction(() => {
      const changed = this.db
        .query('UPDATE friends SET score = ?, state = ?, attempts = ?, next_retry_at = ?, last_error = ?, updated_at = ? WHERE fingerprint = ?')
        .run(r.score, r.state, r.attempts, r.nextRetryAt, r.lastError, now, fingerprint).changes
      if (!changed) return
      const last = this.db.query('SELECT score FROM friend_scores WHERE fingerprint = ? ORDER BY at DESC, rowid DESC LIMIT 1').get(fingerprint) as { score: number } | null
      if (last?.score === r.score) return
      this.db.query('INSERT INTO friend_scores (fingerprint, at, score) VALUES (?, ?, ?)').run(fingerprint, now, r.score)
      // Keep the latest points only (the index makes this a short walk per friend).
      this.db
        .query(
          `DELETE FROM friend_scores WHERE fingerprint = ?1 AND rowid IN (
             SELECT rowid FROM friend_scores WHERE fingerprint = ?1 ORDER BY at DESC, rowid DESC LIMIT -1 OFFSET ?2)`,
        )
        .run(fingerprint, SCORE_HISTORY_MAX)
    })()
  }

  /** A friend's score history, oldest first (at most SCORE_HISTORY_MAX points). */
  scoreHistory(fingerprint: string): { at: number; score: number }[] {
    return this.db.query('SELECT at, score FROM friend_scores WHERE fingerprint = ? ORDER BY at, rowid').all(fingerprint) as { at: number; score: number }[]
  }

  setUrl(fingerprint: string, url: string, now: number): void {
    this.db.query('UPDATE friends SET url = ?, updated_at = ? WHERE fingerprint = ?').run(url, now, fingerprint)
  }

  /** Removes a friend and its outbox (the caller removes its videos in the same transaction). */
  remove(fingerprint: string): boolean {
    // Its applied message ids go too: nothing it sent matters once it is gone.
    this.db.query('DELETE FROM applied_messages WHERE sender = ?').run(fingerprint)
    return this.db.query('DELETE FROM friends WHERE fingerprint = ?').run(fingerprint).changes > 0
  }

  /** How many friends there are. */
  count(): number {
    return (this.db.query('SELECT count(*) AS n FROM friends').get() as { n: number }).n
  }

  /** Queues messages for friends (every friend if `to` is 'all'); returns who got them. */
  enqueue(to: string[] | 'all', messages: Message[], now: number): string[] {
    return this.db.transaction(() => {
      const fps = to === 'all' ? (this.db.query('SELECT fingerprint FROM friends').all() as { fingerprint: string }[]).map((r) => r.fingerprint) : to
      const insert = this.db.query('INSERT INTO outbox (friend, type, data, created_at) SELECT fingerprint, ?, ?, ? FROM friends WHERE fingerprint = ?')
      const reached: string[] = []
      for (const fp of fps) {
        let changed = 0
        for (const m of messages) changed += insert.run(m.type, JSON.stringify(m.data ?? null), now, fp).changes
        if (changed) reached.push(fp)
      }
      return reached
    }).immediate()
  }

  /**
   * Queues `count` views of a video for its origin: added to the `video.viewed` already waiting
   * (not yet sent) for that video, if there is one, so that a flood of views is one message
   * per video, not one row each. Returns whether the friend exists.
   */
  addViews(fingerprint: string, video: string, count: number, now: number): boolean {
    return this.db.transaction(() => {
      const waiting = this.db
        .query("SELECT id, data FROM outbox WHERE friend = ? AND type = 'video.viewed' AND batch IS NULL AND json_extract(data, '$.id') = ? LIMIT 1")
        .get(fingerprint, video) as { id: number; data: string } | null
      if (waiting) {
        const total = ((JSON.parse(waiting.data) as { count?: number }).count ?? 1) + count
        this.db.query('UPDATE outbox SET data = ? WHERE id = ?').run(JSON.stringify({ id: video, count: total }), waiting.id)
        return true
      }
      return this.enqueue([fingerprint], [{ type: 'video.viewed', data: { id: video, count } }], now).length > 0
    }).immediate()
  }

  hasQueued(fingerprint: string): boolean {
    return this.db.query('SELECT 1 FROM outbox WHERE friend = ? LIMIT 1').get(fingerprint) !== null
  }

  /**
   * The batch to send to a friend: the one already sent and not yet acknowledged (same
   * `jti`, so the receiver can tell a resend), else a new one of the oldest messages.
   */
  takeBatch(fingerprint: string, limits: BatchLimits): Batch | undefined {
    return this.db.transaction(() => {
      const open = this.db.query('SELECT batch FROM outbox WHERE friend = ? AND batch IS NOT NULL LIMIT 1').get(fingerprint) as { batch: string } | null
      let jti = open?.batch
      if (!jti) {
        const rows = this.db
          .query('SELECT id, length(data) AS bytes FROM outbox WHERE friend = ? ORDER BY id LIMIT ?')
          .all(fingerprint, limits.messages) as { id: number; bytes: number }[]
        if (!rows.length) return undefined
        let total = 0
        let last = rows[0]!.id
        for (const r of rows) {
          // Always take at least one message, even an oversized one, so the queue moves.
          if (total > 0 && total + r.bytes > limits.bytes) break
          total += r.bytes
          last = r.id
        }
        jti = crypto.randomUUID()
        this.db.query('UPDATE outbox SET batch = ? WHERE friend = ? AND id <= ? AND batch IS NULL').run(jti, fingerprint, last)
      }
      const messages = (this.db.query('SELECT type, data FROM outbox WHERE friend = ? AND batch = ? ORDER BY id').all(fingerprint, jti) as { type: string; data: string }[]).map(
        (r) => ({ type: r.type, data: JSON.parse(r.data) }),
      )
      return { jti, messages }
    }).immediate()
  }

  /** Drops an acknowledged batch from the outbox. */
  completeBatch(fingerprint: string, jti: string): number {
    return this.db.query('DELETE FROM outbox WHERE friend = ? AND batch = ?').run(fingerprint, jti).changes
  }

  // --- the blacklist -------------------------------------------------------------------

  blacklisted(fingerprint: string): boolean {
    return this.db.query('SELECT 1 FROM blacklist WHERE fingerprint = ?').get(fingerprint) !== null
  }

  blacklist(fingerprint: string, url: string, reason: string, now: number): void {
    this.db
      .query('INSERT INTO blacklist (fingerprint, url, reason, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (fingerprint) DO UPDATE SET reason = excluded.reason')
      .run(fingerprint, url, reason, now)
  }

  blacklistEntries(): { fingerprint: string; url: string; reason: string; since: string }[] {
    return (this.db.query('SELECT * FROM blacklist ORDER BY created_at').all() as { fingerprint: string; url: string; reason: string; created_at: number }[]).map((r) => ({
      fingerprint: r.fingerprint,
      url: r.url,
      reason: r.reason,
      since: new Date(r.created_at).toISOString(),
    }))
  }

  unblacklist(fingerprint: string): boolean {
    return this.db.query('DELETE FROM blacklist WHERE fingerprint = ?').run(fingerprint).changes > 0
  }

  // --- applied message ids -------------------------------------------------------------

  /** Records a message id as applied; false if it was applied before (a resend). */
  markApplied(sender: string, jti: string, count: number, now: number): boolean {
    return this.db.query('INSERT OR IGNORE INTO applied_messages (sender, jti, count, received_at) VALUES (?, ?, ?, ?)').run(sender, jti, count, now).changes > 0
  }

  /** Whether a payload of this sender with this id was applied (checked before any outbound work). */
  isApplied(sender: string, jti: string): boolean {
    return this.db.query('SELECT 1 FROM applied_messages WHERE sender = ? AND jti = ?').get(sender, jti) !== null
  }

  /** How many messages from a sender were applied (each counted once). */
  appliedCount(sender: string): number {
    return (this.db.query('SELECT coalesce(sum(count), 0) AS n FROM applied_messages WHERE sender = ?').get(sender) as { n: number }).n
  }

  /** Forgets ids older than `before`. */
  pruneApplied(before: number): void {
    this.db.query('DELETE FROM applied_messages WHERE received_at < ?').run(before)
  }

  // --- friend requests waiting for an admin (friends.admission = "approval") ---------------

  /** Records (or refreshes) a pod's request to become a friend. */
  addRequest(r: FriendRequest, now: number): void {
    this.db
      .query(
        `INSERT INTO friend_requests (fingerprint, url, name, public_key, address, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (fingerprint) DO UPDATE SET url = ?2, name = ?3, public_key = ?4, address = ?5`,
      )
      .run(r.fingerprint, r.url, r.name, JSON.stringify(r.publicKey), r.address, now)
  }

  /** The waiting requests, oldest first. */
  requests(): (FriendRequest & { createdAt: number })[] {
    return (this.db.query('SELECT * FROM friend_requests ORDER BY created_at, fingerprint').all() as FriendRequestRow[]).map(toRequest)
  }

  request(fingerprint: string): (FriendRequest & { createdAt: number }) | undefined {
    const row = this.db.query('SELECT * FROM friend_requests WHERE fingerprint = ?').get(fingerprint) as FriendRequestRow | null
    return row ? toRequest(row) : undefined
  }

  requestCount(): number {
    return (this.db.query('SELECT count(*) AS n FROM friend_requests').get() as { n: number }).n
  }

  removeRequest(fingerprint: string): boolean {
    return this.db.query('DELETE FROM friend_requests WHERE fingerprint = ?').run(fingerprint).changes > 0
  }

  // --- settings ------------------------------------------------------------------------

  setting(key: string): string | undefined {
    return (this.db.query('SELECT value FROM settings WHERE key = ?').get(key) as { value: string } | null)?.value
  }

  removeSetting(key: string): void {
    this.db.query('DELETE FROM settings WHERE key = ?').run(key)
  }

  setSetting(key: string, value: string): void {
    this.db.query('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(key, value)
  }
}
