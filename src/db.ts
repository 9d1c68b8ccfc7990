/**
 * The pod's SQLite database: WAL, a busy timeout, foreign keys, and versioned migrations
 * tracked in `PRAGMA user_version`. Each migration runs in its own transaction, so a
 * failed one leaves the database at the previous version.
 */
import { Database } from 'bun:sqlite'

/** Schema migrations; index + 1 is the version each one brings the database to. Append only. */
export const MIGRATIONS: readonly string[] = [
  // 1: accounts
  `CREATE TABLE users (
     id INTEGER PRIMARY KEY,
     username TEXT NOT NULL UNIQUE COLLATE NOCASE,
     password_hash TEXT NOT NULL,
     role TEXT NOT NULL CHECK (role IN ('user', 'admin')),
     created_at INTEGER NOT NULL
   );`,
  // 2: friends, their outboxes, the blacklist, applied message ids, the network's videos
  `CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
   CREATE TABLE friends (
     fingerprint TEXT PRIMARY KEY,
     url TEXT NOT NULL,
     public_key TEXT NOT NULL,
     name TEXT NOT NULL DEFAULT '',
     score INTEGER NOT NULL,
     state TEXT NOT NULL DEFAULT 'active',
     attempts INTEGER NOT NULL DEFAULT 0,
     next_retry_at INTEGER,
     last_error TEXT,
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL
   );
   CREATE TABLE outbox (
     id INTEGER PRIMARY KEY,
     friend TEXT NOT NULL REFERENCES friends(fingerprint) ON DELETE CASCADE,
     type TEXT NOT NULL,
     data TEXT NOT NULL,
     batch TEXT,
     created_at INTEGER NOT NULL
   );
   CREATE INDEX outbox_friend ON outbox(friend, id);
   CREATE TABLE blacklist (
     fingerprint TEXT PRIMARY KEY,
     url TEXT NOT NULL,
     reason TEXT NOT NULL,
     created_at INTEGER NOT NULL
   );
   CREATE TABLE applied_messages (
     sender TEXT NOT NULL,
     jti TEXT NOT NULL,
     count INTEGER NOT NULL,
     received_at INTEGER NOT NULL,
     PRIMARY KEY (sender, jti)
   ) WITHOUT ROWID;
   -- Every pod whose videos are in the index (this one included): a pod's videos follow its
   -- URL, so a move rewrites one row. Video URLs (magnet, torrent, web seed, thumbnail) are
   -- derived from the pod's URL, the id and the info hash rather than stored: that keeps a
   -- million-video index small and a move free.
   CREATE TABLE pods (
     id INTEGER PRIMARY KEY,
     fingerprint TEXT NOT NULL UNIQUE,
     url TEXT NOT NULL
   );
   CREATE TABLE videos (
     seq INTEGER PRIMARY KEY,
     id TEXT NOT NULL UNIQUE,
     pod INTEGER NOT NULL REFERENCES pods(id),
     name TEXT NOT NULL,
     description TEXT NOT NULL DEFAULT '',
     uploader TEXT NOT NULL,
     info_hash BLOB NOT NULL,
     ext TEXT NOT NULL,
     duration REAL,
     size INTEGER,
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL
   );
   CREATE INDEX videos_pod ON videos(pod);
   CREATE INDEX videos_created ON videos(created_at);
   -- Full-text search over name, description and uploader. External content (no second copy
   -- of the text) and no positions (detail=none): prefix and AND queries, a much smaller index.
   CREATE VIRTUAL TABLE videos_fts USING fts5(
     name, description, uploader,
     content = 'videos', content_rowid = 'seq', detail = none, tokenize = 'unicode61 remove_diacritics 2'
   );
   CREATE TRIGGER videos_fts_insert AFTER INSERT ON videos BEGIN
     INSERT INTO videos_fts (rowid, name, description, uploader) VALUES (new.seq, new.name, new.description, new.uploader);
   END;
   CREATE TRIGGER videos_fts_delete AFTER DELETE ON videos BEGIN
     INSERT INTO videos_fts (videos_fts, rowid, name, description, uploader) VALUES ('delete', old.seq, old.name, old.description, old.uploader);
   END;
   CREATE TRIGGER videos_fts_update AFTER UPDATE OF name, description, uploader ON videos BEGIN
     INSERT INTO videos_fts (videos_fts, rowid, name, description, uploader) VALUES ('delete', old.seq, old.name, old.description, old.uploader);
     INSERT INTO videos_fts (rowid, name, description, uploader) VALUES (new.seq, new.name, new.description, new.uploader);
   END;
   -- The files of this pod's own videos.
   CREATE TABLE local_videos (
     video TEXT PRIMARY KEY REFERENCES videos(id) ON DELETE CASCADE,
     owner INTEGER NOT NULL REFERENCES users(id),
     mime TEXT NOT NULL,
     width INTEGER,
     height INTEGER
   );`,
]

/** The schema version this build of seedpod writes. */
export const SCHEMA_VERSION = MIGRATIONS.length

/** A database newer than this build knows, or a failed migration. */
export class DatabaseVersionError extends Error {}

/** Opens (creating if needed) the database at `path` and brings it to `to` (default: latest). */
export function openDatabase(path: string, opts: { to?: number } = {}): Database {
  const db = new Database(path, { create: true, strict: true })
  try {
    db.exec('PRAGMA journal_mode = WAL')
    db.exec('PRAGMA busy_timeout = 5000')
    db.exec('PRAGMA foreign_keys = ON')
    db.exec('PRAGMA synchronous = NORMAL')
    migrate(db, opts.to ?? SCHEMA_VERSION)
    return db
  } catch (e) {
    db.close()
    throw e
  }
}

/** Current schema version of an open database. */
export function schemaVersion(db: Database): number {
  return (db.query('PRAGMA user_version').get() as { user_version: number }).user_version
}

/** Applies every migration above the database's version, up to `to`. */
export function migrate(db: Database, to: number = SCHEMA_VERSION): void {
  const from = schemaVersion(db)
  if (from > SCHEMA_VERSION)
    throw new DatabaseVersionError(
      `database schema version ${from} is newer than this seedpod knows (${SCHEMA_VERSION}): upgrade seedpod`,
    )
  for (let v = from; v < to; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]!)
      db.exec(`PRAGMA user_version = ${v + 1}`)
    }).immediate()
  }
}
