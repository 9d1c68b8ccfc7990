/**
 * The later migrations of the pod's database (src/shared/db.ts), from version 11 on. Append
 * new ones at the end: a released migration never changes.
 */
import { REBUILDS_A_TABLE } from '../migrate'
import { INDEX_SAMPLE_EVERY } from './early'

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


/** Migrations from 11 on, in order. */
export const LATER_MIGRATIONS: readonly string[] = [
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
