/**
 * The first migrations of the pod's database (src/shared/db.ts): versions 1 to 10, from the
 * accounts to the queue of files for the bucket. Append only: a released migration never changes.
 */
/**
 * One video in this many (by seq) is also in the index's sample (videos_sample, for search
 * plans). Part of migration 2's schema: never change it.
 */
export const INDEX_SAMPLE_EVERY = 64

/** Migrations 1 to 10; index + 1 is the version each one brings the database to. */
export const EARLY_MIGRATIONS: readonly string[] = [
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
]
