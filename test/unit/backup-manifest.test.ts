/**
 * A backup's manifest read as hostile input (src/backup/model.ts): only paths of a data
 * folder's layout, each file once, sizes and hashes of the right shape; anything else is a
 * reason, not a manifest.
 */
import { describe, expect, test } from 'bun:test'
import { isBackupPath, parseManifest, type Manifest } from '../../src/backup/model'

const SHA = 'a'.repeat(64)

/** A well-formed manifest, with `changes` over it. */
function manifest(changes: Record<string, unknown> = {}): string {
  const m: Manifest = {
    format: 'seedpod-backup',
    version: 1,
    seedpod: '0.1.0',
    createdAt: '2025-06-01T03:15:00.000Z',
    fingerprint: 'fp',
    schemaVersion: 17,
    config: null,
    files: [
      { path: 'seedpod.db', size: 10, sha256: SHA },
      { path: 'keys/pod.key', size: 10, sha256: SHA },
      { path: 'mirrors/0123/video.mp4', size: 10, sha256: SHA },
    ],
    bucket: null,
    missing: [],
  }
  return JSON.stringify({ ...m, ...changes })
}

describe('backup manifest', () => {
  test('paths: the database, keys, and files of the folders the pod keeps files in, never a way out', () => {
    for (const ok of ['seedpod.db', 'keys/pod.key', 'keys/token.secret', 'videos/abc.mp4', 'videos/abc.720.m3u8', 'thumbnails/abc.jpg', 'torrents/0a.torrent', 'mirrors/0a/abc.mp4'])
      expect(`${ok} ${isBackupPath(ok)}`).toBe(`${ok} true`)
    for (const bad of ['', '/etc/passwd', '../x', 'videos/../../x', 'videos/..', 'keys/../seedpod.db', 'keys/a/b', 'videos', 'videos/', 'tmp/x', 'backups/x.db', 'videos\\..\\x', 'mirrors/a/b/c', 'seedpod.db-wal', 'videos/a b.mp4'])
      expect(`${bad} ${isBackupPath(bad)}`).toBe(`${bad} false`)
  })

  test('a well-formed manifest is read as it is', () => {
    const r = parseManifest(manifest())
    expect(r.ok && r.value).toEqual(JSON.parse(manifest()))
  })

  test('anything else is a reason', () => {
    const reasons: [string, string][] = [
      ['not json', 'it is not JSON'],
      [JSON.stringify([1]), 'it is not a seedpod backup\'s manifest'],
      [manifest({ version: 2 }), 'its version (2) is not 1'],
      [manifest({ files: 'all' }), 'it lacks seedpod, createdAt, fingerprint, schemaVersion, files or missing'],
      [manifest({ files: [{ path: 'seedpod.db', size: -1, sha256: SHA }] }), 'files[0] is not a file entry'],
      [manifest({ files: [{ path: 'seedpod.db', size: 1, sha256: 'xyz' }] }), 'files[0] is not a file entry'],
      [manifest({ files: [{ path: '../../root/.ssh/authorized_keys', size: 1, sha256: SHA }] }), 'files[0] names "../../root/.ssh/authorized_keys", which is not a file of a data folder'],
      [manifest({ files: [{ path: 'seedpod.db', size: 1, sha256: SHA }, { path: 'seedpod.db', size: 1, sha256: SHA }] }), 'files lists seedpod.db twice'],
      [manifest({ files: [{ path: 'seedpod.db', size: 1, sha256: SHA }] }), 'files lacks seedpod.db or keys/pod.key'],
      [manifest({ config: { path: '../seedpod.toml', size: 1, sha256: SHA } }), 'config names "../seedpod.toml", not seedpod.toml'],
      [manifest({ bucket: { bucket: 'b', prefix: '', endpoint: null, objects: [{ key: 'k' }] } }), 'bucket.objects has an entry that is not an object'],
    ]
    for (const [text, reason] of reasons) {
      const r = parseManifest(text)
      expect(r.ok ? 'read' : r.error).toContain(reason)
    }
  })
})
