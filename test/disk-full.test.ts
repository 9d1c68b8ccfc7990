/**
 * A full disk (issue 18), on a real pod whose data folder is a 64 MiB tmpfs: uploads are
 * refused with 507 when they would leave less than `disk.minFreeBytes` free (from their
 * Content-Length before a byte is written, and as they come), a database write that finds
 * the disk full is a 507 that changes nothing, a transcoding waits in the queue and a copy of
 * a friend's video is not started while the room is lacking; nothing is left half-made (no
 * row without its files, no stray file in tmp/ or videos/), the pod keeps serving what it
 * has, and everything works again once space is freed. Skipped, saying why, where a tmpfs
 * cannot be mounted (the tests run as root in CI).
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { transcode } from '../src/transcoding/ffmpeg'
import type { Video } from '../src/videos/model'
import { makeClip } from './helpers/clips'
import { ffmpeg } from './helpers/media-files'
import { netPod, stopPods, until } from './helpers/network'
import { removeTempDirs, tempDir, type TestPod } from './helpers/pods'
import { MiB } from './helpers/processes'
import { rawHttp } from './helpers/raw-http'
import { freeBytes, leaveFree, mountTmpfs, removeFiller, unmountTmpfs } from './helpers/tmpfs'
import { footprint, uploadVideo, userToken } from './helpers/videos'

/** Free space the pod keeps on its disk. */
const MARGIN = 4 * MiB

const disk = mountTmpfs(64)
const skip = 'skip' in disk ? disk.skip : undefined
if (skip) console.warn(`disk-full tests skipped: ${skip}`)
const mnt = 'dir' in disk ? disk.dir : ''

let pod: TestPod
let token: string
let kept: Video
let clip: string
let lowRate: string

beforeAll(async () => {
  if (skip) return
  const work = tempDir()
  clip = await makeClip(work, { seconds: 2 })
  // 30 s at a very low rate: a small file whose 144p rendition takes more than its size.
  lowRate = join(work, 'low-rate.mp4')
  await ffmpeg('-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=25', '-f', 'lavfi', '-i', 'sine', '-t', '30', '-c:v', 'libx264', '-preset', 'ultrafast', '-crf', '51', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '16k', lowRate)
  pod = await netPod({ dataDir: join(mnt, 'data'), disk: { minFreeBytes: MARGIN }, transcoding: { resolutions: [144] }, redundancy: { enabled: true, budgetBytes: 50_000_000 } })
  token = await userToken(pod, 'keeper')
  // A video the pod has before the disk fills, with its rendition: what it must go on serving.
  const res = await uploadVideo(pod.base, token, { file: Bun.file(clip), name: 'Kept' })
  kept = (await res.json()) as Video
  await until(() => pod.running.pod.transcoding.queue.of(kept.id).every((j) => j.state === 'done'), 30_000, 'the first rendition')
}, 120_000)

afterAll(async () => {
  await stopPods()
  if (!skip) unmountTmpfs(mnt)
  removeTempDirs()
})

/** The pod still serves what it has: the video, its web seed, its thumbnail. */
async function stillServing(): Promise<void> {
  expect((await fetch(`${pod.base}/api/v1/videos/${kept.id}`)).status).toBe(200)
  const range = await fetch(`${pod.base}/static/webseed/${kept.id}.mp4`, { headers: { range: 'bytes=0-99' } })
  expect(range.status).toBe(206)
  expect((await range.arrayBuffer()).byteLength).toBe(100)
  expect((await fetch(`${pod.base}/static/thumbnails/${kept.id}.jpg`)).status).toBe(200)
}

/** The head of an upload request of `length` bytes (none: chunked), with the user's token. */
const uploadHead = (length?: number) =>
  `POST /api/v1/videos HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\nContent-Type: multipart/form-data; boundary=xx\r\n` +
  (length === undefined ? 'Transfer-Encoding: chunked\r\n' : `Content-Length: ${length}\r\n`) +
  '\r\n'

/** A chunked multipart body whose file part has `bytes` bytes, in 64 KiB chunks. */
function chunkedUpload(bytes: number): Uint8Array[] {
  const enc = new TextEncoder()
  const chunk = (data: Uint8Array) => Buffer.concat([enc.encode(`${data.byteLength.toString(16)}\r\n`), data, enc.encode('\r\n')])
  const parts: Uint8Array[] = [chunk(enc.encode('--xx\r\nContent-Disposition: form-data; name="name"\r\n\r\nBig\r\n--xx\r\nContent-Disposition: form-data; name="file"; filename="big.mp4"\r\n\r\n'))]
  for (let sent = 0; sent < bytes; sent += 64 * 1024) parts.push(chunk(new Uint8Array(Math.min(64 * 1024, bytes - sent))))
  parts.push(chunk(enc.encode('\r\n--xx--\r\n')), enc.encode('0\r\n\r\n'))
  return parts
}

const jsonOf = (body: string) => JSON.parse(body) as { error: { code: string; message: string } }

describe.skipIf(skip !== undefined)('a full disk', () => {
  test('an upload whose Content-Length would go below the margin is refused 507 before a byte of it is read', async () => {
    const empty = footprint(pod)
    leaveFree(mnt, MARGIN + 1 * MiB)
    // Only the head is sent: the answer comes without waiting for the body.
    const r = await rawHttp(pod.running.port, uploadHead(5 * MiB), [], { expect: 1, timeoutMs: 5000 })
    expect(r.timedOut).toBe(false)
    expect(r.responses[0]!.status).toBe(507)
    expect(jsonOf(r.responses[0]!.body).error.code).toBe('insufficient_storage')
    expect(jsonOf(r.responses[0]!.body).error.message).toContain('disk.minFreeBytes')
    expect(footprint(pod)).toBe(empty)
    await stillServing()
    removeFiller(mnt)
  })

  test('an upload without a length that fills the disk is stopped as it comes (507); nothing of it is left', async () => {
    const empty = footprint(pod)
    const free = leaveFree(mnt, MARGIN + 3 * MiB)
    const r = await rawHttp(pod.running.port, uploadHead(), chunkedUpload(20 * MiB), { expect: 1, timeoutMs: 15_000, stopWritingOnAnswer: true })
    expect(r.responses[0]!.status).toBe(507)
    expect(jsonOf(r.responses[0]!.body).error.code).toBe('insufficient_storage')
    // Stopped within a few MiB of the margin, not after the 20 MiB were sent.
    expect(r.written).toBeLessThan(12 * MiB)
    await until(() => footprint(pod) === empty, 3000, 'the partial upload removed')
    expect(Math.abs(freeBytes(mnt) - free)).toBeLessThan(256 * 1024)
    await stillServing()
    removeFiller(mnt)
  })

  test('a database write that finds the disk full is a 507 and changes nothing; it works once space is freed', async () => {
    const admin = { authorization: `Bearer ${token}`, 'content-type': 'application/json' }
    leaveFree(mnt, 0)
    const res = await fetch(`${pod.base}/api/v1/videos/${kept.id}`, { method: 'PATCH', headers: admin, body: JSON.stringify({ name: 'Renamed on a full disk', description: 'x'.repeat(9000) }) })
    expect(res.status).toBe(507)
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('insufficient_storage')
    expect(((await (await fetch(`${pod.base}/api/v1/videos/${kept.id}`)).json()) as Video).name).toBe('Kept')
    await stillServing()
    removeFiller(mnt)
    const again = await fetch(`${pod.base}/api/v1/videos/${kept.id}`, { method: 'PATCH', headers: admin, body: JSON.stringify({ name: 'Renamed' }) })
    expect(again.status).toBe(200)
    expect(((await (await fetch(`${pod.base}/api/v1/videos/${kept.id}`)).json()) as Video).name).toBe('Renamed')
  })

  test('a transcoding without the room its rendition may take waits in the queue, leaving nothing; it is made once space is freed', async () => {
    const size = Bun.file(lowRate).size
    // Room for the upload (it and its stream copy), not for its 144p rendition.
    leaveFree(mnt, MARGIN + 2 * size + 300 * 1024)
    const res = await uploadVideo(pod.base, token, { file: Bun.file(lowRate), name: 'Waits for room' })
    expect(res.status).toBe(201)
    const video = (await res.json()) as Video
    const queue = pod.running.pod.transcoding.queue
    await until(() => pod.logs.some((l) => l.event === 'transcoder.job.postponed' && l.video === video.id), 10_000, 'the job postponed')
    await Bun.sleep(1500)
    // Its 144p rendition, and one at its own height (its keyframes are not aligned: src/videos/streams.ts).
    const jobs = queue.of(video.id)
    expect(jobs.length).toBeGreaterThanOrEqual(1)
    expect(jobs.every((j) => j.state === 'queued')).toBe(true)
    expect(readdirSync(join(pod.config.dataDir, 'tmp'))).toEqual([])
    const filesOf = () => readdirSync(join(pod.config.dataDir, 'videos')).filter((f) => f.startsWith(video.id)).sort()
    // The original and its stream's playlist; nothing of a rendition.
    expect(filesOf()).toEqual([`${video.id}.m3u8`, `${video.id}.mp4`])
    expect(pod.running.pod.videos.get(video.id)!.files).toEqual([])
    await stillServing()
    removeFiller(mnt)
    await until(() => queue.of(video.id).every((j) => j.state === 'done'), 60_000, 'the renditions made')
    const heights = jobs.map((j) => j.resolution).sort((x, y) => x - y)
    expect(pod.running.pod.videos.get(video.id)!.files.map((f) => f.resolution)).toEqual(heights)
    expect(filesOf()).toEqual([...heights.flatMap((h) => [`${video.id}.${h}.m3u8`, `${video.id}.${h}.mp4`]), `${video.id}.m3u8`, `${video.id}.mp4`].sort())
    expect(readdirSync(join(pod.config.dataDir, 'tmp'))).toEqual([])
  })

  test('a transcoding that meets a full disk as it runs ends as a job to do again later, its output not trusted', async () => {
    const out = join(mnt, 'data', 'tmp', 'rendition.mp4')
    const never = new AbortController().signal
    const input = pod.running.pod.transcoding.actorInput(pod.running.pod.log)
    const source = { key: pod.running.pod.videos.localFile(kept.id)!.key, duration: kept.duration ?? 2 }
    // Room for it when it starts; the disk fills (another writer) at its first progress report.
    let filled = false
    const fillUp = () => {
      if (!filled) leaveFree(mnt, 0)
      filled = true
    }
    const outcome = await input.transcode({ id: 0, video: kept.id, resolution: 144, kind: 'transcode' }, source, out, fillUp, never)
    expect(filled).toBe(true)
    expect(outcome).toMatchObject({ ok: false, error: { later: true } })
    // And a job that failed to be stored while the disk is full is queued again, not failed.
    expect(input.later(new Error('ffmpeg wrote no stream information'))).toBe(true)
    removeFiller(mnt)
    expect(input.later(new Error('ffmpeg wrote no stream information'))).toBe(false)
    // Stopped by the margin's check on its progress, before the disk is full.
    let asked = 0
    const margin = await transcode({ path: lowRate, duration: 30 }, out, 144, () => undefined, never, { diskFull: () => ++asked > 1 })
    expect(margin).toMatchObject({ ok: false, error: { later: true } })
    expect(asked).toBe(2)
  })

  test("a copy of a friend's video is not started without room for it; it is made once space is freed", async () => {
    const origin = await netPod()
    leaveFree(mnt, MARGIN + 16 * 1024)
    await pod.running.pod.making.makeFriends([origin.base])
    const res = await uploadVideo(origin.base, await userToken(origin), { file: Bun.file(clip), name: 'Worth a copy' })
    const video = (await res.json()) as Video
    await until(() => pod.running.pod.videos.get(video.id)?.streams?.length, 10_000, 'the video and its stream in the index')
    pod.running.pod.actors.send({ type: 'redundancy.check' })
    await Bun.sleep(1500)
    expect(pod.running.pod.redundancy.store.own()).toEqual([])
    expect(readdirSync(join(pod.config.dataDir, 'mirrors'))).toEqual([])
    removeFiller(mnt)
    pod.running.pod.actors.send({ type: 'redundancy.check' })
    await until(() => pod.running.pod.redundancy.store.own().find((m) => m.video === video.id && m.state === 'ready'), 30_000, 'a ready copy')
  })
})
