/**
 * One owner per table: the SQL that names a table (in the strings and templates of the code
 * under src/ and actors/) is in its owner module only, src/shared/db.ts's migrations (src/shared/schema/) aside.
 * Other features call the owner. Every table of the schema must have an entry below, so a
 * table added by a later migration fails here until it is given its owner.
 */
import { describe, expect, test } from 'bun:test'
import { readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { MIGRATIONS } from '../../src/shared/db'
import { sourceFiles, tokenize } from '../helpers/imports'

const ROOT = join(import.meta.dir, '..', '..')

const VIDEOS = 'src/videos/store.ts'
const FRIENDS = 'src/friends/store.ts'

/** Each table (or view) and the module that holds its SQL; null: none but src/shared/db.ts may name it. */
const OWNERS: Record<string, string | null> = {
  users: 'src/accounts/store.ts',
  // Made by the accounts migration (subjects, AUTOINCREMENT) and renamed to users in the same step.
  users_v2: null,
  settings: FRIENDS,
  friends: FRIENDS,
  outbox: FRIENDS,
  blacklist: FRIENDS,
  applied_messages: FRIENDS,
  friend_scores: FRIENDS,
  friend_requests: FRIENDS,
  pods: VIDEOS,
  uploaders: VIDEOS,
  videos: VIDEOS,
  // The full-text index's content, read by FTS5 and the schema's triggers only.
  videos_text: null,
  videos_fts: VIDEOS,
  videos_sample: VIDEOS,
  // The sample's vocabulary, read-only: how many videos a word is in, for search plans.
  videos_sample_terms: 'src/videos/search.ts',
  local_videos: VIDEOS,
  video_files: VIDEOS,
  video_streams: VIDEOS,
  cached_thumbnails: VIDEOS,
  video_details: 'src/details/store.ts',
  details_cache: 'src/details/store.ts',
  transcode_jobs: 'src/transcoding/queue.ts',
  runner_tokens: 'src/runners/store.ts',
  runners: 'src/runners/store.ts',
  mirrors: 'src/redundancy/store.ts',
  video_mirrors: 'src/redundancy/known-store.ts',
  mirror_torrents: 'src/redundancy/known-store.ts',
  storage_moves: 'src/storage/moves.ts',
  // Made by migration 7 and never used: views of friends' videos wait in the outbox (FriendStore.addViews).
  pending_views: null,
}

/**
 * Modules that read a table besides its owner and write nothing to it: the index's search,
 * whose query plans (src/videos/search.ts) read the index's full-text tables directly, and
 * the listing of one uploader's newest videos for their feed (src/videos/uploader-videos.ts).
 */
const UPLOADER_VIDEOS = 'src/videos/uploader-videos.ts'
const READERS: Record<string, string[]> = {
  videos: ['src/videos/search.ts', UPLOADER_VIDEOS],
  pods: ['src/videos/search.ts', UPLOADER_VIDEOS],
  videos_fts: ['src/videos/search.ts'],
  uploaders: [UPLOADER_VIDEOS],
}

/** The tables and views the migrations make. */
// Each once, though a later migration may make one anew (18: the FTS index and its view).
const schemaTables = () => [...new Set([...MIGRATIONS.join('\n').matchAll(/CREATE (?:VIRTUAL TABLE|TABLE|VIEW) (\w+)/g)].map((m) => m[1]!))]

/** How each table is named in SQL, reading and writing. */
const READ = (table: string) => new RegExp(`\\b(?:FROM|JOIN)\\s+${table}\\b`)
const WRITE = (table: string) => new RegExp(`\\b(?:INTO|UPDATE|TABLE|DELETE\\s+FROM)\\s+${table}\\b`)

/** The text of a source's strings and templates: where its SQL is (comments are not). */
const sqlText = (source: string) =>
  tokenize(source)
    .filter((t) => t.kind === 'string' || t.kind === 'template')
    .map((t) => t.value)
    .join('\n')

/** Every place a table is named outside where it may be, as report lines. */
function misplaced(files: { name: string; sql: string }[]): string[] {
  const problems: string[] = []
  for (const [table, owner] of Object.entries(OWNERS)) {
    for (const { name, sql } of files) {
      if (name === owner) continue
      if (WRITE(table).test(sql)) problems.push(`${name} writes ${table} (its owner: ${owner ?? 'none'})`)
      else if (READ(table).test(sql) && !READERS[table]?.includes(name)) problems.push(`${name} reads ${table} (its owner: ${owner ?? 'none'})`)
    }
  }
  return problems
}

describe('table owners', () => {
  const files = ['src', 'actors']
    .flatMap((d) => sourceFiles(join(ROOT, d)))
    .map((f) => ({ name: relative(ROOT, f), sql: sqlText(readFileSync(f, 'utf8')) }))
    .filter((f) => f.name !== 'src/shared/db.ts' && !f.name.startsWith('src/shared/schema/'))

  test('the check finds SQL in strings and templates, not in comments, and tells reads from writes', () => {
    const source = [
      "// SELECT * FROM users: a comment",
      "const a = db.query('SELECT id FROM videos v JOIN pods p ON p.id = v.pod')",
      'const b = `DELETE FROM users WHERE id = ${id}`',
      "const c = 'INSERT OR IGNORE INTO outbox (friend) VALUES (?)'",
    ].join('\n')
    expect(misplaced([{ name: 'src/x.ts', sql: sqlText(source) }])).toEqual([
      'src/x.ts writes users (its owner: src/accounts/store.ts)',
      'src/x.ts writes outbox (its owner: src/friends/store.ts)',
      'src/x.ts reads pods (its owner: src/videos/store.ts)',
      'src/x.ts reads videos (its owner: src/videos/store.ts)',
    ])
    // The index's search may read the index, not write it.
    expect(misplaced([{ name: 'src/videos/search.ts', sql: sqlText(source) }])).not.toContain('src/videos/search.ts reads videos (its owner: src/videos/store.ts)')
    expect(misplaced([{ name: 'src/videos/search.ts', sql: "UPDATE videos SET name = ''" }])).toEqual(['src/videos/search.ts writes videos (its owner: src/videos/store.ts)'])
  })

  test('every table of the schema has its entry, and every owner names its table', () => {
    expect(Object.keys(OWNERS).sort()).toEqual(schemaTables().sort())
    const unnamed = Object.entries(OWNERS).filter(([table, owner]) => {
      const sql = files.find((f) => f.name === owner)?.sql
      return owner !== null && !(sql && (READ(table).test(sql) || WRITE(table).test(sql)))
    })
    expect(unnamed).toEqual([])
  })

  test("each table's SQL is in its owner module only", () => {
    const problems = misplaced(files)
    if (problems.length) throw new Error(`SQL outside its table's owner (${problems.length}):\n${problems.map((p) => `  ${p}`).join('\n')}`)
  })
})
