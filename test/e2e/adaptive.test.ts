/**
 * The stream player at a real length, in headless Chromium: a 3-minute 720p video (about
 * 2 Mbit/s) with 240p and 480p renditions, one viewer alone with the pod.
 *  - What it fetches is bounded: after 20 s of watching, what it played plus its buffer
 *    ahead (config player.bufferSeconds), not the file.
 *  - Its quality adapts without reloading the element: down when its link is throttled to
 *    1.5 Mbit/s (CDP Network.emulateNetworkConditions), up again when it is not.
 *  - A seek to 75% plays from there, fetching from the new position only.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { Browser } from 'playwright-core'
import type { Video } from '../../src/videos/model'
import { netPod, stopPods, until } from '../helpers/network'
import { removeTempDirs, tempDir, type TestPod } from '../helpers/pods'
import { uploadVideo, userToken } from '../helpers/videos'
import { launch, screenshot, viewer } from './browser'
import { longClip, playAdaptively } from './playback'

afterAll(stopPods)
afterAll(removeTempDirs)

const BUFFER_SECONDS = 12
const TIMEOUT = 120_000

let browser: Browser
let pod: TestPod
let video: Video & { streams: { height: number; size: number }[] }

beforeAll(async () => {
  let clip: string
  ;[browser, pod, clip] = await Promise.all([
    launch(),
    netPod({ transcoding: { resolutions: [240, 480], concurrency: 2 }, player: { bufferSeconds: BUFFER_SECONDS } }),
    longClip(tempDir('seedpod-e2e-adaptive-')),
  ])
  const res = await uploadVideo(pod.base, await userToken(pod), { file: Bun.file(clip), name: 'Three minutes' })
  if (res.status !== 201) throw new Error(`upload: ${res.status} ${await res.text()}`)
  const id = ((await res.json()) as Video).id
  video = await until(async () => {
    const v = (await (await fetch(`${pod.base}/api/v1/videos/${id}`)).json()) as typeof video
    return v.streams?.length === 3 ? v : undefined
  }, 240_000, 'the renditions')
}, 300_000)

afterAll(async () => {
  await browser?.close()
}, 20_000)

describe('the stream player at a real length in Chromium', () => {
  test('alone: bounded bytes after 20 s; the quality goes down on a 1.5 Mbit/s link and up again, never reloading the element; a seek to 75% plays from there', async () => {
    const original = video.streams.find((s) => s.height === 720)!
    const { page, context, errors } = await viewer(browser)
    // 20 s played: a small part of the 3 minutes; down on the 1.5 Mbit/s link, up again once it is fast.
    const run = await playAdaptively(page, context, `${pod.base}/videos/${video.id}`, {
      bufferSeconds: BUFFER_SECONDS,
      topBytes: original.size,
      timeoutMs: TIMEOUT / 2,
      throttled: async () => {
        await page.locator('[data-quality$="(Auto)"]').waitFor({ state: 'attached' })
        await screenshot(page, 'watch-adaptive-throttled')
      },
    })

    // Seek to 75%: it plays from there, fetching from there on (a buffer's worth, not the middle of the file).
    const before = run.bytes()
    const target = video.duration! * 0.75
    await page.evaluate((t) => ((document.querySelector('video.player') as HTMLVideoElement).currentTime = t), target)
    await page.waitForFunction((t) => {
      const v = document.querySelector('video.player') as HTMLVideoElement
      return !v.seeking && !v.paused && v.currentTime > t + 1
    }, target, { timeout: 30_000 })
    expect(run.bytes() - before).toBeLessThan(original.size * 0.2)
    expect(errors).toEqual([])
    await context.close()
  }, TIMEOUT * 2)
})
