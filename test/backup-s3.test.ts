/**
 * `seedpod backup` and `seedpod restore` of a pod on a bucket (a real radosgw): the files in
 * the bucket are listed (keys, sizes, ETags), not copied; restored with the same bucket, the
 * pod plays its video as before; a listed file gone from the bucket, or a configuration
 * without the bucket, is a warning of the restore.
 */
import { afterAll, expect, setDefaultTimeout, test } from 'bun:test'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Manifest } from '../src/backup/model'
import { makeClip } from './helpers/clips'
import { fp, netPod, stopPods } from './helpers/network'
import { childEnv, removeTempDirs, runCli, tempDir, type TestPod } from './helpers/pods'
import { startRadosgw, type Radosgw } from './helpers/radosgw'
import { movedToBucket, uploadVideo, userToken } from './helpers/videos'

setDefaultTimeout(120_000)
afterAll(stopPods)
afterAll(removeTempDirs)
let gw: Radosgw | undefined
afterAll(() => gw?.stop())

const BUCKET = 'seedpod-backup'
const PREFIX = 'pods/a/'

/** The SHA-256 of a video's web seed (followed to the bucket) and its master playlist. */
async function playback(p: TestPod, id: string): Promise<{ webseed: string; master: string }> {
  const bytes = await (await fetch(`${p.base}/static/webseed/${id}.mp4`)).arrayBuffer()
  return { webseed: new Bun.CryptoHasher('sha256').update(bytes).digest('hex'), master: await (await fetch(`${p.base}/static/hls/${id}/master.m3u8`)).text() }
}

test('a pod on a bucket: its files are listed with sizes and ETags, not copied, and the restored pod plays them from the bucket', async () => {
  gw = await startRadosgw({ bucket: BUCKET })
  const storage = gw.settings(BUCKET, { prefix: PREFIX })
  const s3 = childEnv(gw.env(BUCKET, PREFIX))
  const dir = tempDir()
  let pod = await netPod({ storage, transcoding: { enabled: false } })
  const fingerprint = fp(pod)
  const res = await uploadVideo(pod.base, await userToken(pod), { file: Bun.file(await makeClip(dir)), name: 'In the bucket' })
  expect(res.status).toBe(201)
  const { id } = (await res.json()) as { id: string }
  await movedToBucket(pod)
  const before = await playback(pod, id)

  const made = await runCli(['backup', 'backup', '--data-dir', pod.config.dataDir], { cwd: dir, env: s3 })
  expect(made.stdout).toContain('files of the bucket listed')
  expect(made.code).toBe(0)
  const manifest = JSON.parse(readFileSync(join(dir, 'backup', 'manifest.json'), 'utf8')) as Manifest
  const inBucket = ((await gw.client(BUCKET).list({ prefix: PREFIX })).contents ?? []).map((o) => ({ key: o.key.slice(PREFIX.length), size: o.size ?? 0, etag: o.eTag!.replace(/"/g, '') }))
  expect(inBucket.map((o) => o.key)).toContain(`videos/${id}.mp4`)
  expect(manifest.bucket).toEqual({ endpoint: gw.endpoint, bucket: BUCKET, prefix: PREFIX, objects: inBucket.sort((a, b) => a.key.localeCompare(b.key)) })
  expect(manifest.files.map((f) => f.path).sort()).toEqual(['keys/pod.key', 'keys/token.secret', 'seedpod.db'])
  expect(readFileSync(join(dir, 'backup', 'manifest.json'), 'utf8')).not.toContain(gw.secretAccessKey)
  await pod.stop()

  const restored = await runCli(['restore', 'backup', '--data-dir', 'restored'], { cwd: dir, env: s3 })
  expect(restored.stderr).toBe('')
  expect(restored.code).toBe(0)
  pod = await netPod({ dataDir: join(dir, 'restored'), storage, transcoding: { enabled: false } })
  expect(fp(pod)).toBe(fingerprint)
  expect((await playback(pod, id)).webseed).toBe(before.webseed)
  expect((await playback(pod, id)).master).toBe(before.master)
  await pod.stop()

  // What the restore cannot bring back is said: a file gone from the bucket, a configuration without the bucket.
  await gw.client(BUCKET).delete(`${PREFIX}thumbnails/${id}.jpg`)
  const gone = await runCli(['restore', 'backup', '--data-dir', 'again'], { cwd: dir, env: s3 })
  expect(gone.stderr).toContain(`seedpod restore: warning: 1 of the backup's video files in bucket ${BUCKET}, prefix ${PREFIX} are gone or changed (thumbnails/${id}.jpg)`)
  expect(gone.code).toBe(0)
  const local = await runCli(['restore', 'backup', '--data-dir', 'local'], { cwd: dir })
  expect(local.stderr).toContain(`were listed, not copied: set storage.kind = "s3" and that bucket in the configuration before starting the pod`)
  expect(local.code).toBe(0)
})
