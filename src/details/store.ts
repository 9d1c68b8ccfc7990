/**
 * Videos' details in SQLite: own videos' details (`video_details`: full description, tags,
 * license, language, views) and the copies of friends' videos' details (`details_cache`,
 * each with when it was fetched). Both rows go with their video (ON DELETE CASCADE).
 */
import type { Database } from 'bun:sqlite'
import type { Details } from './model'

/** An own video's details as stored (no row: none were ever set). */
export interface DetailsRow {
  description: string | null
  tags: string | null
  license: string | null
  language: string | null
  views: number
  updated_at: number | null
}

/** The details tables of one pod's database. */
export class DetailsStore {
  constructor(private readonly db: Database) {}

  /** An own video's stored details. */
  own(id: string): DetailsRow | undefined {
    return (this.db.query('SELECT description, tags, license, language, views, updated_at FROM video_details WHERE video = ?').get(id) as DetailsRow | null) ?? undefined
  }

  /** Writes an own video's details (its view count is left as it is). */
  save(id: string, d: { description: string | null; tags: string[]; license: string | null; language: string | null }, now: number): void {
    this.db
      .query(
        `INSERT INTO video_details (video, description, tags, license, language, views, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6)
         ON CONFLICT (video) DO UPDATE SET description = ?2, tags = ?3, license = ?4, language = ?5, updated_at = ?6`,
      )
      .run(id, d.description, JSON.stringify(d.tags), d.license, d.language, now)
  }

  /**
   * Keeps the full text of an own video's description when the index gets only its summary
   * (call inside the transaction that writes the index row).
   */
  saveFullDescription(id: string, description: string, now: number): void {
    this.db
      .query(
        `INSERT INTO video_details (video, description, views, updated_at) VALUES (?1, ?2, 0, ?3)
         ON CONFLICT (video) DO UPDATE SET description = ?2, updated_at = ?3`,
      )
      .run(id, description, now)
  }

  /** Adds `count` views to an own video; returns its views. */
  countViews(id: string, count: number): number {
    return (this.db.query('INSERT INTO video_details (video, views) VALUES (?1, ?2) ON CONFLICT (video) DO UPDATE SET views = views + ?2 RETURNING views').get(id, count) as { views: number })
      .views
  }

  /** The cached copy of a friend's video's details. */
  cached(id: string): { details: Details; fetchedAt: number } | undefined {
    const r = this.db.query('SELECT data, fetched_at FROM details_cache WHERE video = ?').get(id) as { data: string; fetched_at: number } | null
    return r ? { details: JSON.parse(r.data) as Details, fetchedAt: r.fetched_at } : undefined
  }

  /** Keeps a copy of a friend's video's details (its video must be in the index). */
  cache(id: string, details: Details, fetchedAt: number): void {
    this.db
      .query('INSERT INTO details_cache (video, data, fetched_at) VALUES (?1, ?2, ?3) ON CONFLICT (video) DO UPDATE SET data = excluded.data, fetched_at = excluded.fetched_at')
      .run(id, JSON.stringify(details), fetchedAt)
  }

  /** Drops the cached copy of a video's details. */
  uncache(id: string): void {
    this.db.query('DELETE FROM details_cache WHERE video = ?').run(id)
  }
}
