/**
 * Transcoding overhead: the pod's transcoder (durable queue, progress tracking, torrent of
 * the result, rows, announcements) against the same ffmpeg command run bare, on the same
 * 720p clip, in the same run. Goal: <= 1.05x (the queue costs nothing next to ffmpeg).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { resolveConfig } from '../../src/shared/config'
import { createLogger } from '../../src/shared/log'
import { startPod } from '../../src/app/server'
import { streamArgs } from '../../src/media/hls'
import type { TranscodeJob } from '../../src/transcoding/queue'
import { makeClip } from '../helpers/clips'
import { uploadVideo } from '../helpers/videos'
import { freePort } from '../helpers/ports'
import { valueOf } from '../helpers/results'

const RUNS = 5
const HEIGHT = 480
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

async function bare(clip: string, out: string): Promise<number> {
  const t0 = performance.now()
  const p = Bun.spawn(streamArgs(clip, out, HEIGHT), { stdout: 'ignore', stderr: 'ignore' })
  if ((await p.exited) !== 0) throw new Error('bare ffmpeg failed')
  return performance.now() - t0
}

/** Runs the transcoding benchmark and prints the ratio. */
export async function run(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'seedpod-bench-transcode-'))
  try {
    const clip = await makeClip(dir, { seconds: 10, size: '1280x720', faststart: true })
    const port = await freePort()
    const base = `http://127.0.0.1:${port}`
    const config = resolveConfig([
      { source: 'bench', values: { host: '127.0.0.1', port, url: base, dataDir: join(dir, 'pod'), transcoding: { resolutions: [HEIGHT] } } },
    ])
    const pod = await startPod(config, createLogger({ level: 'error', format: 'json' }))
    try {
      const account = valueOf(await pod.pod.accounts.create('bench', 'correct horse battery staple'))
      const token = (await pod.pod.accounts.issueToken(account)).accessToken
      const ours: number[] = []
      const theirs: number[] = []
      const pod1 = async (i: number) => {
        const video = (await (await uploadVideo(base, token, { file: Bun.file(clip), name: `bench ${i}` })).json()) as { id: string }
        let job: TranscodeJob | undefined
        while (job?.state !== 'done') {
          await Bun.sleep(250)
          job = ((await (await fetch(`${base}/api/v1/videos/${video.id}`)).json()) as { transcoding: TranscodeJob[] }).transcoding[0]
          if (job?.state === 'failed') throw new Error(job.error ?? 'job failed')
        }
        // From the moment the job was queued (with the upload) to the moment it was done.
        ours.push(Date.parse(job.updatedAt) - Date.parse(job.createdAt))
      }
      for (let i = 0; i < RUNS; i++) {
        // Alternate which goes first, so that neither always meets a warmer machine.
        if (i % 2) {
          await pod1(i)
          theirs.push(await bare(clip, join(dir, `bare${i}.mp4`)))
        } else {
          theirs.push(await bare(clip, join(dir, `bare${i}.mp4`)))
          await pod1(i)
        }
      }
      const [o, b] = [median(ours), median(theirs)]
      console.log(`transcode ${HEIGHT}p of a 10 s 720p clip: seedpod ${o.toFixed(0)} ms, bare ffmpeg ${b.toFixed(0)} ms, ratio ${(o / b).toFixed(3)} (goal <= 1.05)`)
    } finally {
      await pod.stop()
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

if (import.meta.main) await run()
