/**
 * `seedpod storage migrate` against a real radosgw, while the pod serves: a pod's files move
 * from its data folder to the bucket and back, and a viewer fetching byte ranges of the
 * video all along gets the right bytes every time.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Video } from '../src/videos/model'
import { makeClip } from './helpers/clips'
import { netPod, restart, stopPods, until } from './helpers/network'
import { childEnv, listTree, removeTempDirs, runCli, tempDir, type TestPod } from './helpers/pods'
import { startRadosgw, type Radosgw } from './helpers/radosgw'
import { uploadVideo, userToken } from './helpers/videos'

setDefaultTimeout(90_000)
afterAll(removeTempDirs)

const BUCKET = 'seedpod-migrate'
let gw: Radosgw
let pod: TestPod
let video: Video
let original: Uint8Array

const keys = async () => ((await gw.client().list({})).contents ?? []).map((c) => c.key).sort()
const videoFiles = () => listTree(pod.config.dataDir).filter((f) => /\.(mp4|m3u8)$/.test(f) && !f.startsWith('tmp/'))
const migrateTo = (to: string) =>
  runCli(['storage', 'migrate', '--to', to, '--data-dir', pod.config.dataDir], {
    cwd: pod.config.dataDir,
    env: childEnv({
      SEEDPOD_STORAGE_KIND: 's3',
      SEEDPOD_STORAGE_ENDPOINT: gw.endpoint,
      SEEDPOD_STORAGE_BUCKET: BUCKET,
      SEEDPOD_STORAGE_ACCESS_KEY_ID: gw.accessKeyId,
      SEEDPOD_STORAGE_SECRET_ACCESS_KEY: gw.secretAccessKey,
    }),
  })

/** A viewer reading random ranges of the video through the pod's web seed URL (following it to the bucket) until stopped. */
function startViewer() {
  const problems: string[] = []
  let reads = 0
  let running = true
  const loop = (async () => {
    while (running) {
      const start = Math.floor(Math.random() * (original.length - 1000))
      const res = await fetch(`${pod.base}/static/webseed/${video.id}.mp4`, { headers: { range: `bytes=${start}-${start + 999}` } }).catch((e) => e as Error)
      if (res instanceof Error) problems.push(res.message)
      else if (res.status !== 206) problems.push(`status ${res.status}`)
      else if (!Buffer.from(await res.arrayBuffer()).equals(original.subarray(start, start + 1000))) problems.push(`wrong bytes at ${start}`)
      reads++
      const playlist = await fetch(`${pod.base}/static/hls/${video.id}/144.m3u8`)
      if (playlist.status !== 200) problems.push(`playlist ${playlist.status}`)
      await playlist.arrayBuffer()
      await Bun.sleep(5)
    }
  })()
  return {
    stop: async () => {
      running = false
      await loop
      return { reads, problems }
    },
  }
}

beforeAll(async () => {
  const work = tempDir()
  const clip = await makeClip(work, { seconds: 3 })
  gw = await startRadosgw({ bucket: BUCKET })
  // A pod of an earlier release: its files in its data folder.
  const local = await netPod({ transcoding: { resolutions: [144] } })
  const res = await uploadVideo(local.base, await userToken(local), { file: Bun.file(clip), name: 'Moving house' })
  video = (await res.json()) as Video
  await until(async () => ((await (await fetch(`${local.base}/api/v1/videos/${video.id}`)).json()) as Video).streams?.length === 2, 30_000, 'the rendition')
  original = readFileSync(join(local.config.dataDir, 'videos', `${video.id}.mp4`))
  await local.stop()
  // Switched to the bucket: it serves what is still in its data folder from there.
  pod = await restart(local, {
    storage: { kind: 's3', endpoint: gw.endpoint, region: gw.region, bucket: BUCKET, accessKeyId: gw.accessKeyId, secretAccessKey: gw.secretAccessKey },
    transcoding: { enabled: false },
  })
}, 120_000)

afterAll(async () => {
  await stopPods()
  await gw?.stop()
})

describe('storage migrate', () => {
  test('to s3 and back to local while a viewer reads the video: every read right, every file moved, a rerun moves nothing', async () => {
    expect(videoFiles().length).toBe(4)
    const viewer = startViewer()
    await Bun.sleep(300)
    const up = await migrateTo('s3')
    expect(up.code).toBe(0)
    expect(up.stdout).toContain(`moved videos/${video.id}.mp4`)
    expect(up.stdout).toContain('done: 7 files moved to the bucket')
    expect(videoFiles()).toEqual([])
    expect(await keys()).toContain(`videos/${video.id}.144.mp4`)
    expect((await keys()).length).toBe(7)
    // Now its viewers fetch from the bucket.
    const served = (await (await fetch(`${pod.base}/api/v1/videos/${video.id}`)).json()) as Video
    expect(served.webseedUrls[0]!.startsWith(`${gw.endpoint}/${BUCKET}/videos/${video.id}.mp4?`)).toBe(true)
    await Bun.sleep(300)
    const again = await migrateTo('s3')
    expect(again.code).toBe(0)
    expect(again.stdout).toContain('nothing to move')

    // A run back interrupted after a file's switch (its local copy in place, the object not yet deleted).
    const thumb = `thumbnails/${video.id}.jpg`
    writeFileSync(join(pod.config.dataDir, thumb), new Uint8Array(await gw.client().file(thumb).arrayBuffer()))
    const down = await migrateTo('local')
    expect(down.code).toBe(0)
    // The rerun goes on: six files moved, and the switched one's old copy deleted.
    expect(down.stdout).toContain('done: 6 files moved to the data folder')
    expect(await keys()).toEqual([])
    expect(videoFiles().length).toBe(4)
    expect(Buffer.from(readFileSync(join(pod.config.dataDir, 'videos', `${video.id}.mp4`))).equals(original)).toBe(true)
    await Bun.sleep(300)
    const { reads, problems } = await viewer.stop()
    expect(problems).toEqual([])
    expect(reads).toBeGreaterThan(20)
  })

  test('a pod on its data folder alone refuses to migrate, saying why', async () => {
    const run = await runCli(['storage', 'migrate', '--to', 's3', '--data-dir', pod.config.dataDir], { cwd: pod.config.dataDir, env: childEnv() })
    expect(run.code).toBe(1)
    expect(run.stderr).toContain('set storage.kind = "s3"')
    const usage = await runCli(['storage', 'migrate', '--to', 'tape'], { cwd: pod.config.dataDir, env: childEnv() })
    expect(usage.code).toBe(2)
  })
})
