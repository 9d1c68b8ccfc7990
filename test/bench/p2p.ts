/**
 * P2P benchmark of the stream player at a real length: a 10-minute 720p video (about
 * 2 Mbit/s, 150 MB) with 240p and 480p renditions, one pod (in this process), every viewer
 * headless Chromium on loopback in a context of its own (its own storage: a separate person).
 * Each number is printed beside the same measure of a plain page with just
 * `<video src=ORIGINAL-WEB-SEED>`, in the same run, and the ratio between them:
 *
 *  - first frame (navigation start to the first frame presented), median of three fresh
 *    viewers each: goal <= 1.5x;
 *  - a lone viewer's bytes from the pod after 20 s of watching: goal <= 1.3x;
 *  - its page memory (CDP Runtime.getHeapUsage: JS heap and ArrayBuffers) after 60 s: goal
 *    <= plain + 150 MB;
 *  - then a seek to 75%, time to the next frame: goal <= 1.2x;
 *  - alone on a 1.5 Mbit/s link (CDP Network.emulateNetworkConditions) for 60 s: the height
 *    played (goal <= 480), first frame (goal <= 5 s) and stalls after it (goal <= 1 s);
 *  - five viewers joining one who watches, each watching 20 s, then staying paused in the
 *    swarm: the share of their bytes that came from other viewers (goal >= 80%).
 *
 *   bun test/bench/p2p.ts          (`npm run bench:p2p`; test/bench/run.ts runs it too)
 */
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Video } from '../../src/videos/model'
import type { Stream } from '../../src/videos/streams'
import { launch, viewer } from '../e2e/browser'
import { startTestPod, type TestPod } from '../helpers/pods'
import { freePort } from '../helpers/ports'
import { uploadVideo, userToken } from '../helpers/videos'

const MINUTES = Number(process.env.BENCH_MINUTES ?? 10)
const JOINERS = 5
const THROTTLE_KBPS = 1500

type Streamed = Omit<Video, 'streams'> & { streams: Stream[] }

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}
const mb = (b: number) => `${(b / 1e6).toFixed(1)} MB`

async function makeClip(dir: string): Promise<string> {
  const out = join(dir, 'bench.mp4')
  const p = Bun.spawn(
    [
      'ffmpeg', '-hide_banner', '-nostdin', '-v', 'error', '-y',
      '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=24', '-f', 'lavfi', '-i', 'sine=frequency=440', '-t', String(MINUTES * 60),
      // Noise keeps the encoder from squeezing the test pattern to nothing: a realistic bitrate.
      '-vf', 'noise=alls=10:allf=t', '-c:v', 'libx264', '-preset', 'ultrafast', '-b:v', '2000k', '-maxrate', '2000k', '-bufsize', '4000k', '-g', '48',
      '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '96k', out,
    ],
    { stderr: 'pipe' },
  )
  if ((await p.exited) !== 0) throw new Error(`ffmpeg failed: ${await new Response(p.stderr).text()}`)
  return out
}

/**
 * What every page measures of its first <video>: first frame, stalls after it (waiting to
 * playing, seeks aside), the largest picture height.
 */
function instrument(): void {
  const w = window as unknown as { m: { ttff?: number; stallMs: number; since?: number; maxHeight: number } }
  w.m = { stallMs: 0, maxHeight: 0 }
  const frames = (v: HTMLVideoElement) => {
    v.requestVideoFrameCallback(() => {
      w.m.ttff ??= performance.now()
      w.m.maxHeight = Math.max(w.m.maxHeight, v.videoHeight)
      frames(v)
    })
  }
  let watched: HTMLVideoElement | undefined
  document.addEventListener('loadstart', (e) => {
    const v = e.target as HTMLVideoElement
    if (watched !== v) frames((watched = v))
  }, true)
  document.addEventListener('waiting', (e) => {
    if (w.m.ttff !== undefined && !(e.target as HTMLVideoElement).seeking) w.m.since ??= performance.now()
  }, true)
  document.addEventListener('playing', () => {
    if (w.m.since !== undefined) w.m.stallMs += performance.now() - w.m.since
    w.m.since = undefined
  }, true)
}

type Measures = { ttff?: number; stallMs: number; since?: number; maxHeight: number }
const measures = (page: Page) => page.evaluate(() => (window as unknown as { m: Measures }).m)

/** A fresh viewer with the measures installed and its bytes from the pod counted. */
async function open(browser: Browser, url: string, kbps?: number): Promise<{ page: Page; context: BrowserContext; bytes: () => number }> {
  const { page, context } = await viewer(browser)
  await context.addInitScript(instrument)
  // The bytes that arrive (a <video> asks for open-ended ranges and drops them when it has enough).
  let bytes = 0
  const fromPod = new Set<string>()
  const cdp = await context.newCDPSession(page)
  cdp.on('Network.requestWillBeSent', (e) => {
    if (e.request.url.includes('/static/webseed/')) fromPod.add(e.requestId)
  })
  cdp.on('Network.dataReceived', (e) => {
    if (fromPod.has(e.requestId)) bytes += e.encodedDataLength || e.dataLength
  })
  await cdp.send('Network.enable')
  if (kbps) await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 20, downloadThroughput: (kbps * 1000) / 8, uploadThroughput: (kbps * 1000) / 8 })
  // Not waiting for `load`: a <video> holds the load event up until its first frame.
  await page.goto(url, { waitUntil: 'domcontentloaded' })
  return { page, context, bytes: () => bytes }
}

const playedPast = (page: Page, s: number, timeout = 120_000) =>
  page.waitForFunction((t) => (document.querySelector('video') as HTMLVideoElement | null)?.currentTime! >= t, s, { timeout, polling: 100 })

async function firstFrame(page: Page): Promise<number> {
  await page.waitForFunction(() => (window as unknown as { m: Measures }).m.ttff !== undefined, null, { timeout: 30_000 })
  return (await measures(page)).ttff!
}

/** JS heap and ArrayBuffers of a page, bytes (CDP Runtime.getHeapUsage). */
async function memory(context: BrowserContext, page: Page): Promise<number> {
  const cdp = await context.newCDPSession(page)
  const h = (await cdp.send('Runtime.getHeapUsage')) as { usedSize: number; backingStorageSize?: number }
  return h.usedSize + (h.backingStorageSize ?? 0)
}

/** Seeks the page's video to `t` and times the next frame shown. */
function seekTime(page: Page, t: number): Promise<number> {
  return page.evaluate(
    (to) =>
      new Promise<number>((resolve) => {
        const v = document.querySelector('video') as HTMLVideoElement
        const t0 = performance.now()
        // The next frame shown after the seek (a paused or ended element shows one too).
        v.addEventListener('seeked', () => v.requestVideoFrameCallback(() => resolve(performance.now() - t0)), { once: true })
        setTimeout(() => resolve(Infinity), 30_000)
        v.currentTime = to
      }),
    t,
  )
}

type Stats = { fromPeers: number; fromWebseed: number }
const stats = (page: Page): Promise<Stats> =>
  page.evaluate(() => {
    const d = (document.querySelector('[data-testid=p2p-stats]') as HTMLElement).dataset
    return { fromPeers: Number(d.fromPeers), fromWebseed: Number(d.fromWebseed) }
  })

/** Runs the benchmark; prints and returns its numbers. */
export async function run() {
  const dir = mkdtempSync(join(tmpdir(), 'seedpod-bench-p2p-'))
  const port = await freePort()
  let pod: TestPod | undefined
  let browser: Browser | undefined
  const plainServer = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    fetch(req) {
      const src = new URL(req.url).searchParams.get('src') ?? ''
      const html = `<!doctype html><meta charset="utf-8"><video id="v" autoplay playsinline preload="auto" src="${Bun.escapeHTML(src)}"></video>`
      return new Response(html, { headers: { 'content-type': 'text/html;charset=utf-8' } })
    },
  })
  try {
    console.log(`making a ${MINUTES}-minute 720p clip and its renditions...`)
    const clip = await makeClip(dir)
    pod = await startTestPod({ port, url: `http://127.0.0.1:${port}`, dataDir: join(dir, 'data'), log: { level: 'warn' }, transcoding: { resolutions: [240, 480], concurrency: 2 } })
    const res = await uploadVideo(pod.base, await userToken(pod), { file: Bun.file(clip), name: 'Bench' })
    if (res.status !== 201) throw new Error(`upload failed: ${res.status} ${await res.text()}`)
    const id = ((await res.json()) as Video).id
    let video: Streamed
    for (;;) {
      video = (await (await fetch(`${pod.base}/api/v1/videos/${id}`)).json()) as Streamed
      if (video.streams?.length === 3) break
      await Bun.sleep(1000)
    }
    console.log(`video: ${mb(video.size!)}, ${video.duration} s; streams ${video.streams.map((s) => `${s.height}p ${Math.round(s.bandwidth / 1000)} kbit/s`).join(', ')}`)
    const watchUrl = `${pod.base}/videos/${video.id}`
    const plainUrl = `http://127.0.0.1:${plainServer.port}/?src=${encodeURIComponent(video.webseedUrls[0]!)}`
    browser = await launch()
    // Warm-up: the browser's first page and first video decode are slow once per process.
    await (await open(browser, plainUrl)).context.close()

    // First frame, fresh viewers, alternating.
    const ttff = { plain: [] as number[], watch: [] as number[] }
    for (let i = 0; i < 3; i++) {
      for (const [kind, url] of [['plain', plainUrl], ['watch', watchUrl]] as const) {
        const v = await open(browser, url)
        ttff[kind].push(await firstFrame(v.page))
        await v.context.close()
      }
    }
    console.log(`  first frame: watch page ${ttff.watch.map(Math.round).join(', ')} ms, plain ${ttff.plain.map(Math.round).join(', ')} ms`)

    // A lone viewer: bytes after 20 s, memory after 60 s, a seek to 75%.
    const lone: Record<'plain' | 'watch', { bytes20: number; memory60: number; seekMs: number }> = {} as never
    for (const [kind, url] of [['plain', plainUrl], ['watch', watchUrl]] as const) {
      const v = await open(browser, url)
      await playedPast(v.page, 20)
      const bytes20 = v.bytes()
      await playedPast(v.page, 60)
      const memory60 = await memory(v.context, v.page)
      const seekMs = await seekTime(v.page, video.duration! * 0.75)
      lone[kind] = { bytes20, memory60, seekMs }
      console.log(`  lone ${kind}: ${mb(bytes20)} after 20 s, ${mb(memory60)} of memory after 60 s, seek ${Math.round(seekMs)} ms`)
      await v.context.close()
    }

    // Alone on a slow link for 60 s.
    const slow: Record<'plain' | 'watch', Measures & { played: number }> = {} as never
    for (const [kind, url] of [['plain', plainUrl], ['watch', watchUrl]] as const) {
      const v = await open(browser, url, THROTTLE_KBPS)
      await Bun.sleep(60_000)
      const m = await measures(v.page)
      const played = await v.page.evaluate(() => (document.querySelector('video') as HTMLVideoElement).currentTime)
      // A stall still going on counts up to now.
      const now = await v.page.evaluate(() => performance.now())
      slow[kind] = { ...m, stallMs: m.stallMs + (m.since !== undefined ? now - m.since : 0), played }
      console.log(`  slow ${kind}: ${JSON.stringify(slow[kind])}`)
      await v.context.close()
    }

    // Five viewers join one who watches.
    const seed = await open(browser, watchUrl)
    await playedPast(seed.page, 10)
    const joined: Stats[] = []
    const open_: BrowserContext[] = [seed.context]
    for (let i = 0; i < JOINERS; i++) {
      const v = await open(browser, watchUrl)
      open_.push(v.context)
      await playedPast(v.page, 20)
      joined.push(await stats(v.page))
      // It stays in the swarm, paused: six tabs decoding 720p at once would measure the machine's CPU.
      await v.page.evaluate(() => (document.querySelector('video') as HTMLVideoElement).pause())
      const s = joined.at(-1)!
      console.log(`  joiner ${i + 1}: ${mb(s.fromPeers)} from peers, ${mb(s.fromWebseed)} from the web seed`)
    }
    for (const c of open_) await c.close()
    const peers = joined.reduce((a, s) => a + s.fromPeers, 0)
    const peerShare = peers / joined.reduce((a, s) => a + s.fromPeers + s.fromWebseed, 0)

    const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}x`
    const goal = (ok: boolean) => (ok ? 'met' : 'MISSED')
    const [tw, tp] = [median(ttff.watch), median(ttff.plain)]
    console.log('\nresults (watch page vs plain <video> of the original, same run):')
    console.log(`  first frame: ${Math.round(tw)} ms vs ${Math.round(tp)} ms = ${ratio(tw, tp)} (goal <= 1.5x: ${goal(tw / tp <= 1.5)})`)
    console.log(`  lone viewer, bytes after 20 s: ${mb(lone.watch.bytes20)} vs ${mb(lone.plain.bytes20)} = ${ratio(lone.watch.bytes20, lone.plain.bytes20)} (goal <= 1.3x: ${goal(lone.watch.bytes20 / lone.plain.bytes20 <= 1.3)})`)
    const extra = lone.watch.memory60 - lone.plain.memory60
    console.log(`  page memory after 60 s: ${mb(lone.watch.memory60)} vs ${mb(lone.plain.memory60)} = plain + ${mb(extra)} (goal <= plain + 150 MB: ${goal(extra <= 150e6)})`)
    console.log(`  seek to 75%: ${Math.round(lone.watch.seekMs)} ms vs ${Math.round(lone.plain.seekMs)} ms = ${ratio(lone.watch.seekMs, lone.plain.seekMs)} (goal <= 1.2x: ${goal(lone.watch.seekMs / lone.plain.seekMs <= 1.2)})`)
    const w = slow.watch
    const p = slow.plain
    console.log(
      `  ${THROTTLE_KBPS} kbit/s for 60 s: ${w.maxHeight}p, first frame ${Math.round(w.ttff ?? NaN)} ms, ${Math.round(w.stallMs)} ms of stalls, ${w.played.toFixed(1)} s played ` +
        `vs plain ${p.maxHeight}p, first frame ${Math.round(p.ttff ?? NaN)} ms, ${Math.round(p.stallMs)} ms of stalls, ${p.played.toFixed(1)} s played ` +
        `(goals <= 480p, <= 5 s, <= 1 s: ${goal(w.maxHeight <= 480)}, ${goal((w.ttff ?? Infinity) <= 5000)}, ${goal(w.stallMs <= 1000)})`,
    )
    console.log(`  five viewers joining one who watches: ${(peerShare * 100).toFixed(1)}% of their bytes from peers (goal >= 80%: ${goal(peerShare >= 0.8)})`)
    return { ttff: { watch: tw, plain: tp }, lone, slow, peerShare }
  } finally {
    await browser?.close()
    await pod?.stop()
    plainServer.stop(true)
    rmSync(dir, { recursive: true, force: true })
  }
}

if (import.meta.main) {
  await run()
  process.exit(0)
}
