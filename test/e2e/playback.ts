/**
 * What the stream player's browser tests share: a long clip that adaptive switching has
 * something to do with, the player's state as the page shows it, and a throttled link.
 */
import { expect } from 'bun:test'
import { join } from 'node:path'
import type { BrowserContext, CDPSession, Page } from 'playwright-core'

/** A 720p clip of `seconds` at about 2 Mbit/s (noise keeps the encoder from squeezing it), a keyframe every 2 s. */
export async function longClip(dir: string, seconds = 180): Promise<string> {
  const out = join(dir, `long-${seconds}.mp4`)
  const p = Bun.spawn(
    [
      'ffmpeg', '-hide_banner', '-nostdin', '-v', 'error', '-y',
      '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=24', '-f', 'lavfi', '-i', 'sine=frequency=440', '-t', String(seconds),
      '-vf', 'noise=alls=10:allf=t', '-c:v', 'libx264', '-preset', 'ultrafast', '-b:v', '2000k', '-maxrate', '2000k', '-bufsize', '4000k', '-g', '48',
      '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '96k', out,
    ],
    { stderr: 'pipe' },
  )
  if ((await p.exited) !== 0) throw new Error(`ffmpeg failed: ${await new Response(p.stderr).text()}`)
  return out
}

/** The player's state: time, picture height, buffer ahead, element source, and how often it was emptied (reloaded). */
export function player(page: Page): Promise<{ time: number; height: number; ahead: number; src: string; emptied: number }> {
  return page.evaluate(() => {
    const v = document.querySelector('video.player') as HTMLVideoElement
    const b = v.buffered
    let ahead = 0
    for (let i = 0; i < b.length; i++) if (b.start(i) <= v.currentTime + 0.1 && v.currentTime <= b.end(i)) ahead = b.end(i) - v.currentTime
    return { time: v.currentTime, height: v.videoHeight, ahead, src: v.src, emptied: (window as unknown as { emptied?: number }).emptied ?? 0 }
  })
}

/** Throttles the page's HTTP (web seeds, playlists), or lifts it (`kbps` undefined). */
export async function throttle(cdp: CDPSession, kbps?: number): Promise<void> {
  const rate = kbps === undefined ? -1 : (kbps * 1000) / 8
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: kbps === undefined ? 0 : 20, downloadThroughput: rate, uploadThroughput: rate })
}

/** Counts the web seed bytes a page fetches (from any pod), as they arrive. */
export function countWebseedBytes(page: Page): { bytes: number } {
  const counter = { bytes: 0 }
  page.on('response', (r) => {
    if (r.url().includes('/static/webseed/')) counter.bytes += Number(r.headers()['content-length'] ?? 0)
  })
  return counter
}

/** What a viewer saw in `playAdaptively`. */
export interface AdaptiveRun {
  /** The element's source once hls.js took it (a MediaSource's blob: URL). */
  src: string
  /** After 20 s played, and the web seed bytes fetched until then. */
  at20: Awaited<ReturnType<typeof player>>
  bytesAt20: number
  /** Once the picture went below 720 lines on the throttled link, and above that again on a fast one. */
  down: Awaited<ReturnType<typeof player>>
  up: Awaited<ReturnType<typeof player>>
  /** Web seed bytes fetched so far. */
  bytes(): number
}

/**
 * Opens a watch page and plays its stream: 20 s, then on a 1.5 Mbit/s link until the picture
 * goes below 720 lines (`throttled` runs then), then on a fast link until it goes up again.
 * `emptied` counts from hls.js's taking over (the quick start's element took its source,
 * which empties it once).
 */
export async function playAdaptively(page: Page, context: BrowserContext, url: string, timeoutMs: number, throttled?: () => Promise<void>): Promise<AdaptiveRun> {
  const counted = countWebseedBytes(page)
  await page.addInitScript(() => {
    document.addEventListener('emptied', () => ((window as unknown as { emptied: number }).emptied = ((window as unknown as { emptied?: number }).emptied ?? 0) + 1), true)
  })
  await page.goto(url)
  await page.waitForFunction(() => (document.querySelector('video.player') as HTMLVideoElement | null)?.src.startsWith('blob:'), null, { timeout: 30_000 })
  const { src } = await player(page)
  await page.evaluate(() => ((window as unknown as { emptied: number }).emptied = 0))
  await page.waitForFunction(() => (document.querySelector('video.player') as HTMLVideoElement).currentTime >= 20, null, { timeout: 60_000 })
  const at20 = await player(page)
  const bytesAt20 = counted.bytes
  // A 1.5 Mbit/s link: a 720p stream of about 2 Mbit/s cannot keep up.
  const cdp = await context.newCDPSession(page)
  await cdp.send('Network.enable')
  await throttle(cdp, 1500)
  await page.waitForFunction(() => (document.querySelector('video.player') as HTMLVideoElement).videoHeight < 720, null, { timeout: timeoutMs, polling: 250 })
  const down = await player(page)
  await throttled?.()
  await throttle(cdp)
  await page.waitForFunction((h) => (document.querySelector('video.player') as HTMLVideoElement).videoHeight > h, down.height, { timeout: timeoutMs, polling: 250 })
  return { src, at20, bytesAt20, down, up: await player(page), bytes: () => counted.bytes }
}

/**
 * What a viewer must see in `playAdaptively`: after 20 s, at most `bufferSeconds` (and a
 * segment) ahead and a small part of the top stream's `topBytes` fetched; down to 480 lines
 * or less on the throttled link and up again, in the same element and MediaSource all along
 * (no reload, no emptying).
 */
export function expectBoundedAndAdaptive(run: AdaptiveRun, bufferSeconds: number, topBytes: number): void {
  expect(run.at20.ahead).toBeLessThanOrEqual(bufferSeconds + 4)
  expect(run.bytesAt20).toBeLessThan(topBytes * 0.35)
  expect(run.bytesAt20).toBeGreaterThan(0)
  expect(run.down.height).toBeLessThanOrEqual(480)
  expect(run.up.src).toBe(run.src)
  expect(run.up.emptied).toBe(0)
}
