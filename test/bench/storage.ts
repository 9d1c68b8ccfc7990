/**
 * Benchmark: object storage (a real radosgw on loopback, test/helpers/radosgw.ts) against the
 * data folder.
 *  - Upload to playable: from the start of an upload (a 30 s 1280x720 clip, and a minute of
 *    720p at 12 Mbit/s, ~90 MiB, stored in parts) to its web seed answering the first range,
 *    on a pod with `storage.kind = "s3"` against one on its data folder (transcoding off: the
 *    original is what plays first). Goal: at most 1.2x. Also shown: until the file is in the
 *    bucket (the pod moves it there once it plays).
 *  - Web-seed throughput: 16 sequential 4 MiB ranges of a 64 MiB video, from the bucket's
 *    (presigned) URL against the pod's own web seed (serveFile, in a pod on its data folder).
 * Runs interleaved after a warm-up, median reported.
 *
 * `bun test/bench/storage.ts` runs it; so does test/bench/run.ts.
 */
import { randomBytes } from 'node:crypto'
import { copyFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { serveFile } from '../../src/torrents/webseed'
import type { Video } from '../../src/videos/model'
import { makeClip } from '../helpers/clips'
import { removeTempDirs, startTestPod, tempDir, type TestPod } from '../helpers/pods'
import { startRadosgw } from '../helpers/radosgw'
import { movedToBucket, uploadVideo, userToken } from '../helpers/videos'

const RUNS = 5
const GOAL = 1.2
const MiB = 1024 * 1024
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const ms = (x: number) => `${x.toFixed(0).padStart(5)} ms`

/**
 * Milliseconds from the upload's start to the first range of its web seed, and to its file
 * being in the bucket (a pod on a bucket moves it there after it plays: src/storage/moves.ts);
 * the next run starts once it is, so that the move does not slow the next run.
 */
async function uploadToPlayable(pod: TestPod, token: string, clip: string): Promise<{ playable: number; inBucket: number }> {
  const t0 = performance.now()
  const res = await uploadVideo(pod.base, token, { file: Bun.file(clip), name: 'bench' })
  if (res.status !== 201) throw new Error(`upload: ${res.status} ${await res.text()}`)
  const video = (await res.json()) as Video
  const seed = await fetch(video.webseedUrls[0]!, { headers: { range: 'bytes=0-65535' } })
  if (seed.status !== 206) throw new Error(`web seed: ${seed.status}`)
  await seed.arrayBuffer()
  const playable = performance.now() - t0
  await movedToBucket(pod, 120_000)
  return { playable, inBucket: performance.now() - t0 }
}

/** Seconds to read `size` bytes of `url` as sequential 4 MiB ranges. */
async function readRanges(url: string, size: number): Promise<number> {
  const t0 = performance.now()
  for (let at = 0; at < size; at += 4 * MiB) {
    const r = await fetch(url, { headers: { range: `bytes=${at}-${at + 4 * MiB - 1}` } })
    if (r.status !== 206) throw new Error(`${url}: ${r.status}`)
    await r.arrayBuffer()
  }
  return (performance.now() - t0) / 1000
}

const gw = await startRadosgw({ bucket: 'seedpod-bench' })
try {
  const work = tempDir('seedpod-bench-storage-')
  const clip = await makeClip(work, { seconds: 30, size: '1280x720', faststart: true })
  const settings = { transcoding: { enabled: false }, log: { level: 'error' } }
  const local = await startTestPod(settings)
  const s3 = await startTestPod({
    ...settings,
    storage: gw.settings('seedpod-bench'),
  })
  const tokens = { local: await userToken(local), s3: await userToken(s3) }
  /** Upload to playable on both pods, interleaved after a warm-up; prints the medians and the ratio. */
  const compare = async (file: string, what: string, runs: number) => {
    const times = { local: [] as number[], s3: [] as number[], inBucket: [] as number[] }
    await uploadToPlayable(local, tokens.local, file)
    await uploadToPlayable(s3, tokens.s3, file)
    for (let i = 0; i < runs; i++) {
      times.local.push((await uploadToPlayable(local, tokens.local, file)).playable)
      const onS3 = await uploadToPlayable(s3, tokens.s3, file)
      times.s3.push(onS3.playable)
      times.inBucket.push(onS3.inBucket)
    }
    const ratio = median(times.s3) / median(times.local)
    const runsOf = (xs: number[]) => `(runs: ${xs.map((t) => t.toFixed(0)).join(', ')})`
    console.log(`upload to playable (${(Bun.file(file).size / MiB).toFixed(1)} MiB, ${what}), median of ${runs}`)
    console.log(`  data folder  ${ms(median(times.local))}   ${runsOf(times.local)}`)
    console.log(`  S3 (radosgw) ${ms(median(times.s3))}   ${ratio.toFixed(2)}x  (goal <= ${GOAL}x: ${ratio <= GOAL ? 'met' : 'MISSED'})   ${runsOf(times.s3)}`)
    console.log(`  S3, until the file is in the bucket ${ms(median(times.inBucket))}   ${(median(times.inBucket) / median(times.local)).toFixed(2)}x   ${runsOf(times.inBucket)}`)
  }
  await compare(clip, '30 s of 720p', RUNS)
  // Real size: a minute of 720p noise at 12 Mbit/s (~90 MiB), which goes up in parts (multipart).
  const noisy = join(work, 'noisy.mp4')
  const ff = Bun.spawnSync(['ffmpeg', '-v', 'error', '-f', 'lavfi', '-i', 'nullsrc=s=1280x720:r=30,geq=random(1)*255:128:128', '-f', 'lavfi', '-i', 'sine=f=440:sample_rate=48000',
    '-t', '60', '-c:v', 'libx264', '-preset', 'ultrafast', '-b:v', '12M', '-maxrate', '12M', '-bufsize', '24M', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-movflags', '+faststart', noisy])
  if (ff.exitCode !== 0) throw new Error(`ffmpeg: ${ff.stderr.toString()}`)
  await compare(noisy, 'a minute of 720p at 12 Mbit/s', RUNS)

  // A 64 MiB "video" (random bytes: a web seed serves bytes), stored by each pod as an own file.
  const size = 64 * MiB
  const big = join(work, 'big.bin')
  writeFileSync(big, randomBytes(size))
  // Kept by the bucket pod (which moves the file there); the pod's web seed serves a copy.
  const podSeed = join(work, 'served.bin')
  copyFileSync(big, podSeed)
  const store = s3.running.pod.videos.files.storage
  await store.keep('videos/bench.mp4', big, 'video/mp4')
  const bucketUrl = store.viewerUrl('videos/bench.mp4')!
  // The pod's web seed code (serveFile, what /static/webseed/ answers with) on its own server.
  const server = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: (req) => serveFile(req, podSeed, { contentType: 'video/mp4' }) })
  const podUrl = `http://127.0.0.1:${server.port}/bench.mp4`
  const secs = { pod: [] as number[], bucket: [] as number[] }
  await readRanges(podUrl, size)
  await readRanges(bucketUrl, size)
  for (let i = 0; i < RUNS; i++) {
    secs.pod.push(await readRanges(podUrl, size))
    secs.bucket.push(await readRanges(bucketUrl, size))
  }
  const rate = (s: number) => `${(size / MiB / s).toFixed(0).padStart(5)} MiB/s`
  console.log(`web-seed throughput, 16 sequential 4 MiB ranges of 64 MiB, median of ${RUNS}`)
  console.log(`  pod's web seed (serveFile)  ${rate(median(secs.pod))}`)
  console.log(`  bucket (radosgw, presigned) ${rate(median(secs.bucket))}   ${(median(secs.pod) / median(secs.bucket)).toFixed(2)}x the pod's`)
  server.stop(true)
  await Promise.all([local.stop(), s3.stop()])
} finally {
  await gw.stop()
  removeTempDirs()
}
