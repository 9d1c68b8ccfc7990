/**
 * The newest videos of one uploader of one pod (their feed, src/feeds/): uploader names are
 * stored once for the whole index (`uploaders`), so a name is an uploader of a pod only with
 * that pod. Read-only, like search.ts, over the tables store.ts writes.
 */
import type { Database } from 'bun:sqlite'

/** The pod of the index whose URL has this host (`host:port` when not the default), if any. */
export function podOfHost(db: Database, host: string): { id: number; url: string } | undefined {
  // Few pods (this one and its friends): their URLs are read and compared as URLs.
  const pods = db.query('SELECT id, url FROM pods').all() as { id: number; url: string }[]
  return pods.find((p) => URL.canParse(p.url) && new URL(p.url).host === host.toLowerCase())
}

/**
 * The ids of the newest `limit` videos of uploader `name` of pod `pod`, newest first; empty
 * when the name uploaded nothing. Walks the videos_created index from the newest, so an
 * uploader with few videos among many costs a longer walk: the feeds bound the count.
 */
export function newestOfUploader(db: Database, name: string, pod: number, limit: number): string[] {
  const uploader = db.query('SELECT id FROM uploaders WHERE name = ?').get(name) as { id: number } | null
  if (!uploader) return []
  const rows = db
    .query('SELECT v.id FROM videos v WHERE v.uploader = ? AND v.pod = ? ORDER BY v.created_at DESC, v.pod DESC, v.seq DESC LIMIT ?')
    .all(uploader.id, pod, limit) as { id: string }[]
  return rows.map((r) => r.id)
}
