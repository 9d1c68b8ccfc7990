/**
 * P2P benchmark: how much of what viewers watch comes from other viewers, and what that costs
 * in time to first frame.
 *
 * One pod (in this process), one video (40 s, 480p, ~1.6 Mbit/s: 31 pieces of 256 KiB), all
 * viewers headless Chromium on loopback, each in a context of its own (its own storage and
 * service worker: a separate person):
 *  1. a seeding viewer watches first (alone: everything from the web seed) and stays;
 *  2. five viewers join in turn, each once the one before holds the whole video, all staying
 *     in the swarm (their players paused once they hold it all, so that six tabs decoding
 *     video at once do not turn this into a CPU benchmark of the test machine).
 * For each of the five: bytes from peers and from the web seed (the watch page's counters),
 * and time to first frame (navigation start to the first frame presented, from
 * requestVideoFrameCallback). Before each, in the same run, a plain page with just
 * `<video src=WEB-SEED-URL>` is timed the same way, in a fresh context too.
 *
 * Goals: >= 60% of the five viewers' bytes from peers; their median time to first frame at
 * most 1.5x the plain page's median (a watch page starts with its quick start: the first
 * seconds from the web seed, public/player/quick.ts). The same run is repeated with the web
 * seed as plain WebTorrent uses it (no governor; localStorage `seedpod.webseed = plain`; the
 * quick start as well) for comparison,
 * and three of the governed run's viewers come back to the video in a new page of their
 * context (service worker installed, code cached): their first frame is reported too.
 *
 *   bun test/bench/p2p.ts          (test/bench/run.ts, `npm run bench`, runs it too)
 */
import type { Browser, Page } from 'playwright-core'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Video } from '../../src/videos/model'
import { launch, viewer } from '../e2e/browser'
import { startTestPod, type TestPod } from '../helpers/pods'
import { freePort } from '../helpers/ports'

const VIEWERS = 5
const GOAL_PEER_SHARE = 0.6
const GOAL_TTFF_RATIO = 1.5
const COMPLETE_TIMEOUT_MS = 60_000

/** One joining viewer's numbers. */
export interface ViewerResult {
  ttffMs: number
  plainTtffMs: number
  fromPeers: number
  fromWebSeed: number
  /** Until the whole video was held. */
  completeMs: number
}

/** One run (governed, or plain WebTorrent). */
export interface ScenarioResult {
  mode: 'governed' | 'plain'
  viewers: ViewerResult[]
  peerShare: number
  ttffMedian: number
  plainTtffMedian: number
  ttffRatio: number
  /** Viewers back on a watch page of the pod (service worker installed, code cached). */
  returningTtffMedian?: number
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

async function makeClip(dir: string): Promise<string> {
  const out = join(dir, 'bench.mp4')
  const p = Bun.spawn(
    [
      'ffmpeg', '-hide_banner', '-nostdin', '-v', 'error', '-y',
      '-f', 'lavfi', '-i', 'testsrc2=size=854x480:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=440', '-t', '40',
      // Noise keeps the encoder from squeezing the test pattern to nothing: a realistic bitrate.
      '-vf', 'noise=alls=12:allf=t', '-c:v', 'libx264', '-preset', 'veryfast', '-b:v', '1500k', '-maxrate', '1800k', '-bufsize', '3000k', '-g', '50',
      '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '96k', '-movflags', '+faststart', out,
    ],
    { stderr: 'pipe' },
  )
  if ((await p.exited) !== 0) throw new Error(`ffmpeg failed: ${await new Response(p.stderr).text()}`)
  return out
}

async function upload(pod: TestPod, token: string, clip: string, name: string): Promise<Video> {
  const form = new FormData()
  form.append('name', name)
  form.append('description', 'p2p benchmark')
  form.append('file', Bun.file(clip), 'bench.mp4')
  const res = await fetch(`${pod.base}/api/v1/videos`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: form })
  if (res.status !== 201) throw new Error(`upload failed: ${res.status} ${await res.text()}`)
  return (await res.json()) as Video
}

type Stats = { fromPeers: number; fromWebseed: number; progress: string; firstFrameMs?: string }

function stats(page: Page): Promise<Stats> {
  return page.evaluate(() => {
    const d = (document.querySelector('[data-testid=p2p-stats]') as HTMLElement).dataset
    return { fromPeers: Number(d.fromPeers), fromWebseed: Number(d.fromWebseed), progress: d.progress ?? '', firstFrameMs: d.firstFrameMs }
  })
}

/** Opens the watch page in a fresh context; resolves with its first-frame time once the video is whole. */
async function watch(browser: Browser, url: string, mode: ScenarioResult['mode']): Promise<{ page: Page; ttffMs: number; completeMs: number; stats: Stats }> {
  const { page, context } = await viewer(browser)
  if (mode === 'plain') await context.addInitScript(() => localStorage.setItem('seedpod.webseed', 'plain'))
  const t0 = performance.now()
  await page.goto(url)
  await page.waitForFunction(() => document.querySelector('[data-testid=p2p-stats]')?.hasAttribute('data-first-frame-ms'), null, { timeout: 30_000 })
  await page.waitForFunction(() => document.querySelector('[data-testid=p2p-stats]')?.getAttribute('data-progress') === '1.000', null, {
    timeout: COMPLETE_TIMEOUT_MS,
    polling: 100,
  })
  const completeMs = performance.now() - t0
  const s = await stats(page)
  // It keeps seeding, but stops decoding: six tabs playing video at once on a small machine
  // would measure the machine's CPU, not the pages (the plain <video> page decodes nothing
  // while the others wait either).
  await page.evaluate(() => (document.querySelector('video') as HTMLVideoElement).pause())
  return { page, ttffMs: Number(s.firstFrameMs), completeMs, stats: s }
}

/** Time to first frame of a bare `<video src>` page for the same file, in a fresh context. */
async function plainTtff(browser: Browser, plainBase: string, src: string): Promise<number> {
  const { page, context } = await viewer(browser)
  await page.goto(`${plainBase}/?src=${encodeURIComponent(src)}`)
  const t = await page.waitForFunction(() => (window as unknown as { ttff?: number }).ttff, null, { timeout: 30_000 })
  const ms = (await t.jsonValue()) as number
  await context.close()
  return ms
}

async function scenario(browser: Browser, pod: TestPod, plainBase: string, video: Video, mode: ScenarioResult['mode']): Promise<ScenarioResult> {
  const url = `${pod.base}/videos/${video.id}`
  const seed = await watch(browser, url, mode)
  console.log(`  [${mode}] seeding viewer: first frame ${seed.ttffMs} ms, whole video after ${Math.round(seed.completeMs)} ms (${seed.stats.fromWebseed} B from the web seed)`)
  const open = [seed.page]
  const viewers: ViewerResult[] = []
  for (let i = 1; i <= VIEWERS; i++) {
    const plain = await plainTtff(browser, plainBase, video.webseedUrls[0]!)
    const v = await watch(browser, url, mode)
    open.push(v.page)
    const r = { ttffMs: v.ttffMs, plainTtffMs: plain, fromPeers: v.stats.fromPeers, fromWebSeed: v.stats.fromWebseed, completeMs: Math.round(v.completeMs) }
    viewers.push(r)
    const share = r.fromPeers / Math.max(1, r.fromPeers + r.fromWebSeed)
    console.log(
      `  [${mode}] viewer ${i}: first frame ${r.ttffMs} ms (plain <video> ${Math.round(r.plainTtffMs)} ms), ${(share * 100).toFixed(0)}% from peers (${r.fromPeers} B peers, ${r.fromWebSeed} B web seed), whole after ${r.completeMs} ms`,
    )
  }
  // Returning viewers: the first three close their page and open the video again in the same
  // browser context, as someone who has been on the pod before (the service worker is
  // installed, WebTorrent's code is cached); the torrent starts afresh (held in memory).
  const returning: number[] = []
  if (mode === 'governed') {
    for (const i of [1, 2, 3]) {
      const context = open[i]!.context()
      await open[i]!.close()
      const page = await context.newPage()
      await page.goto(url)
      await page.waitForFunction(() => document.querySelector('[data-testid=p2p-stats]')?.hasAttribute('data-first-frame-ms'), null, { timeout: 30_000 })
      returning.push(Number((await stats(page)).firstFrameMs))
      open[i] = page
    }
    console.log(`  [${mode}] returning viewers: first frame ${returning.join(', ')} ms`)
  }
  for (const p of open) await p.context().close()
  const peers = viewers.reduce((a, v) => a + v.fromPeers, 0)
  const all = viewers.reduce((a, v) => a + v.fromPeers + v.fromWebSeed, 0)
  const ttffMedian = median(viewers.map((v) => v.ttffMs))
  const plainTtffMedian = median(viewers.map((v) => v.plainTtffMs))
  return { mode, viewers, peerShare: peers / all, ttffMedian, plainTtffMedian, ttffRatio: ttffMedian / plainTtffMedian, returningTtffMedian: returning.length ? median(returning) : undefined }
}

/** Runs the benchmark; prints and returns the numbers of both runs. */
export async function run(): Promise<{ governed: ScenarioResult; plain: ScenarioResult }> {
  const dir = mkdtempSync(join(tmpdir(), 'seedpod-bench-p2p-'))
  const port = await freePort()
  let pod: TestPod | undefined
  let browser: Browser | undefined
  // The plain page: nothing but a <video> of the web seed, timed like the watch page.
  const plain = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    fetch(req) {
      const src = new URL(req.url).searchParams.get('src') ?? ''
      const html = `<!doctype html><meta charset="utf-8"><video id="v" autoplay playsinline preload="auto" src="${Bun.escapeHTML(src)}"></video>
<script>v.requestVideoFrameCallback(() => { window.ttff = performance.now() })</script>`
      return new Response(html, { headers: { 'content-type': 'text/html;charset=utf-8' } })
    },
  })
  try {
    console.log('making the clip...')
    const clip = await makeClip(dir)
    pod = await startTestPod({ port, url: `http://127.0.0.1:${port}`, dataDir: join(dir, 'data'), log: { level: 'warn' } })
    const user = await pod.running.pod.accounts.create('bench', 'correct horse battery staple')
    if ('code' in user) throw new Error(user.message)
    const token = (await pod.running.pod.accounts.issueToken(user)).accessToken
    // One video per run: same bytes, another name, so another info hash and a swarm of its own.
    const [governedVideo, plainVideo] = [await upload(pod, token, clip, 'Bench (governed)'), await upload(pod, token, clip, 'Bench (plain)')]
    console.log(`video: ${governedVideo.size} bytes, ${governedVideo.duration} s`)
    browser = await launch()
    // Warm-up: the browser's first page and first video decode are slow once per process.
    await plainTtff(browser, `http://127.0.0.1:${plain.port}`, governedVideo.webseedUrls[0]!)
    const governed = await scenario(browser, pod, `http://127.0.0.1:${plain.port}`, governedVideo, 'governed')
    const plainRun = await scenario(browser, pod, `http://127.0.0.1:${plain.port}`, plainVideo, 'plain')

    const pct = (x: number) => `${(x * 100).toFixed(1)}%`
    console.log('\nresults (five joining viewers):')
    for (const r of [governed, plainRun]) {
      console.log(
        `  ${r.mode === 'governed' ? 'seedpod (governed web seed)' : 'plain WebTorrent web seed  '}: ${pct(r.peerShare)} of bytes from peers; ` +
          `first frame median ${Math.round(r.ttffMedian)} ms vs plain <video> ${Math.round(r.plainTtffMedian)} ms = ${r.ttffRatio.toFixed(2)}x`,
      )
    }
    if (governed.returningTtffMedian !== undefined)
      console.log(`  returning viewers (service worker installed): first frame median ${Math.round(governed.returningTtffMedian)} ms = ${(governed.returningTtffMedian / governed.plainTtffMedian).toFixed(2)}x plain <video>`)
    const shareOk = governed.peerShare >= GOAL_PEER_SHARE
    const ttffOk = governed.ttffRatio <= GOAL_TTFF_RATIO
    console.log(`goal: >= ${pct(GOAL_PEER_SHARE)} from peers: ${shareOk ? 'met' : 'MISSED'} (${pct(governed.peerShare)})`)
    console.log(`goal: time to first frame <= ${GOAL_TTFF_RATIO}x plain <video>: ${ttffOk ? 'met' : 'MISSED'} (${governed.ttffRatio.toFixed(2)}x)`)
    return { governed, plain: plainRun }
  } finally {
    await browser?.close()
    await pod?.stop()
    plain.stop(true)
    rmSync(dir, { recursive: true, force: true })
  }
}

if (import.meta.main) {
  await run()
  process.exit(0)
}
