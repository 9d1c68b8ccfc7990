/**
 * `seedpod storage migrate` against a real radosgw, while the pod serves: a pod's files move
 * from its data folder to the bucket and back, and a viewer fetching byte ranges of the
 * video all along gets the right bytes every time; so do its copies of friends' videos.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { OwnMirror } from '../actors/redundancy'
import { loadConfig } from '../src/shared/config'
import { migrate } from '../src/storage/migrate'
import { S3Store } from '../src/storage/s3'
import type { Video } from '../src/videos/model'
import { makeClip } from './helpers/clips'
import { adminToken, netPod, restart, stopPods, until } from './helpers/network'
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

const keys = async (prefix = '') => ((await gw.client().list({ prefix })).contents ?? []).map((c) => c.key).sort()
const videoFiles = () => listTree(pod.config.dataDir).filter((f) => /\.(mp4|m3u8)$/.test(f) && !f.startsWith('tmp/'))
const bucketSettings = () => gw.settings(BUCKET)
const migrateTo = (to: string, of: TestPod = pod, prefix = '') =>
  runCli(['storage', 'migrate', '--to', to, '--data-dir', of.config.dataDir], {
    cwd: of.config.dataDir,
    env: childEnv(gw.env(BUCKET, prefix)),
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
    storage: bucketSettings(),
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

  test("a copy of a friend's video moves to the bucket, still served from there, and back", async () => {
    const REDUNDANT = { redundancy: { enabled: true, budgetBytes: 50_000_000 } }
    const prefix = 'pods/mirror/'
    const [origin, local] = await Promise.all([netPod({ transcoding: { enabled: false } }), netPod(REDUNDANT)])
    await local.running.pod.making.makeFriends([origin.base])
    const clip = await makeClip(tempDir(), { seconds: 3, faststart: true })
    const theirs = (await (await uploadVideo(origin.base, await userToken(origin), { file: Bun.file(clip), name: 'Worth a copy' })).json()) as Video
    const mirrorsOf = async (p: TestPod) =>
      ((await (await fetch(`${p.base}/api/v1/videos/mirrors`, { headers: { authorization: `Bearer ${await adminToken(p)}` } })).json()) as { mirrors: OwnMirror[] }).mirrors
    const copy = await until(async () => (await mirrorsOf(local)).find((m) => m.state === 'ready'), 30_000, 'a ready copy')
    const bytes = readFileSync(join(local.config.dataDir, 'mirrors', copy.file))
    await local.stop()
    const mirror = await restart(local, { ...REDUNDANT, storage: { ...bucketSettings(), prefix }, transcoding: { enabled: false } })
    const playlist = `mirrors/${copy.infoHash}/${theirs.id}.m3u8`
    const copyKeys = [`${prefix}mirrors/${copy.file}`, `${prefix}${playlist}`, `${prefix}torrents/${copy.infoHash}.torrent`].sort()
    const inDataFolder = () => listTree(mirror.config.dataDir).filter((f) => f.startsWith(`mirrors/${copy.infoHash}`) || f === `torrents/${copy.infoHash}.torrent`)
    /** The copy's web seed (what the network knows), followed wherever it leads, and its media playlist. */
    const served = async () => {
      const res = await fetch(`${mirror.base}/static/webseed/${theirs.id}.mp4`, { headers: { range: 'bytes=1000-1999' } })
      const media = await fetch(`${mirror.base}/static/hls/${theirs.id}/original.m3u8`)
      return res.status === 206 && Buffer.from(await res.arrayBuffer()).equals(bytes.subarray(1000, 2000)) && media.status === 200 && (await media.text()).includes('#EXT-X-BYTERANGE')
    }
    expect(await served()).toBe(true)

    const up = await migrateTo('s3', mirror, prefix)
    expect(up.code).toBe(0)
    expect(up.stdout).toContain(`moved mirrors/${copy.file}`)
    expect(await keys(prefix)).toEqual(copyKeys)
    expect(inDataFolder()).toEqual([])
    expect(await served()).toBe(true)
    expect((await migrateTo('s3', mirror, prefix)).stdout).toContain('nothing to move')

    const down = await migrateTo('local', mirror, prefix)
    expect(down.code).toBe(0)
    expect(down.stdout).toContain('done: 3 files moved to the data folder')
    expect(await keys(prefix)).toEqual([])
    expect(inDataFolder()).toEqual([`mirrors/${copy.infoHash}`, `mirrors/${copy.file}`, playlist, `torrents/${copy.infoHash}.torrent`].sort())
    expect(Buffer.from(readFileSync(join(mirror.config.dataDir, 'mirrors', copy.file))).equals(bytes)).toBe(true)
    expect(await served()).toBe(true)
    expect((await mirrorsOf(mirror)).map((m) => m.state)).toEqual(['ready'])
  })

  test('a copy the pod drops under the move is not brought back, in either place, and fails nothing', async () => {
    const prefix = 'pods/dropping/'
    const env = { SEEDPOD_STORAGE_KIND: 's3', SEEDPOD_STORAGE_ENDPOINT: gw.endpoint, SEEDPOD_STORAGE_BUCKET: BUCKET, SEEDPOD_STORAGE_PREFIX: prefix, AWS_ACCESS_KEY_ID: gw.accessKeyId, AWS_SECRET_ACCESS_KEY: gw.secretAccessKey }
    const bucket = new S3Store(loadConfig({ env }).storage)
    const dataDir = tempDir()
    mkdirSync(join(dataDir, 'tmp'))
    mkdirSync(join(dataDir, 'mirrors', 'abc'), { recursive: true })
    writeFileSync(join(dataDir, 'mirrors', 'abc', 'x.mp4'), new Uint8Array(5000).fill(7))
    writeFileSync(join(dataDir, 'mirrors', 'abc', 'y.mp4'), new Uint8Array(5000).fill(8))
    // The pod drops the copy x while it is moved: kept when the move starts, not once it is in place.
    let asked = 0
    const items = () => [{ key: 'mirrors/abc/x.mp4', kept: () => asked++ % 2 === 0 }, { key: 'mirrors/abc/y.mp4' }]
    const up = await migrate(items(), bucket, dataDir, 's3', () => undefined)
    expect(up).toEqual({ moved: 1, skipped: 1 })
    expect(await keys(prefix)).toEqual([`${prefix}mirrors/abc/y.mp4`])
    expect(existsSync(join(dataDir, 'mirrors', 'abc'))).toBe(false)
    await bucket.putBytes('mirrors/abc/x.mp4', new Uint8Array(5000).fill(7), 'video/mp4')
    const down = await migrate(items(), bucket, dataDir, 'local', () => undefined)
    expect(down).toEqual({ moved: 1, skipped: 1 })
    expect(await keys(prefix)).toEqual([])
    expect(listTree(join(dataDir, 'mirrors'))).toEqual(['abc', 'abc/y.mp4'])
  })

  test('a pod on its data folder alone refuses to migrate, saying why', async () => {
    const run = await runCli(['storage', 'migrate', '--to', 's3', '--data-dir', pod.config.dataDir], { cwd: pod.config.dataDir, env: childEnv() })
    expect(run.code).toBe(1)
    expect(run.stderr).toContain('set storage.kind = "s3"')
    const usage = await runCli(['storage', 'migrate', '--to', 'tape'], { cwd: pod.config.dataDir, env: childEnv() })
    expect(usage.code).toBe(2)
  })
})
