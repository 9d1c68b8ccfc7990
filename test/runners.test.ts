/**
 * Remote transcoding runners, for real: a pod with its own transcoding off, runners as child
 * processes of the real CLI (`seedpod runner register|serve`, each with its own data folder),
 * the real ffmpeg. A runner's renditions are published like the pod's own; a runner killed
 * mid-job loses its lease to another; forged, foreign, late and wrong results are refused and
 * change nothing.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'bun:test'
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { streamArgs } from '../src/media/hls'
import type { RunnerInfo, RunnerJob } from '../src/runners/model'
import type { TranscodeJob } from '../src/transcoding/queue'
import { makeClip } from './helpers/clips'
import { adminToken, netPod, restart, stopPods, until } from './helpers/network'
import { type Child, listTree, removeTempDirs, ROOT, runCli, spawnCli, tempDir, type TestPod } from './helpers/pods'
import { startRadosgw } from './helpers/radosgw'
import { movedToBucket, uploadVideo, userToken } from './helpers/videos'

afterAll(stopPods)
afterAll(removeTempDirs)

const children: Child[] = []
afterEach(() => {
  for (const c of children.splice(0)) c.kill()
})

let hd: string
let long: string
let minute: string
beforeAll(async () => {
  ;[hd, long, minute] = await Promise.all([
    makeClip(tempDir(), { seconds: 2, size: '1280x720' }),
    makeClip(tempDir(), { seconds: 20, size: '1280x720' }),
    makeClip(tempDir(), { seconds: 60, size: '1280x720' }),
  ])
})

async function ffprobeHeight(path: string): Promise<number> {
  const p = Bun.spawn(['ffprobe', '-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=height', '-of', 'csv=p=0', path], { stdout: 'pipe' })
  return Number((await new Response(p.stdout).text()).trim())
}

const jobsOf = async (p: TestPod, id: string) => ((await (await fetch(`${p.base}/api/v1/videos/${id}`)).json()) as { transcoding: TranscodeJob[] }).transcoding

/** A pod that leaves every job to runners, with short leases. */
const runnerPod = (values: Record<string, unknown> = {}) => netPod({ transcoding: { local: false, resolutions: [240, 480], leaseMs: 1500, ...values } })

/** A registration token made with the CLI on the pod's data folder. */
async function cliToken(p: TestPod): Promise<string> {
  const r = await runCli(['runner', 'token', 'create', 'test rack', '--data-dir', p.config.dataDir], { cwd: ROOT })
  expect(r.code).toBe(0)
  return r.stdout.trim()
}

/** Registers a runner with the CLI in a data folder of its own, and starts `runner serve` there. */
async function startRunner(p: TestPod, token: string, name: string): Promise<{ child: Child; dir: string }> {
  const dir = join(tempDir(), 'runner')
  const reg = await runCli(['runner', 'register', '--pod', p.base, '--token', token, '--name', name, '--data-dir', dir], { cwd: ROOT })
  expect(reg.code).toBe(0)
  const child = spawnCli(['runner', 'serve', '--data-dir', dir, '--poll-ms', '100', '--retry-base-ms', '100', '--log-format', 'json'], { cwd: ROOT })
  children.push(child)
  return { child, dir }
}

async function upload(p: TestPod, file: string): Promise<string> {
  const res = await uploadVideo(p.base, await userToken(p), { file: Bun.file(file), name: 'For the runners' })
  expect(res.status).toBe(201)
  return ((await res.json()) as { id: string }).id
}

const admin = async (p: TestPod) => ({ authorization: `Bearer ${await adminToken(p)}` })
const runnersOf = async (p: TestPod, headers: Record<string, string>) => ((await (await fetch(`${p.base}/api/v1/runners`, { headers })).json()) as { runners: RunnerInfo[] }).runners

describe('runners', () => {
  test('a runner in another process transcodes a 720p upload while the pod does none itself; the admin sees it', async () => {
    const pod = await runnerPod()
    const { dir } = await startRunner(pod, await cliToken(pod), 'garage')
    expect(statSync(join(dir, 'runner.json')).mode & 0o777).toBe(0o600)
    const id = await upload(pod, hd)
    const done = await until(async () => ((await jobsOf(pod, id)).every((j) => j.state === 'done') ? jobsOf(pod, id) : undefined), 60_000, 'renditions by the runner')
    expect(done.map((j) => [j.resolution, j.progress])).toEqual([[240, 1], [480, 1]])
    for (const height of [240, 480]) expect(await ffprobeHeight(join(pod.config.dataDir, 'videos', `${id}.${height}.mp4`))).toBe(height)
    // Published like the pod's own: in the video's files, with their own HLS playlist.
    const video = (await (await fetch(`${pod.base}/api/v1/videos/${id}`)).json()) as { files: { resolution: number }[] }
    expect(video.files.map((f) => f.resolution)).toEqual([240, 480])
    expect(readdirSync(join(pod.config.dataDir, 'videos')).filter((f) => f.endsWith('.m3u8')).length).toBe(3)
    expect(readdirSync(join(pod.config.dataDir, 'tmp'))).toEqual([])
    expect(pod.logs.filter((l) => l.event === 'transcoder.job.started')).toEqual([])
    expect(pod.logs.filter((l) => l.event === 'runner.job.done').length).toBe(2)
    const listed = await runnersOf(pod, await admin(pod))
    expect(listed.map((r) => r.name)).toEqual(['garage'])
    expect(Date.now() - Date.parse(listed[0]!.lastContactAt)).toBeLessThan(5000)
    // Anyone else may not see them.
    expect((await fetch(`${pod.base}/api/v1/runners`, { headers: { authorization: `Bearer ${await userToken(pod)}` } })).status).toBe(403)
  }, 90_000)

  test('a runner killed mid-job loses its lease when it expires, and a second runner finishes the job', async () => {
    const pod = await runnerPod({ resolutions: [240] })
    const token = await cliToken(pod)
    const first = await startRunner(pod, token, 'first')
    const id = await upload(pod, long)
    const headers = await admin(pod)
    await until(async () => (await runnersOf(pod, headers))[0]?.job?.progress! > 0.05, 30_000, 'job under way at the first runner')
    first.child.proc.kill('SIGKILL')
    await first.child.proc.exited
    // Nobody reports: the lease runs out and the job is queued again.
    await until(async () => (await jobsOf(pod, id))[0]!.state === 'queued', 10_000, 'lease expired')
    expect(pod.logs.some((l) => l.event === 'runner.leases.expired')).toBe(true)
    await startRunner(pod, token, 'second')
    const done = await until(async () => ((await jobsOf(pod, id))[0]!.state === 'done' ? jobsOf(pod, id) : undefined), 90_000, 'finished by the second runner')
    expect(done[0]!.progress).toBe(1)
    expect(await ffprobeHeight(join(pod.config.dataDir, 'videos', `${id}.240.mp4`))).toBe(240)
    const leased = pod.logs.filter((l) => l.event === 'runner.job.leased').map((l) => l.runner)
    const runners = await runnersOf(pod, headers)
    expect(leased).toEqual(runners.map((r) => r.id))
    expect(runners.every((r) => r.job === null)).toBe(true)
  }, 180_000)

  test('a runner stopped mid-job (SIGTERM) hands the job back at once, long before its lease would run out', async () => {
    const pod = await runnerPod({ resolutions: [240], leaseMs: 60_000 })
    const runner = await startRunner(pod, await cliToken(pod), 'leaving')
    const id = await upload(pod, long)
    const headers = await admin(pod)
    await until(async () => (await runnersOf(pod, headers))[0]?.job?.progress! > 0.05, 30_000, 'job under way at the runner')
    runner.child.proc.kill('SIGTERM')
    expect(await runner.child.proc.exited).toBe(0)
    const [job] = await jobsOf(pod, id)
    // Queued once the runner has exited: its lease (a minute) did not have to run out.
    expect(job!.state).toBe('queued')
    expect(pod.logs.some((l) => l.event === 'runner.job.released')).toBe(true)
    expect(pod.logs.some((l) => l.event === 'runner.leases.expired')).toBe(false)
  }, 90_000)

  test('forged, foreign, late and wrong results are refused and change nothing; a revoked token stops its runners', async () => {
    const pod = await runnerPod({ resolutions: [240] })
    const headers = await admin(pod)
    const made = await fetch(`${pod.base}/api/v1/runners/tokens`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'by hand' }) })
    expect(made.status).toBe(201)
    const { id: tokenId, token } = (await made.json()) as { id: number; token: string }
    // Two runners registered by hand: this test speaks their HTTP API itself.
    const register = async (name: string) => ((await (await fetch(`${pod.base}/api/v1/runners/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token, name }) })).json()) as { secret: string }).secret
    const [mine, theirs] = [await register('mine'), await register('theirs')]
    const call = (secret: string, path: string, init: RequestInit = {}) => fetch(`${pod.base}/api/v1/runners${path}`, { ...init, headers: { authorization: `Bearer ${secret}`, ...init.headers } })
    const claim = async (secret: string) => ((await (await call(secret, '/jobs/claim', { method: 'POST' })).json()) as { job: RunnerJob | null }).job
    const put = (secret: string, job: RunnerJob, file: string) => call(secret, `/jobs/${job.id}/result?lease=${encodeURIComponent(job.lease)}`, { method: 'PUT', body: Bun.file(file) })
    const code = async (res: Response) => [res.status, ((await res.json()) as { error: { code: string } }).error.code]

    const videoId = await upload(pod, hd)
    expect((await jobsOf(pod, videoId))[0]!.state).toBe('queued')
    // A right result, made as a runner would, and a wrong one (the source's own height).
    const dir = tempDir()
    const good = join(dir, 'good.mp4')
    expect(await Bun.spawn(streamArgs(hd, good, 240), { stdout: 'ignore', stderr: 'ignore' }).exited).toBe(0)
    const tall = join(dir, 'tall.mp4')
    expect(await Bun.spawn(streamArgs(hd, tall, 360), { stdout: 'ignore', stderr: 'ignore' }).exited).toBe(0)

    expect(await code(await call('1.' + 'A'.repeat(43), '/jobs/claim', { method: 'POST' }))).toEqual([401, 'invalid_token'])
    const job = (await claim(mine))!
    expect(job.resolution).toBe(240)
    expect(await code(await call('nonsense', `/jobs/${job.id}/result?lease=${job.lease}`, { method: 'PUT', body: Bun.file(good) }))).toEqual([401, 'invalid_token'])
    expect(await code(await put(theirs, job, good))).toEqual([409, 'not_your_lease'])
    expect(await code(await put(mine, { ...job, lease: 'guessed' }, good))).toEqual([409, 'not_your_lease'])
    expect(await code(await call(theirs, `/jobs/${job.id}/source?lease=${job.lease}`))).toEqual([409, 'not_your_lease'])
    expect((await jobsOf(pod, videoId))[0]!.state).toBe('running')
    // The wrong height: refused, removed, the job queued again for another try.
    const wrong = await put(mine, job, tall)
    expect(await code(wrong)).toEqual([400, 'bad_result'])
    expect((await jobsOf(pod, videoId))[0]!.state).toBe('queued')
    expect(readdirSync(join(pod.config.dataDir, 'tmp'))).toEqual([])
    // Claimed again, then silent past the lease: refused as late.
    const again = (await claim(mine))!
    expect(again.id).toBe(job.id)
    expect((await call(mine, `/jobs/${again.id}/source?lease=${again.lease}`)).status).toBe(200)
    await Bun.sleep(again.leaseMs + 200)
    expect(await code(await put(mine, again, good))).toEqual([409, 'lease_expired'])
    expect(await code(await call(mine, `/jobs/${again.id}/progress`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ lease: again.lease, progress: 0.5 }) }))).toEqual([409, 'lease_expired'])
    const after = await (await fetch(`${pod.base}/api/v1/videos/${videoId}`)).json() as { files: unknown[] }
    expect(after.files).toEqual([])
    expect(readdirSync(join(pod.config.dataDir, 'videos')).filter((f) => f.includes('.240.'))).toEqual([])
    // The same file, within a lease, is accepted: the refusals above were the lease's, not the file's.
    await until(async () => (await jobsOf(pod, videoId))[0]!.state === 'queued', 5000, 'swept back')
    const third = (await claim(theirs))!
    expect((await put(theirs, third, good)).status).toBe(200)
    expect((await jobsOf(pod, videoId))[0]!.state).toBe('done')
    // Too short: refused, checked against the original as probed at upload; for a video of an
    // earlier release (its sound not kept then), against the file itself.
    const short = join(dir, 'short.mp4')
    expect(await Bun.spawn(['ffmpeg', '-v', 'error', '-i', good, '-t', '0.4', '-c:v', 'libx264', '-c:a', 'aac', short], { stdout: 'ignore', stderr: 'ignore' }).exited).toBe(0)
    const cut = await upload(pod, hd)
    for (const release of ['this', 'earlier']) {
      if (release === 'earlier') pod.running.pod.db.query('UPDATE local_videos SET audio = NULL WHERE video = ?').run(cut)
      const j = (await claim(mine))!
      const res = await put(mine, j, short)
      expect([release, res.status, ((await res.json()) as { error: { message: string } }).error.message]).toEqual([release, 400, expect.stringContaining('the result lasts')])
    }
    pod.running.pod.db.query('DELETE FROM transcode_jobs WHERE video = ?').run(cut)
    // A runner whose ffmpeg fails hands the job back, and it fails once runners tried it 3 times.
    const other = await upload(pod, hd)
    for (let i = 1; i <= 3; i++) {
      const j = (await claim(mine))!
      expect((await call(mine, `/jobs/${j.id}/fail`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ lease: j.lease, error: 'libx264 missing' }) })).status).toBe(200)
      expect((await jobsOf(pod, other))[0]!.state).toBe(i < 3 ? 'queued' : 'failed')
    }
    const failed = ((await (await fetch(`${pod.base}/api/v1/videos/transcoding/jobs`, { headers })).json()) as { jobs: (TranscodeJob & { detail?: string })[] }).jobs.find((j) => j.video === other)!
    expect([failed.error, failed.detail]).toEqual(['runners could not transcode to this height', 'libx264 missing'])
    // A removed runner is refused from then on.
    const theirId = (await runnersOf(pod, headers)).find((r) => r.name === 'theirs')!.id
    expect((await fetch(`${pod.base}/api/v1/runners/${theirId}`, { method: 'DELETE', headers })).status).toBe(200)
    expect(await code(await call(theirs, '/jobs/claim', { method: 'POST' }))).toEqual([401, 'invalid_token'])
    expect((await fetch(`${pod.base}/api/v1/runners/${theirId}`, { method: 'DELETE', headers })).status).toBe(404)
    // Revoked: every runner of that token is refused from then on.
    expect((await fetch(`${pod.base}/api/v1/runners/tokens/${tokenId}`, { method: 'DELETE', headers })).status).toBe(200)
    expect(await code(await call(mine, '/jobs/claim', { method: 'POST' }))).toEqual([401, 'invalid_token'])
    expect(await runnersOf(pod, headers)).toEqual([])
  }, 90_000)

  test('with transcoding.local on and a runner in contact, a job waits runnerWaitMs for a runner, then the pod takes it itself', async () => {
    const wait = 2000
    const pod = await netPod({ transcoding: { local: true, resolutions: [240], runnerWaitMs: wait } })
    const made = await pod.running.pod.runners.createToken('idle')
    const { secret } = pod.running.pod.runners.register(made.token, 'idle one')
    // The runner is in contact (it asked once, for nothing) but takes no job.
    expect((await fetch(`${pod.base}/api/v1/runners/jobs/claim`, { method: 'POST', headers: { authorization: `Bearer ${secret}` } })).status).toBe(200)
    const id = await upload(pod, hd)
    const queued = await jobsOf(pod, id)
    const done = await until(async () => ((await jobsOf(pod, id))[0]!.state === 'done' ? jobsOf(pod, id) : undefined), 30_000, 'done by the pod')
    const started = pod.logs.find((l) => l.event === 'transcoder.job.started')!
    expect(Date.parse(started.time as string) - Date.parse(queued[0]!.createdAt)).toBeGreaterThanOrEqual(wait)
    expect(done[0]!.progress).toBe(1)
    // Without a runner in contact the pod does not wait.
    const alone = await netPod({ transcoding: { local: true, resolutions: [240], runnerWaitMs: 60_000 } })
    const other = await upload(alone, hd)
    await until(async () => (await jobsOf(alone, other))[0]!.state === 'done', 30_000, 'done at once')
  }, 90_000)

  test("the runner's commands say clearly what is wrong", async () => {
    const pod = await runnerPod()
    const dir = tempDir()
    const cli = (args: string[]) => runCli(args, { cwd: dir })
    const unknown = await cli(['runner', 'fly'])
    expect([unknown.code, unknown.stderr.split('\n')[0]]).toEqual([2, 'seedpod: unknown command: runner fly'])
    const unregistered = await cli(['runner', 'serve', '--data-dir', join(dir, 'nothing')])
    expect(unregistered.code).toBe(1)
    expect(unregistered.stderr).toContain('no runner registered in')
    const forged = await cli(['runner', 'register', '--pod', pod.base, '--token', '1.' + 'A'.repeat(43), '--data-dir', join(dir, 'forged')])
    expect([forged.code, forged.stderr.trim()]).toEqual([1, 'seedpod: the registration token is invalid or revoked; ask the pod admin for one'])
    const noPod = await cli(['runner', 'register', '--token', 'x'])
    expect(noPod.code).toBe(2)
    const revoke = await cli(['runner', 'token', 'revoke', '42', '--data-dir', pod.config.dataDir])
    expect([revoke.code, revoke.stderr.trim()]).toEqual([1, 'seedpod runner token revoke: no token 42'])
    const nowhere = await cli(['runner', 'token', 'list', '--data-dir', join(dir, 'no-pod')])
    expect(nowhere.code).toBe(1)
    expect(nowhere.stderr).toContain('no pod in')
    // A runner whose token is revoked while it serves is told so, and stops.
    const token = await cliToken(pod)
    const { child } = await startRunner(pod, token, 'soon gone')
    await until(() => pod.running.pod.runners.runners().length === 1, 10_000, 'registered')
    const list = await cli(['runner', 'token', 'list', '--data-dir', pod.config.dataDir])
    expect(list.stdout.trim()).toMatch(/^1\ttest rack\tcreated .*\t1 runner$/)
    expect((await cli(['runner', 'token', 'revoke', '1', '--data-dir', pod.config.dataDir])).code).toBe(0)
    expect(await child.exit()).toBe(1)
    expect(child.stderr).toContain('the pod refuses this runner')
  }, 60_000)

  test('a runner goes on with its job while its pod restarts, and uploads the result once the pod is back', async () => {
    const transcoding = { local: false, resolutions: [480], leaseMs: 15_000 }
    const pod = await netPod({ transcoding })
    const { child } = await startRunner(pod, await cliToken(pod), 'steady')
    const id = await upload(pod, minute)
    await until(() => pod.running.pod.runners.runners()[0]?.job?.progress! > 0.02, 30_000, 'job under way')
    await pod.stop()
    const logged = () => (child.stdout + child.stderr).split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l).event as string)
    await until(() => logged().includes('runner.report.failed'), 10_000, 'the runner missing its pod')
    const back = await restart(pod, { transcoding })
    const done = await until(async () => ((await jobsOf(back, id))[0]!.state === 'done' ? jobsOf(back, id) : undefined), 90_000, 'done after the restart')
    expect(done[0]!.progress).toBe(1)
    expect(await ffprobeHeight(join(back.config.dataDir, 'videos', `${id}.480.mp4`))).toBe(480)
    // One lease all along: the job was never taken again.
    const events = logged()
    // The restarted pod neither put the job back in its queue nor leased it again.
    expect(back.logs.filter((l) => l.event === 'runner.job.leased' || l.event === 'transcoder.resumed')).toEqual([])
    expect(events.filter((e) => e === 'runner.job.started')).toEqual(['runner.job.started'])
    expect(events.filter((e) => e === 'runner.job.done')).toEqual(['runner.job.done'])
  }, 120_000)

  test('a result over maxUploadBytes is refused, declared or streamed, without keeping a byte', async () => {
    const limit = 1024 * 1024
    expect(Bun.file(hd).size).toBeLessThan(limit)
    const small = await netPod({ maxUploadBytes: limit, transcoding: { local: false, resolutions: [240] } })
    const made = small.running.pod.runners.createToken('limits')
    const { secret } = small.running.pod.runners.register(made.token, 'big mouth')
    const auth = { authorization: `Bearer ${secret}` }
    const id = await upload(small, hd)
    const claim = async () => ((await (await fetch(`${small.base}/api/v1/runners/jobs/claim`, { method: 'POST', headers: auth })).json()) as { job: RunnerJob }).job
    const result = (job: RunnerJob, body: BodyInit, headers: Record<string, string> = {}) => fetch(`${small.base}/api/v1/runners/jobs/${job.id}/result?lease=${job.lease}`, { method: 'PUT', headers: { ...auth, ...headers }, body })
    // Declared too large: refused before the body is read (the pod's body limits), the lease kept.
    const job = await claim()
    const declared = await result(job, new Uint8Array(limit + 1))
    expect(declared.status).toBe(413)
    expect((await jobsOf(small, id))[0]!.state).toBe('running')
    // Streamed without a length: read up to the limit, then refused, and the job queued again.
    let sent = 0
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        sent += 64 * 1024
        controller.enqueue(new Uint8Array(64 * 1024))
        if (sent > 8 * limit) controller.close()
      },
    })
    const streamed = await result(job, endless)
    expect(streamed.status).toBe(413)
    expect(((await streamed.json()) as { error: { code: string } }).error.code).toBe('too_large')
    expect(readdirSync(join(small.config.dataDir, 'tmp'))).toEqual([])
    expect((await jobsOf(small, id))[0]!.state).toBe('queued')
  }, 60_000)
  test("a pod whose files are in a bucket: the runner gets the original from there through the pod, and the rendition goes there", async () => {
    const gw = await startRadosgw({ bucket: 'runner-videos' })
    try {
      const storage = gw.settings('runner-videos', { prefix: 'p/' })
      const pod = await netPod({ storage, transcoding: { local: false, resolutions: [240], leaseMs: 1500 } })
      await startRunner(pod, await cliToken(pod), 'cloud')
      const id = await upload(pod, hd)
      await until(async () => (await jobsOf(pod, id)).every((j) => j.state === 'done'), 60_000, 'the rendition by the runner')
      await movedToBucket(pod)
      const keys = ((await gw.client().list({ prefix: 'p/videos/' })).contents ?? []).map((c) => c.key)
      expect(keys).toContain(`p/videos/${id}.240.mp4`)
      expect(keys).toContain(`p/videos/${id}.240.m3u8`)
      // Its bytes are a 240-line video, and the pod's disk holds no video file.
      const copy = join(tempDir(), 'r.mp4')
      await Bun.write(copy, await gw.client().file(`p/videos/${id}.240.mp4`).arrayBuffer())
      expect(await ffprobeHeight(copy)).toBe(240)
      expect(listTree(pod.config.dataDir).filter((f) => /\.(mp4|m3u8)$/.test(f))).toEqual([])
    } finally {
      await stopPods()
      await gw.stop()
    }
  })
})
