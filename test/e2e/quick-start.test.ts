/**
 * The quick start of a watch page, in headless Chromium (test/e2e/browser.ts): the page's
 * HTML carries a <video> of the video's first seconds from the web seed (`?head=`), which the
 * browser plays while the app and its player load; the page then takes that element over and
 * hands it to the stream player (hls.js, each segment from the torrent) at the same moment. The video is 40 s long: a head
 * start (5 s) is only made for videos where it is a small part (src/pages/shell.ts).
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { Browser, Page } from 'playwright-core'
import type { Video } from '../../src/videos/model'
import { makeClip } from '../helpers/clips'
import { netPod, stopPods } from '../helpers/network'
import { removeTempDirs, tempDir, type TestPod } from '../helpers/pods'
import { uploadVideo, userToken } from '../helpers/videos'
import { launch, viewer } from './browser'

afterAll(stopPods)
afterAll(removeTempDirs)

const TIMEOUT = 45_000

let browser: Browser
let pod: TestPod
let video: Video
let head: number

beforeAll(async () => {
  let clip: string
  ;[browser, pod, clip] = await Promise.all([
    launch(),
    netPod(),
    makeClip(tempDir('seedpod-e2e-quick-'), { seconds: 40, size: '320x240', faststart: true, name: 'long.mp4' }),
  ])
  const res = await uploadVideo(pod.base, await userToken(pod), { file: Bun.file(clip), name: 'Forty seconds' })
  if (res.status !== 201) throw new Error(`upload: ${res.status} ${await res.text()}`)
  video = (await res.json()) as Video
  const html = await (await fetch(`${pod.base}/videos/${video.id}`)).text()
  const src = /<video id="seedpod-quick"[^>]* src="([^"]+)"/.exec(html)?.[1]
  if (!src) throw new Error(`no quick start in the watch page:\n${html}`)
  head = Number(new URL(src.replace(/&amp;/g, '&')).searchParams.get('head'))
}, 60_000)

afterAll(async () => {
  await browser?.close()
}, 20_000)

/** What the page's <video> is doing, and what its stats panel says. */
function state(page: Page) {
  return page.evaluate(() => {
    const videos = document.querySelectorAll('video')
    const v = videos[0] as HTMLVideoElement
    const d = (document.querySelector('[data-testid=p2p-stats]') as HTMLElement | null)?.dataset
    return {
      videos: videos.length,
      quickWrapper: !!document.querySelector('.quick-start'),
      inPlayer: !!v.closest('.player-frame'),
      src: v.currentSrc,
      time: v.currentTime,
      paused: v.paused,
      fromPeers: Number(d?.fromPeers ?? 0),
      fromWebseed: Number(d?.fromWebseed ?? 0),
      firstFrame: d?.firstFrameMs,
    }
  })
}

/** Waits until the page's only <video> plays from the stream player (hls.js's MediaSource). */
function handedOver(page: Page) {
  return page.waitForFunction(() => document.querySelector('video.player')?.getAttribute('src')?.startsWith('blob:'), null, { timeout: TIMEOUT })
}

describe('the quick start of a watch page in Chromium', () => {
  test("the page's HTML plays the first seconds from the web seed; the player takes the element over and plays on past them from the torrent", async () => {
    // The whole segments that hold its first five seconds: where one ends in its playlist.
    const stream = (video as unknown as { streams: { playlistUrl: string }[] }).streams[0]!
    const playlist = await (await fetch(stream.playlistUrl)).text()
    const ends = [...playlist.matchAll(/#EXT-X-BYTERANGE:(\d+)@(\d+)/g)].map((m) => Number(m[1]) + Number(m[2]))
    expect(ends).toContain(head)
    expect(head).toBeLessThan(video.size! / 2)
    const { page, errors, context } = await viewer(browser)
    try {
      // What the browser gets before the app runs: the head, from the web seed.
      const quickSrc = page.waitForRequest((r) => r.url().includes(`/static/webseed/${video.id}.mp4?head=${head}`))
      await page.goto(`${pod.base}/videos/${video.id}`)
      await quickSrc
      await page.waitForFunction(() => document.querySelector('[data-testid=p2p-stats]')?.hasAttribute('data-first-frame-ms'), null, { timeout: TIMEOUT })
      await handedOver(page)
      // Past the head's five seconds: the stream took over where the head start was.
      await page.waitForFunction(() => (document.querySelector('video.player') as HTMLVideoElement).currentTime > 6, null, { timeout: TIMEOUT })
      const s = await state(page)
      // One element, moved into the player: the quick start's, not a second one.
      expect(s).toMatchObject({ videos: 1, quickWrapper: false, inPlayer: true, paused: false })
      expect(Number(s.firstFrame)).toBeGreaterThan(0)
      // The head start counts as bytes from the web seed.
      expect(s.fromWebseed).toBeGreaterThanOrEqual(head)
      expect(errors).toEqual([])

      // A second viewer, while the first stays: the quick start's bytes aside, it takes the
      // video from the first viewer, not from the web seed.
      const second = await viewer(browser)
      try {
        await second.page.goto(`${pod.base}/videos/${video.id}`)
        await handedOver(second.page)
        await second.page.waitForFunction(
          (half) => Number(document.querySelector('[data-testid=p2p-stats]')?.getAttribute('data-from-peers')) > half,
          video.size! / 2,
          { timeout: TIMEOUT, polling: 100 },
        )
        const b = await state(second.page)
        expect(b.fromPeers).toBeGreaterThan(video.size! / 2)
        expect(b.fromWebseed).toBeLessThan(video.size! / 2)
        expect(second.errors).toEqual([])
      } finally {
        await second.context.close()
      }
    } finally {
      await context.close()
    }
  })

  test('a viewer who pauses during the quick start finds it paused, at the same moment, after the hand-over', async () => {
    const { page, errors, context } = await viewer(browser)
    try {
      // The viewer pauses the quick start once it has played a little (WebTorrent is still loading).
      await context.addInitScript(() => {
        document.addEventListener(
          'timeupdate',
          (e) => {
            const v = e.target as HTMLVideoElement
            if (v.currentSrc.includes('?head=') && v.currentTime > 0.1 && !(window as { paused?: boolean }).paused) {
              ;(window as { paused?: boolean }).paused = true
              v.pause()
            }
          },
          true,
        )
      })
      // WebTorrent's code comes slowly (a slow link): the quick start plays a while first.
      await page.route('**/vendor/webtorrent.min.js*', async (route) => {
        await Bun.sleep(2000)
        await route.continue()
      })
      await page.goto(`${pod.base}/videos/${video.id}`)
      await page.waitForFunction(() => (window as { paused?: boolean }).paused, null, { timeout: TIMEOUT })
      const pausedAt = await page.evaluate(() => document.querySelector('video')!.currentTime)
      await handedOver(page)
      // The stream has its metadata and has sought to where the viewer paused.
      await page.waitForFunction(
        (t) => {
          const v = document.querySelector('video.player') as HTMLVideoElement
          return v.readyState >= 2 && !v.seeking && Math.abs(v.currentTime - t) < 0.5
        },
        pausedAt,
        { timeout: TIMEOUT },
      )
      const at = await state(page)
      await Bun.sleep(1000)
      const later = await state(page)
      expect(at.time).toBeGreaterThan(0)
      expect(later).toMatchObject({ paused: true, time: at.time })
      expect(errors).toEqual([])
    } finally {
      await context.close()
    }
  })
})
