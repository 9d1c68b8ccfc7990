/**
 * Remote transcoding: the wall time of a job done by one runner (another process, on
 * loopback: claim, download, ffmpeg, upload, the pod's verification and repackaging) against
 * the same job done by the pod itself, on the same 60 s 720p clip, in the same run. Goal:
 * <= 1.1x (the transfers and checks cost little next to ffmpeg).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { resolveConfig } from '../../src/shared/config'
import { createLogger } from '../../src/shared/log'
import { startPod, type RunningPod } from '../../src/app/server'
import type { TranscodeJob } from '../../src/transcoding/queue'
import { makeClip } from '../helpers/clips'
import { freePort } from '../helpers/ports'
import { uploadVideo } from '../helpers/videos'
import { valueOf } from '../helpers/results'

const RUNS = 3
const HEIGHT = 480
const ROOT = join(import.meta.dir, '..', '..')
const CLI = join(ROOT, 'src', 'app', 'cli.ts')
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

async function pod(dir: string, name: string, local: boolean): Promise<{ pod: RunningPod; base: string; token: string }> {
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  const config = resolveConfig([{ source: 'bench', values: { host: '127.0.0.1', port, url: base, dataDir: join(dir, name), transcoding: { resolutions: [HEIGHT], local } } }])
  const running = await startPod(config, createLogger({ level: 'error', format: 'json' }))
  const account = valueOf(await running.pod.accounts.create('bench', 'correct horse battery staple'))
  return { pod: running, base, token: (await running.pod.accounts.issueToken(account)).accessToken }
}

/** Uploads the clip and waits for its job; the time from queued to done, by the job's own stamps. */
async function transcodeOnce(p: { base: string; token: string }, clip: string, i: number): Promise<number> {
  const video = (await (await uploadVideo(p.base, p.token, { file: Bun.file(clip), name: `bench ${i}` })).json()) as { id: string }
  let job: TranscodeJob | undefined
  while (job?.state !== 'done') {
    await Bun.sleep(100)
    job = ((await (await fetch(`${p.base}/api/v1/videos/${video.id}`)).json()) as { transcoding: TranscodeJob[] }).transcoding[0]
    if (job?.state === 'failed') throw new Error(job.error ?? 'job failed')
  }
  return Date.parse(job.updatedAt) - Date.parse(job.createdAt)
}

async function cli(args: string[]): Promise<void> {
  const p = Bun.spawn([process.execPath, CLI, ...args], { cwd: ROOT, stdout: 'ignore', stderr: 'pipe' })
  if ((await p.exited) !== 0) throw new Error(`seedpod ${args.join(' ')} failed: ${await new Response(p.stderr).text()}`)
}

/** Runs the runner benchmark and prints the ratio. */
export async function run(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'seedpod-bench-runner-'))
  let runner: Bun.Subprocess | undefined
  const pods: RunningPod[] = []
  try {
    const clip = await makeClip(dir, { seconds: 60, size: '1280x720', faststart: true })
    const local = await pod(dir, 'local', true)
    const remote = await pod(dir, 'remote', false)
    pods.push(local.pod, remote.pod)
    const token = remote.pod.pod.runners.createToken('bench').token
    const runnerDir = join(dir, 'runner')
    await cli(['runner', 'register', '--pod', remote.base, '--token', token, '--data-dir', runnerDir])
    runner = Bun.spawn([process.execPath, CLI, 'runner', 'serve', '--data-dir', runnerDir, '--poll-ms', '250', '--log-level', 'error'], { cwd: ROOT, stdout: 'ignore', stderr: 'inherit' })
    const times = { local: [] as number[], runner: [] as number[] }
    for (let i = 0; i < RUNS; i++) {
      // Alternate which goes first, so that neither always meets a warmer machine.
      const order = i % 2 ? (['runner', 'local'] as const) : (['local', 'runner'] as const)
      for (const which of order) times[which].push(await transcodeOnce(which === 'local' ? local : remote, clip, i))
    }
    const [r, l] = [median(times.runner), median(times.local)]
    console.log(`transcode ${HEIGHT}p of a 60 s 720p clip: one runner ${r.toFixed(0)} ms, the pod itself ${l.toFixed(0)} ms, ratio ${(r / l).toFixed(3)} (goal <= 1.1)`)
  } finally {
    runner?.kill('SIGTERM')
    await runner?.exited
    await Promise.all(pods.map((p) => p.stop()))
    rmSync(dir, { recursive: true, force: true })
  }
}

if (import.meta.main) await run()
