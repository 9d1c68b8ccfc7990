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
function player(page: Page): Promise<{ time: number; height: number; ahead: number; src: string; emptied: number }> {
  return page.evaluate(() => {
    const v = document.querySelector('video.player') as HTMLVideoElement
    const b = v.buffered
    let ahead = 0
    for (let i = 0; i < b.length; i++) if (b.start(i) <= v.currentTime + 0.1 && v.currentTime <= b.end(i)) ahead = b.end(i) - v.currentTime
    return { time: v.currentTime, height: v.videoHeight, ahead, src: v.src, emptied: (window as unknown as { emptied?: number }).emptied ?? 0 }
  })
}

/** Throttles the page's HTTP (web seeds, playlists), or lifts it (`kbps` undefined). */
async function throttle(cdp: CDPSession, kbps?: number): Promise<void> {
  const rate = kbps === undefined ? -1 : (kbps * 1000) / 8
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: kbps === undefined ? 0 : 20, downloadThroughput: rate, uploadThroughput: rate })
}

/** Counts the web seed bytes a page fetches (from any pod), as they arrive. */
function countWebseedBytes(page: Page): { bytes: number } {
  const counter = { bytes: 0 }
  page.on('response', (r) => {
    if (r.url().includes('/static/webseed/')) counter.bytes += Number(r.headers()['content-length'] ?? 0)
  })
  return counter
}

/** What `playAdaptively` checks against. */
export interface AdaptiveExpectations {
  /** The player's buffer ahead (config player.bufferSeconds). */
  bufferSeconds: number
  /** The top stream's bytes, which 20 s of it must fetch a small part of. */
  topBytes: number
  /** How long each quality switch may take. */
  timeoutMs: number
  /** Runs once the picture went down (a screenshot). */
  throttled?: () => Promise<void>
}

/**
 * Opens a watch page and plays its stream as a viewer must see it: after 20 s, at most
 * `bufferSeconds` (and a segment) ahead and a small part of the top stream fetched; then on
 * a 1.5 Mbit/s link (where a 720p stream of about 2 Mbit/s cannot keep up) down to 480 lines
 * or less, and on a fast link up again, in the same element and MediaSource all along (no
 * reload, no emptying from hls.js's taking over on: the quick start's element took its
 * source, which empties it once). Returns the web seed bytes fetched so far, as they grow.
 */
export async function playAdaptively(page: Page, context: BrowserContext, url: string, want: AdaptiveExpectations): Promise<{ bytes(): number }> {
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
  // hls.js asks for a segment while less than bufferSeconds is buffered: at most one segment
  // (2 s) beyond it, and one more across a switch of level; never the whole video.
  expect(at20.ahead).toBeLessThanOrEqual(want.bufferSeconds + 6)
  expect(counted.bytes).toBeLessThan(want.topBytes * 0.35)
  expect(counted.bytes).toBeGreaterThan(0)

  const cdp = await context.newCDPSession(page)
  await cdp.send('Network.enable')
  await throttle(cdp, 1500)
  await page.waitForFunction(() => (document.querySelector('video.player') as HTMLVideoElement).videoHeight < 720, null, { timeout: want.timeoutMs, polling: 250 })
  const down = await player(page)
  expect(down.height).toBeLessThanOrEqual(480)
  await want.throttled?.()
  await throttle(cdp)
  await page.waitForFunction((h) => (document.querySelector('video.player') as HTMLVideoElement).videoHeight > h, down.height, { timeout: want.timeoutMs, polling: 250 })
  const up = await player(page)
  expect(up.src).toBe(src)
  expect(up.emptied).toBe(0)
  return { bytes: () => counted.bytes }
}
