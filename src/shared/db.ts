/**
 * The pod's SQLite database: WAL, a busy timeout, foreign keys, and versioned migrations
 * tracked in `PRAGMA user_version`, run by src/shared/migrate.ts: a copy of the database is
 * taken first, and an upgrade that fails leaves the database as it was.
 */
import { Database } from 'bun:sqlite'
import type { Logger } from './log'
import { migrate, REBUILDS_A_TABLE } from './migrate'

export { DatabaseVersionError, MigrationError, schemaVersion } from './migrate'

/**
 * One video in this many (by seq) is also in the index's sample (videos_sample, for search
 * plans). Part of migration 2's schema: never change it.
 */
export const INDEX_SAMPLE_EVERY = 64

/**
 * Characters of the scripts written without spaces between words (Han, kana, Hangul, Thai
 * letters and digits), which the index also holds in overlapping pairs (src/videos/grams.ts),
 * and the marks between them (Thai vowels and tones) that the pairs leave out. Code point
 * ranges of letters and digits (unicode61 takes the others for separators; the few code points
 * of the ranges not given yet are left out of pairs by grams.ts, which asks Unicode), less the
 * compatibility ideographs, which a search's NFC turns into others. Part of
 * migration 18's schema: never change them.
 */
export const GRAM_RANGES: readonly (readonly [number, number])[] = [
  [0x0e01, 0x0e30], [0x0e32, 0x0e33], [0x0e40, 0x0e46], [0x0e50, 0x0e59],
  [0x1100, 0x11ff], [0x3005, 0x3007], [0x3041, 0x3096], [0x309d, 0x309f], [0x30a1, 0x30fa],
  [0x30fc, 0x30ff], [0x3131, 0x318e], [0x31f0, 0x31ff], [0x3400, 0x4dbf], [0x4e00, 0x9fff],
  [0xac00, 0xd7a3], [0x20000, 0x2ebef], [0x30000, 0x3134f],
]
/** See GRAM_RANGES. */
export const GRAM_SKIPPED: readonly (readonly [number, number])[] = [[0x0e31, 0x0e31], [0x0e34, 0x0e3a], [0x0e47, 0x0e4e]]

const inRanges = (c: string, ranges: readonly (readonly [number, number])[]) => ranges.map(([a, b]) => `unicode(${c}) BETWEEN ${a} AND ${b}`).join(' OR ')

/**
 * The SQL twin of gramsOf (src/videos/grams.ts) for a text `x` of migration 18: the pairs of
 * each run of GRAM_RANGES in it and its last character, marks dropped. One
 * character a step, so only for texts that have such characters (the GLOB).
 */
const GRAMS_SQL = (x: string) => `CASE WHEN ${x} GLOB '*[${GRAM_RANGES.map(([a, b]) => `${String.fromCodePoint(a)}-${String.fromCodePoint(b)}`).join('')}]*' THEN (
     WITH RECURSIVE s(i, prev, n, out) AS (
       SELECT 1, '', 0, ''
       UNION ALL
       SELECT i + 1,
         CASE WHEN ${inRanges(`substr(${x}, i, 1)`, GRAM_SKIPPED)} THEN prev WHEN ${inRanges(`substr(${x}, i, 1)`, GRAM_RANGES)} THEN substr(${x}, i, 1) ELSE '' END,
         CASE WHEN ${inRanges(`substr(${x}, i, 1)`, GRAM_SKIPPED)} THEN n WHEN ${inRanges(`substr(${x}, i, 1)`, GRAM_RANGES)} THEN n + 1 ELSE 0 END,
         out || CASE WHEN ${inRanges(`substr(${x}, i, 1)`, GRAM_SKIPPED)} THEN ''
           WHEN ${inRanges(`substr(${x}, i, 1)`, GRAM_RANGES)} THEN CASE WHEN n > 0 THEN ' ' || prev || substr(${x}, i, 1) ELSE '' END
           WHEN n > 0 THEN ' ' || prev ELSE '' END
       FROM s WHERE i <= length(${x})
     )
     SELECT out || CASE WHEN n > 0 THEN ' ' || prev ELSE '' END FROM s ORDER BY i DESC LIMIT 1
   ) END`

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
   -- The network index: every video of this pod and of its friends, sized for a million videos
   -- (test/bench/index.ts measures it).
   --
   -- Every pod whose videos are in the index (this one included): a pod's videos follow its
   -- URL, so a move rewrites one row. Video URLs (magnet, torrent, web seed, thumbnail) are
   -- derived from the pod's URL, the id and the info hash rather than stored: that keeps a
   -- million-video index small and a move free. Its videos column counts its videos, so
   -- listing totals need not count a million rows.
   CREATE TABLE pods (
     id INTEGER PRIMARY KEY,
     fingerprint TEXT NOT NULL UNIQUE,
     url TEXT NOT NULL,
     videos INTEGER NOT NULL DEFAULT 0
   );
   -- Uploader names, each stored once: a channel has many videos, and 50 characters repeated
   -- on a million rows would be a tenth of the index. Its videos column counts them; a name
   -- goes when its last video does.
   CREATE TABLE uploaders (
     id INTEGER PRIMARY KEY,
     name TEXT NOT NULL UNIQUE,
     videos INTEGER NOT NULL DEFAULT 0
   );
   -- No foreign key on uploader: removing an unused name would then scan every video for it
   -- (there is no index on the column, which would cost more than it saves).
   CREATE TABLE videos (
     seq INTEGER PRIMARY KEY,
     id TEXT NOT NULL UNIQUE,
     pod INTEGER NOT NULL REFERENCES pods(id),
     name TEXT NOT NULL,
     description TEXT NOT NULL DEFAULT '',
     uploader INTEGER NOT NULL,
     info_hash BLOB NOT NULL,
     ext TEXT, -- of the web seed; NULL for mp4, most of them (3 bytes less a video)
     duration REAL,
     size INTEGER,
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL
   );
   -- The latest videos, of the network or (the pod read from the index, no row read) of one
   -- pod. Videos by pod otherwise come from the pod's token in the FTS index (below), not
   -- from an index of their own, which would cost as much again.
   CREATE INDEX videos_created ON videos(created_at, pod);
   -- What the full-text index holds for a video: its texts, and one token naming its origin pod
   -- (U+E000 and the pod's id), so that a search of this pod's own videos (scope=local) is an
   -- AND in the index, not a walk through every match of the network. The texts lose any
   -- U+E000, so no video can pass for another pod's; search words never contain it
   -- (src/videos/search.ts keeps letters and digits only).
   CREATE VIEW videos_text AS
     SELECT v.seq, replace(v.name, char(57344), '') AS name, replace(v.description, char(57344), '') AS description,
       replace(u.name, char(57344), '') AS uploader, char(57344) || v.pod AS pod
     FROM videos v JOIN uploaders u ON u.id = v.uploader;
   -- Full-text search. External content (no second copy of the text) and no positions
   -- (detail=none): AND and prefix queries with a much smaller index; relevance (bm25) then
   -- re-reads the few texts it ranks. FTS5 requires of external content that it be given
   -- exactly what the view shows, at insert and at delete.
   --
   -- New videos are indexed (and counted) by upsertVideo (src/videos/model.ts), the one way
   -- videos are added, not by an INSERT trigger: a statement with triggers runs in a statement
   -- savepoint, and at every savepoint FTS5 writes out the terms it holds in memory, which
   -- doubles the cost of a friend's list of thousands of videos. Removals and edits, seldom
   -- and one statement each, go through the triggers below.
   CREATE VIRTUAL TABLE videos_fts USING fts5(
     name, description, uploader, pod,
     content = 'videos_text', content_rowid = 'seq', detail = none, columnsize = 0, tokenize = 'unicode61 remove_diacritics 2'
   );
   -- One video in ${INDEX_SAMPLE_EVERY} (by seq), indexed again, contentless: its vocabulary
   -- says in well under a millisecond which words a typed prefix covers and about how many
   -- videos each has. FTS5 answers a prefix by merging the lists of every word it covers, up
   -- to a million videos for a short or common one; src/videos/search.ts looks here first.
   CREATE VIRTUAL TABLE videos_sample USING fts5(
     name, description, uploader,
     content = '', contentless_delete = 1, detail = none, tokenize = 'unicode61 remove_diacritics 2'
   );
   CREATE VIRTUAL TABLE videos_sample_terms USING fts5vocab(videos_sample, row);
   CREATE TRIGGER videos_unindex BEFORE DELETE ON videos BEGIN
     INSERT INTO videos_fts (videos_fts, rowid, name, description, uploader, pod) SELECT 'delete', seq, name, description, uploader, pod FROM videos_text WHERE seq = old.seq;
   END;
   CREATE TRIGGER videos_unsample AFTER DELETE ON videos WHEN old.seq % ${INDEX_SAMPLE_EVERY} = 0 BEGIN
     DELETE FROM videos_sample WHERE rowid = old.seq;
   END;
   CREATE TRIGGER videos_delete AFTER DELETE ON videos BEGIN
     UPDATE pods SET videos = videos - 1 WHERE id = old.pod;
     UPDATE uploaders SET videos = videos - 1 WHERE id = old.uploader;
     DELETE FROM uploaders WHERE id = old.uploader AND videos = 0;
   END;
   CREATE TRIGGER videos_unindex_old BEFORE UPDATE OF name, description, uploader, pod ON videos
   WHEN old.name IS NOT new.name OR old.description IS NOT new.description OR old.uploader IS NOT new.uploader OR old.pod IS NOT new.pod BEGIN
     INSERT INTO videos_fts (videos_fts, rowid, name, description, uploader, pod) SELECT 'delete', seq, name, description, uploader, pod FROM videos_text WHERE seq = old.seq;
   END;
   CREATE TRIGGER videos_index_new AFTER UPDATE OF name, description, uploader, pod ON videos
   WHEN old.name IS NOT new.name OR old.description IS NOT new.description OR old.uploader IS NOT new.uploader OR old.pod IS NOT new.pod BEGIN
     INSERT INTO videos_fts (rowid, name, description, uploader, pod) SELECT seq, name, description, uploader, pod FROM videos_text WHERE seq = new.seq;
   END;
   CREATE TRIGGER videos_resample AFTER UPDATE OF name, description, uploader ON videos
   WHEN new.seq % ${INDEX_SAMPLE_EVERY} = 0 AND (old.name IS NOT new.name OR old.description IS NOT new.description OR old.uploader IS NOT new.uploader) BEGIN
     DELETE FROM videos_sample WHERE rowid = old.seq;
     INSERT INTO videos_sample (rowid, name, description, uploader) SELECT seq, name, description, uploader FROM videos_text WHERE seq = new.seq;
   END;
   CREATE TRIGGER videos_pod_changed AFTER UPDATE OF pod ON videos WHEN old.pod IS NOT new.pod BEGIN
     UPDATE pods SET videos = videos - 1 WHERE id = old.pod;
     UPDATE pods SET videos = videos + 1 WHERE id = new.pod;
   END;
   CREATE TRIGGER videos_uploader_changed AFTER UPDATE OF uploader ON videos WHEN old.uploader IS NOT new.uploader BEGIN
     UPDATE uploaders SET videos = videos + 1 WHERE id = new.uploader;
     UPDATE uploaders SET videos = videos - 1 WHERE id = old.uploader;
     DELETE FROM uploaders WHERE id = old.uploader AND videos = 0;
   END;
   -- The files of this pod's own videos.
   CREATE TABLE local_videos (
     video TEXT PRIMARY KEY REFERENCES videos(id) ON DELETE CASCADE,
     owner INTEGER NOT NULL REFERENCES users(id),
     mime TEXT NOT NULL,
     width INTEGER,
     height INTEGER
   );`,
  // 3: transcoded renditions of videos (own and friends'), and the durable transcoding queue
  `CREATE TABLE video_files (
     video TEXT NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
     resolution INTEGER NOT NULL,
     info_hash BLOB NOT NULL,
     ext TEXT NOT NULL,
     size INTEGER NOT NULL,
     PRIMARY KEY (video, resolution)
   ) WITHOUT ROWID;
   CREATE TABLE transcode_jobs (
     id INTEGER PRIMARY KEY,
     video TEXT NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
     resolution INTEGER NOT NULL,
     state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),
     progress REAL NOT NULL DEFAULT 0,
     error TEXT,
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL,
     UNIQUE (video, resolution)
   );
   CREATE INDEX transcode_jobs_state ON transcode_jobs(state, id);`,
  // 4: details of videos (src/details/service.ts): own videos' full description, tags, license,
  // language and views; and the copies of friends' videos' details, each with when it was fetched
  `CREATE TABLE video_details (
     video TEXT PRIMARY KEY REFERENCES videos(id) ON DELETE CASCADE,
     description TEXT,
     tags TEXT,
     license TEXT,
     language TEXT,
     views INTEGER NOT NULL DEFAULT 0,
     updated_at INTEGER
   ) WITHOUT ROWID;
   CREATE TABLE details_cache (
     video TEXT PRIMARY KEY REFERENCES videos(id) ON DELETE CASCADE,
     data TEXT NOT NULL,
     fetched_at INTEGER NOT NULL
   ) WITHOUT ROWID;`,
  // 5: each friend's score over time, for the admin page's chart (bounded per friend by
  // FriendStore.saveRecord; gone with the friend)
  `CREATE TABLE friend_scores (
     fingerprint TEXT NOT NULL REFERENCES friends(fingerprint) ON DELETE CASCADE,
     at INTEGER NOT NULL,
     score INTEGER NOT NULL
   );
   CREATE INDEX friend_scores_at ON friend_scores(fingerprint, at);`,
  // 6: redundancy: copies this pod keeps of friends' videos, and every mirror the network
  // announced (video.mirror), whose web seeds join the video's
  `CREATE TABLE mirrors (
     info_hash BLOB PRIMARY KEY,
     video TEXT NOT NULL,
     file TEXT NOT NULL,
     size INTEGER NOT NULL,
     state TEXT NOT NULL CHECK (state IN ('downloading', 'ready')),
     created_at INTEGER NOT NULL
   ) WITHOUT ROWID;
   CREATE TABLE video_mirrors (
     video TEXT NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
     pod INTEGER NOT NULL REFERENCES pods(id),
     info_hash BLOB NOT NULL,
     PRIMARY KEY (video, pod, info_hash)
   ) WITHOUT ROWID;
   CREATE INDEX video_mirrors_pod ON video_mirrors(pod);`,
  // Friend requests waiting for an admin (friends.admission = "approval"); views of friends'
  // videos counted here and sent to their origins in one message per video; the details of
  // a failed transcoding job (ffmpeg's words: for admins, not for the public video JSON).
  `CREATE TABLE friend_requests (
     fingerprint TEXT PRIMARY KEY,
     url TEXT NOT NULL,
     name TEXT NOT NULL,
     public_key TEXT NOT NULL,
     address TEXT NOT NULL,
     created_at INTEGER NOT NULL
   ) WITHOUT ROWID;
   CREATE TABLE pending_views (
     video TEXT PRIMARY KEY REFERENCES videos(id) ON DELETE CASCADE,
     count INTEGER NOT NULL
   ) WITHOUT ROWID;
   ALTER TABLE transcode_jobs ADD COLUMN detail TEXT;`,
  // 8: streams (src/videos/streams.ts): the files of a video (its original, rendition 0, or a
  // rendition by height) that are packaged for HLS, with what a master playlist says of them
  `CREATE TABLE video_streams (
     video TEXT NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
     rendition INTEGER NOT NULL,
     info_hash BLOB NOT NULL,
     size INTEGER NOT NULL,
     width INTEGER NOT NULL,
     height INTEGER NOT NULL,
     bandwidth INTEGER NOT NULL,
     codecs TEXT,
     PRIMARY KEY (video, rendition)
   ) WITHOUT ROWID;`,
  // Remote transcoding runners (src/runners/): the registration tokens an admin makes (only
  // their hash), the runners registered with them (only the hash of each one's secret), and
  // each job's lease: which runner holds it, the lease's random id, when it expires (absolute
  // ms, so a restart keeps it) and how many times runners took the job.
  `CREATE TABLE runner_tokens (
     id INTEGER PRIMARY KEY,
     name TEXT NOT NULL,
     hash BLOB NOT NULL,
     created_at INTEGER NOT NULL
   );
   CREATE TABLE runners (
     id INTEGER PRIMARY KEY,
     token INTEGER NOT NULL REFERENCES runner_tokens(id) ON DELETE CASCADE,
     name TEXT NOT NULL,
     hash BLOB NOT NULL,
     created_at INTEGER NOT NULL,
     last_contact_at INTEGER NOT NULL
   );
   CREATE INDEX runners_token ON runners(token);
   ALTER TABLE transcode_jobs ADD COLUMN runner INTEGER;
   ALTER TABLE transcode_jobs ADD COLUMN lease TEXT;
   ALTER TABLE transcode_jobs ADD COLUMN lease_expires_at INTEGER;
   ALTER TABLE transcode_jobs ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;`,
  // Own video files kept in the data folder until they are moved to the bucket
  // (src/storage/moves.ts), queued in the transaction that writes their rows.
  `CREATE TABLE storage_moves (
     key TEXT PRIMARY KEY,
     queued_at INTEGER NOT NULL
   );`,
  // The original's audio codec as probed at upload ('' without sound; NULL for videos of
  // earlier releases): a runner's result is checked against it and the duration, without
  // reading the original again (src/runners/verify.ts).
  `ALTER TABLE local_videos ADD COLUMN audio TEXT;`,
  // Friends' thumbnails cached in the bucket (src/videos/thumbnails.ts); a data folder's cache
  // is its files.
  `CREATE TABLE cached_thumbnails (
     video TEXT PRIMARY KEY REFERENCES videos(id) ON DELETE CASCADE
   ) WITHOUT ROWID;`,
  // Copies of streams (src/redundancy/): the stream of its video each copy of this pod keeps
  // (NULL: a whole-file copy of an earlier release, which the redundancy actor drops at
  // start, telling friends, and copies the video's streams instead), and the stream each
  // mirror the network announced keeps (NULL: a whole file, as earlier releases announce).
  `ALTER TABLE mirrors ADD COLUMN rendition INTEGER;
   ALTER TABLE video_mirrors ADD COLUMN rendition INTEGER;`,
  // Whether a stream's segments start every 2 s like the renditions' (src/videos/streams.ts
  // `aligned`; NULL: not known, a stream of an earlier release or of a friend that does not say).
  `ALTER TABLE video_streams ADD COLUMN aligned INTEGER;`,
  // Re-packaging (src/transcoding/repackage.ts): a job's kind ('transcode' makes a rendition,
  // 'package' remuxes an own video's original into its stream, rendition 0) and whether the
  // start's re-packaging of a video of an earlier release queued it.
  `ALTER TABLE transcode_jobs ADD COLUMN kind TEXT NOT NULL DEFAULT 'transcode' CHECK (kind IN ('transcode', 'package'));
   ALTER TABLE transcode_jobs ADD COLUMN repack INTEGER NOT NULL DEFAULT 0;`,
  // Accounts that are never mistaken for one another: from now on a user's id is never given
  // again (AUTOINCREMENT), and login tokens name a random subject, which earlier tokens
  // (naming the id) do not: they stop working, and their users log in again. An account
  // waits for an admin (`pending`) or is `disabled`; `registered_from` is the address block
  // it registered from, kept for the registration limit's window (src/accounts/). The table
  // is made anew (SQLite cannot add AUTOINCREMENT); local_videos.owner then names the new
  // `users`, with the same ids.
  `${REBUILDS_A_TABLE}
   CREATE TABLE users_v2 (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     subject TEXT NOT NULL UNIQUE,
     username TEXT NOT NULL UNIQUE COLLATE NOCASE,
     password_hash TEXT NOT NULL,
     role TEXT NOT NULL CHECK (role IN ('user', 'admin')),
     status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'pending', 'disabled')),
     registered_from TEXT,
     created_at INTEGER NOT NULL
   );
   INSERT INTO users_v2 (id, subject, username, password_hash, role, created_at)
     SELECT id, lower(hex(randomblob(16))), username, password_hash, role, created_at FROM users;
   DROP TABLE users;
   ALTER TABLE users_v2 RENAME TO users;
   CREATE INDEX users_registered_from ON users(registered_from, created_at) WHERE registered_from IS NOT NULL;`,
  // Mirrors proven (src/redundancy/checks.ts): when each was last proven (NULL: not listed),
  // its failed checks in a row, its next check (NULL: this pod's own copy; rows of earlier
  // releases: 0, at once); and the origin's .torrent those checks trust, served by this pod.
  `ALTER TABLE video_mirrors ADD COLUMN proven_at INTEGER;
   ALTER TABLE video_mirrors ADD COLUMN failures INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE video_mirrors ADD COLUMN check_at INTEGER DEFAULT 0;
   CREATE INDEX video_mirrors_check ON video_mirrors(check_at);
   CREATE TABLE mirror_torrents (
     info_hash BLOB PRIMARY KEY,
     torrent BLOB NOT NULL
   );`,
  // 18: words of Chinese, Japanese, Korean and Thai found inside longer runs: each video's
  // runs of those scripts also indexed as overlapping pairs (src/videos/grams.ts), kept in
  // videos.grams (NULL for a video without such text: nothing stored) and shown by
  // videos_text in a column of the FTS table of their own, and of the sample's (so that search
  // plans know how common a pair is). Existing videos get theirs here, the index and the sample
  // are made anew; the triggers re-index a video whose pairs change, too.
  `ALTER TABLE videos ADD COLUMN grams TEXT;
   UPDATE videos SET grams = (SELECT ${GRAMS_SQL("(videos.name || ' ' || videos.description || ' ' || u.name)")} FROM uploaders u WHERE u.id = videos.uploader);
   DROP TRIGGER videos_unindex;
   DROP TRIGGER videos_unindex_old;
   DROP TRIGGER videos_index_new;
   DROP TABLE videos_fts;
   DROP VIEW videos_text;
   CREATE VIEW videos_text AS
     SELECT v.seq, replace(v.name, char(57344), '') AS name, replace(v.description, char(57344), '') AS description,
       replace(u.name, char(57344), '') AS uploader, replace(v.grams, char(57344), '') AS grams, char(57344) || v.pod AS pod
     FROM videos v JOIN uploaders u ON u.id = v.uploader;
   CREATE VIRTUAL TABLE videos_fts USING fts5(
     name, description, uploader, grams, pod,
     content = 'videos_text', content_rowid = 'seq', detail = none, columnsize = 0, tokenize = 'unicode61 remove_diacritics 2'
   );
   INSERT INTO videos_fts (videos_fts) VALUES ('rebuild');
   DROP TRIGGER videos_unsample;
   DROP TRIGGER videos_resample;
   DROP TABLE videos_sample_terms;
   DROP TABLE videos_sample;
   CREATE VIRTUAL TABLE videos_sample USING fts5(
     name, description, uploader, grams,
     content = '', contentless_delete = 1, detail = none, tokenize = 'unicode61 remove_diacritics 2'
   );
   CREATE VIRTUAL TABLE videos_sample_terms USING fts5vocab(videos_sample, row);
   INSERT INTO videos_sample (rowid, name, description, uploader, grams)
     SELECT seq, name, description, uploader, grams FROM videos_text WHERE seq % ${INDEX_SAMPLE_EVERY} = 0;
   CREATE TRIGGER videos_unsample AFTER DELETE ON videos WHEN old.seq % ${INDEX_SAMPLE_EVERY} = 0 BEGIN
     DELETE FROM videos_sample WHERE rowid = old.seq;
   END;
   CREATE TRIGGER videos_resample AFTER UPDATE OF name, description, uploader, grams ON videos
   WHEN new.seq % ${INDEX_SAMPLE_EVERY} = 0 AND (old.name IS NOT new.name OR old.description IS NOT new.description OR old.uploader IS NOT new.uploader OR old.grams IS NOT new.grams) BEGIN
     DELETE FROM videos_sample WHERE rowid = old.seq;
     INSERT INTO videos_sample (rowid, name, description, uploader, grams) SELECT seq, name, description, uploader, grams FROM videos_text WHERE seq = new.seq;
   END;
   CREATE TRIGGER videos_unindex BEFORE DELETE ON videos BEGIN
     INSERT INTO videos_fts (videos_fts, rowid, name, description, uploader, grams, pod) SELECT 'delete', seq, name, description, uploader, grams, pod FROM videos_text WHERE seq = old.seq;
   END;
   CREATE TRIGGER videos_unindex_old BEFORE UPDATE OF name, description, uploader, grams, pod ON videos
   WHEN old.name IS NOT new.name OR old.description IS NOT new.description OR old.uploader IS NOT new.uploader OR old.grams IS NOT new.grams OR old.pod IS NOT new.pod BEGIN
     INSERT INTO videos_fts (videos_fts, rowid, name, description, uploader, grams, pod) SELECT 'delete', seq, name, description, uploader, grams, pod FROM videos_text WHERE seq = old.seq;
   END;
   CREATE TRIGGER videos_index_new AFTER UPDATE OF name, description, uploader, grams, pod ON videos
   WHEN old.name IS NOT new.name OR old.description IS NOT new.description OR old.uploader IS NOT new.uploader OR old.grams IS NOT new.grams OR old.pod IS NOT new.pod BEGIN
     INSERT INTO videos_fts (rowid, name, description, uploader, grams, pod) SELECT seq, name, description, uploader, grams, pod FROM videos_text WHERE seq = new.seq;
   END;`,
]

/** The schema version this build of seedpod writes. */
export const SCHEMA_VERSION = MIGRATIONS.length

/** How a database is opened: up to which version, with which migrations (tests), and where the upgrade is logged. */
export interface OpenOptions {
  /** The schema version to bring it to (default: the latest). */
  to?: number
  /** The migrations to run (default: MIGRATIONS); tests give a list that fails. */
  migrations?: readonly string[]
  log?: Logger
}

/**
 * Opens (creating if needed) the database at `path` and brings it to `to` (default: latest).
 * Throws MigrationError when the upgrade fails (the database is left as it was) and
 * DatabaseVersionError when the database is newer than this build.
 */
export function openDatabase(path: string, opts: OpenOptions = {}): Database {
  const db = new Database(path, { create: true, strict: true })
  try {
    // Before anything is written (a new database only): 16 KiB pages hold 43 rows of the
    // video index where 4 KiB pages held 10, wasting less of each (test/bench/index.ts).
    db.exec('PRAGMA page_size = 16384')
    db.exec('PRAGMA journal_mode = WAL')
    db.exec('PRAGMA busy_timeout = 5000')
    db.exec('PRAGMA foreign_keys = ON')
    db.exec('PRAGMA synchronous = NORMAL')
    // Up to 64 MiB of pages in memory (the default is 2 MiB): the index's b-trees then stay
    // cached while a friend's thousands of videos go in, 30% faster at a million videos.
    db.exec('PRAGMA cache_size = -65536')
    const migrations = opts.migrations ?? MIGRATIONS
    migrate(db, path, migrations, opts.to ?? migrations.length, opts.log)
    return db
  } catch (e) {
    db.close()
    throw e
  }
}
