/**
 * What the stream player's browser tests share: a long clip that adaptive switching has
 * something to do with, the player's state as the page shows it, and a throttled link.
 */
import { join } from 'node:path'
import type { CDPSession, Page } from 'playwright-core'

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
export function player(page: Page) {
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
