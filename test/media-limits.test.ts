/**
 * Media bombs (issue 18), against real pods and the real ffmpeg: files built to cost the pod
 * gigabytes and CPU hours are refused with a clear 415 before any work, every ffprobe and
 * ffmpeg run stays within its own memory and CPU limits (prlimit), a file ffmpeg cannot read
 * is a 415 (never a 500), and time limits work for a video of any duration. Each refusal
 * leaves no row and no file.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { symlinkSync } from 'node:fs'
import { join } from 'node:path'
import { runTool, MAX_TIMER_MS } from '../src/media/exec'
import type { Video } from '../src/videos/model'
import { makeClip } from './helpers/clips'
import { atFrameRate, claimsHours, framesHoursApart, hugeFrame, manyTracks, undecodable } from './helpers/hostile-media'
import { childEnv, removeTempDirs, runCli, spawnCli, startTestPod, tempDir, waitForPod, type TestPod } from './helpers/pods'
import { freePort } from './helpers/ports'
import { MiB, watchTools } from './helpers/processes'
import { footprint, uploadVideo, userToken } from './helpers/videos'

afterAll(removeTempDirs)

/** The memory each ffprobe/ffmpeg run of the test pods gets. */
const TOOL_MEMORY = 256 * MiB
/** What a tool's resident memory holds besides its data (the shared libraries' pages), above RLIMIT_DATA. */
const LIBRARIES = 64 * MiB

let strict: TestPod
let lenient: TestPod
let dir: string
const files: Record<string, string> = {}
const pods: TestPod[] = []

beforeAll(async () => {
  dir = tempDir()
  // The default limits on frames, rates and streams; a month of duration, so that the bytes per second are what refuses.
  strict = await startTestPod({ media: { toolMemoryBytes: TOOL_MEMORY, maxDurationSeconds: 30 * 24 * 3600 }, transcoding: { enabled: false } })
  // Frames of any size and durations of any length in any size: only the runs' own limits hold.
  lenient = await startTestPod({
    media: { toolMemoryBytes: TOOL_MEMORY, maxPixels: 2 ** 30, maxDurationSeconds: 30 * 24 * 3600, minBytesPerSecond: 0 },
    transcoding: { resolutions: [144] },
  })
  pods.push(strict, lenient)
  const [huge, tracks, rate, apart, claim, claimTall, noise, clip] = await Promise.all([
    hugeFrame(dir, '16000x16000'),
    manyTracks(dir, 999),
    atFrameRate(dir, 1000, 0.05),
    framesHoursApart(dir, 40),
    claimsHours(dir, 100),
    // Long enough for its thumbnail, taken at 1 s (a third of its claim, at most 1 s).
    claimsHours(dir, 100, '320x240', 2),
    undecodable(dir),
    makeClip(dir, { seconds: 2 }),
  ])
  Object.assign(files, { huge, tracks, rate, apart, claim, claimTall, noise, clip })
}, 120_000)

afterAll(async () => {
  for (const p of pods) await p.stop()
})

/** Uploads `file` to `p` while watching its tools; the answer, its body, and what the tools cost. */
async function uploadWatched(p: TestPod, file: string) {
  const empty = footprint(p)
  const watch = watchTools()
  const res = await uploadVideo(p.base, await userToken(p), { file: Bun.file(file), name: 'a bomb' })
  const body = (await res.json()) as { error?: { code: string; message: string } } & Partial<Video>
  return { res, body, tools: watch.stop(), empty }
}

describe('media checked before work', () => {
  test('a 16000x16000 H.264 frame is refused (415 frame_too_large); ffprobe stayed within its memory limit; nothing is left', async () => {
    // The bomb is real: unbounded, ffprobe alone takes over half a GiB to read it.
    const unbounded = await runTool(['ffprobe', '-v', 'error', '-show_streams', files.huge!], 60_000)
    expect(unbounded.maxRssBytes).toBeGreaterThan(512 * MiB)
    const { res, body, tools, empty } = await uploadWatched(strict, files.huge!)
    expect(res.status).toBe(415)
    expect(body.error!.code).toBe('frame_too_large')
    expect(body.error!.message).toContain('16000x16000')
    expect(tools.maxPeakRssBytes).toBeLessThan(TOOL_MEMORY + LIBRARIES)
    expect(footprint(strict)).toBe(empty)
    console.log(`16000x16000: ffprobe unbounded ${(unbounded.maxRssBytes / MiB).toFixed(0)} MiB, ${unbounded.cpuSeconds.toFixed(2)} s CPU; in the pod at most ${(tools.maxPeakRssBytes / MiB).toFixed(0)} MiB (limit ${TOOL_MEMORY / MiB} MiB)`)
  })

  test('a file with 999 copies of its video track is refused (415 too_many_streams) before ffprobe opens it', async () => {
    const { res, body, tools, empty } = await uploadWatched(strict, files.tracks!)
    expect(res.status).toBe(415)
    expect(body.error).toMatchObject({ code: 'too_many_streams' })
    expect(body.error!.message).toContain('999 streams')
    // Counted from the MP4's boxes: no tool ran at all.
    expect(tools.seen).toBe(0)
    expect(footprint(strict)).toBe(empty)
  })

  test('a thousand frames per second is refused (415 frame_rate_too_high)', async () => {
    const { res, body, empty } = await uploadWatched(strict, files.rate!)
    expect(res.status).toBe(415)
    expect(body.error).toMatchObject({ code: 'frame_rate_too_high' })
    expect(footprint(strict)).toBe(empty)
  })

  test('frames 40 hours apart, and a header claiming 100 hours, are refused for their duration against their size (415)', async () => {
    for (const file of [files.apart!, files.claim!]) {
      const { res, body, tools, empty } = await uploadWatched(strict, file)
      expect(res.status).toBe(415)
      expect(body.error).toMatchObject({ code: 'implausible_duration' })
      expect(body.error!.message).toMatch(/claims to last (80|100) hours in only \d+ bytes/)
      // Refused on what ffprobe read of the headers: only ffprobe ran.
      expect(tools.seen).toBe(1)
      expect(footprint(strict)).toBe(empty)
    }
  })

  test('a file ffmpeg cannot decode is a 415 unreadable_video, not a 500, and leaves nothing', async () => {
    const { res, body, empty } = await uploadWatched(strict, files.noise!)
    expect(res.status).toBe(415)
    expect(body.error).toEqual({ code: 'unreadable_video', message: 'ffmpeg could not read the video: its data cannot be decoded' })
    expect(footprint(strict)).toBe(empty)
    // What ffmpeg said stays in the log, for the admin.
    expect(strict.logs.some((l) => l.event === 'video.upload.refused' && typeof l.detail === 'string')).toBe(true)
  })
})

describe('each ffprobe and ffmpeg run within its own limits', () => {
  test('allowed by the checks, a 16000x16000 frame meets the memory limit of each run: 415, and no run went past it', async () => {
    const { res, body, tools, empty } = await uploadWatched(lenient, files.huge!)
    expect(res.status).toBe(415)
    expect(body.error!.code).toBe('unreadable_video')
    expect(tools.seen).toBeGreaterThan(1)
    expect(tools.maxPeakRssBytes).toBeLessThan(TOOL_MEMORY + LIBRARIES)
    expect(footprint(lenient)).toBe(empty)
    console.log(`16000x16000 allowed through the checks: ${tools.seen} runs, at most ${(tools.maxPeakRssBytes / MiB).toFixed(0)} MiB each (limit ${TOOL_MEMORY / MiB} MiB)`)
  })

  test('a run that goes on computing stops at its CPU limit, measured', async () => {
    // An endless source: only the limit ends it.
    const run = await runTool(['ffmpeg', '-v', 'error', '-f', 'lavfi', '-i', 'testsrc=size=640x360', '-f', 'null', '-'], 60_000, { limits: { memoryBytes: 512 * MiB, cpuSeconds: 1 } })
    expect(run.overLimit).toBe('cpu')
    expect(run.timedOut).toBe(false)
    expect(run.cpuSeconds).toBeGreaterThanOrEqual(0.8)
    expect(run.cpuSeconds).toBeLessThan(2.5)
    console.log(`endless ffmpeg, 1 s CPU limit: stopped after ${run.cpuSeconds.toFixed(2)} s of CPU`)
  })

  test('time limits work for any duration: a limit past 2^31-1 ms does not fire at once, and a 100-hour claim is transcoded', async () => {
    const run = await runTool(['sleep', '0.2'], 100 * 3600 * 20_000)
    expect(run).toMatchObject({ exitCode: 0, timedOut: false })
    expect(100 * 3600 * 20_000).toBeGreaterThan(MAX_TIMER_MS)
    // The lenient pod takes the claim; its transcoding gets a limit of 100 hours x 20 s, clamped.
    const res = await uploadVideo(lenient.base, await userToken(lenient), { file: Bun.file(files.claimTall!), name: 'a long claim' })
    const video = (await res.json()) as Video
    expect(res.status, JSON.stringify(video)).toBe(201)
    expect(video.duration).toBe(360_000)
    const until = Date.now() + 30_000
    let state = ''
    while (Date.now() < until) {
      state = lenient.running.pod.transcoding.queue.of(video.id)[0]?.state ?? ''
      if (state === 'done' || state === 'failed') break
      await Bun.sleep(100)
    }
    expect(state).toBe('done')
  })
})

describe('without prlimit', () => {
  test('the pod says so at start, and still refuses what the checks refuse and takes a video', async () => {
    // A PATH with ffmpeg and ffprobe only (util-linux's prlimit is not on it).
    const bin = tempDir()
    for (const tool of ['ffmpeg', 'ffprobe']) symlinkSync(Bun.which(tool)!, join(bin, tool))
    const dir = tempDir()
    const env = childEnv({ PATH: bin, SEEDPOD_TRANSCODING_ENABLED: 'false', SEEDPOD_LOG_FORMAT: 'json' })
    expect((await runCli(['user', 'add', 'solo', '--password-stdin'], { cwd: dir, env, stdin: 'a long enough password' })).code).toBe(0)
    const port = await freePort()
    const child = spawnCli(['serve', '--port', String(port), '--host', '127.0.0.1'], { cwd: dir, env })
    try {
      const base = `http://127.0.0.1:${port}`
      await waitForPod(base, child)
      const login = await fetch(`${base}/api/v1/auth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'solo', password: 'a long enough password' }) })
      const { accessToken } = (await login.json()) as { accessToken: string }
      const bomb = await uploadVideo(base, accessToken, { file: Bun.file(files.huge!), name: 'a bomb' })
      expect(bomb.status).toBe(415)
      expect(((await bomb.json()) as { error: { code: string } }).error.code).toBe('frame_too_large')
      // An honest clip goes through ffprobe and ffmpeg, unbounded.
      const fine = await uploadVideo(base, accessToken, { file: Bun.file(files.clip!), name: 'fine' })
      expect(fine.status).toBe(201)
      expect(child.stdout + child.stderr).toContain('media.limits.unenforced')
    } finally {
      child.kill()
      await child.exit()
    }
  })
})
