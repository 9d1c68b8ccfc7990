/**
 * The embed page and the error pages in Chromium (test/e2e/browser.ts):
 *  - another site (a second server, another origin) frames the embed page with the
 *    `<iframe>` that the pod's oEmbed gives, and the video plays in it;
 *  - the 404 page shows the site's header, for an unknown address and a missing video;
 *  - screenshots of both at 1366 and 390 pixels wide, light and dark, in test-output/.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { Browser } from 'playwright-core'
import type { Video } from '../../src/videos/model'
import { makeClip } from '../helpers/clips'
import { netPod, stopPods } from '../helpers/network'
import { removeTempDirs, tempDir, type TestPod } from '../helpers/pods'
import { uploadVideo, userToken } from '../helpers/videos'
import { launch, screenshot, viewer } from './browser'

afterAll(stopPods)

afterAll(removeTempDirs)

const TIMEOUT = 45_000
const SIZES = [
  { name: 'desktop', width: 1366, height: 800 },
  { name: 'phone', width: 390, height: 844, mobile: true },
] as const
const SCHEMES = ['light', 'dark'] as const

let browser: Browser
let pod: TestPod
let video: Video
/** The other site: one page that frames the video with the oEmbed's `<iframe>`. */
let site: ReturnType<typeof Bun.serve>

beforeAll(async () => {
  let clip: string
  ;[browser, pod, clip] = await Promise.all([launch(), netPod({ name: 'Embed pod' }), makeClip(tempDir('seedpod-e2e-embed-'), { seconds: 8, size: '480x270', faststart: true })])
  const res = await uploadVideo(pod.base, await userToken(pod, 'ada'), { file: Bun.file(clip), name: 'Lighthouse at night' })
  expect(res.status).toBe(201)
  video = (await res.json()) as Video
  const oembed = (await (await fetch(`${pod.base}/services/oembed?url=${encodeURIComponent(`${pod.base}/videos/${video.id}`)}&maxwidth=480`)).json()) as { html: string }
  const page = `<!doctype html><html><head><meta charset="utf-8"><title>A blog</title></head><body><h1>A blog post</h1><p>Look at this:</p>${oembed.html}</body></html>`
  site = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: () => new Response(page, { headers: { 'content-type': 'text/html;charset=utf-8' } }) })
}, 60_000)

afterAll(async () => {
  await site?.stop(true)
  await browser?.close()
}, 20_000)

describe('embeds and error pages in Chromium', () => {
  test('another site frames the embed page with the oEmbed <iframe>, and the video plays in it, with a link back to the watch page', async () => {
    const { page, errors, context } = await viewer(browser)
    const blog = `http://127.0.0.1:${site.port}/`
    expect(new URL(blog).origin).not.toBe(new URL(pod.base).origin)
    await page.goto(blog)
    const frame = page.frameLocator('iframe')
    // It plays: the time moves on, inside the other origin's frame.
    const inner = page.frames().find((f) => f.url().startsWith(`${pod.base}/videos/embed/`))
    expect(inner).toBeDefined()
    await inner!.waitForFunction(() => (document.querySelector('video.player') as HTMLVideoElement | null)?.currentTime! > 1, null, { timeout: 20_000 })
    const time = await inner!.evaluate(() => (document.querySelector('video.player') as HTMLVideoElement).currentTime)
    await inner!.waitForFunction((t) => (document.querySelector('video.player') as HTMLVideoElement).currentTime > t + 0.5, time, { timeout: 10_000 })
    // The link back opens the watch page on the pod.
    const link = frame.getByRole('link', { name: /Lighthouse at night/ })
    expect(await link.getAttribute('href')).toBe(`${pod.base}/videos/${video.id}`)
    expect(await link.getAttribute('target')).toBe('_blank')
    await screenshot(page, 'embed-framed')
    expect(errors).toEqual([])
    await context.close()
  }, TIMEOUT)

  test('the watch page may not be framed by another site', async () => {
    const other = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: () => new Response(`<!doctype html><iframe src="${pod.base}/videos/${video.id}"></iframe>`, { headers: { 'content-type': 'text/html' } }) })
    try {
      const { page, context } = await viewer(browser)
      // The page's load event waits for its frame's document, whatever it ends as.
      await page.goto(`http://127.0.0.1:${other.port}/`, { waitUntil: 'load' })
      // Chromium blocks it (CSP frame-ancestors 'none'): the frame never gets the app.
      const inner = page.frames().find((f) => f.url().startsWith(`${pod.base}/videos/`))
      expect(inner ? await inner.locator('#seedpod-boot').count() : 0).toBe(0)
      await context.close()
    } finally {
      await other.stop(true)
    }
  }, TIMEOUT)

  test('the 404 page: status 404, the site header, for an unknown address and a missing video; screenshots light and dark', async () => {
    for (const size of SIZES) {
      for (const colorScheme of SCHEMES) {
        const { page, errors, context } = await viewer(browser, size)
        await page.emulateMedia({ colorScheme })
        for (const path of ['/nope', '/videos/nosuchvideo']) {
          const res = await page.goto(pod.base + path)
          expect(res!.status()).toBe(404)
          await page.getByRole('heading', { name: 'Page not found' }).waitFor()
          expect(await page.locator('header.site-header').count()).toBe(1)
          expect(await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Videos' }).isVisible()).toBe(true)
          expect(await page.locator('.skip-link').count()).toBe(1)
        }
        await screenshot(page, `404-${size.width}-${colorScheme}`)
        // Browsers ask for /favicon.ico by themselves: 404 answers would show up as console errors.
        expect(errors).toEqual([])
        await context.close()
      }
    }
  }, TIMEOUT)

  test('the embed page alone: screenshots at 1366 and 390, light and dark', async () => {
    for (const size of SIZES) {
      for (const colorScheme of SCHEMES) {
        const { page, errors, context } = await viewer(browser, { ...size, height: Math.round((size.width * 9) / 16) })
        await page.emulateMedia({ colorScheme })
        await page.goto(`${pod.base}/videos/embed/${video.id}`)
        await page.waitForFunction(() => (document.querySelector('video.player') as HTMLVideoElement | null)?.currentTime! > 0.5, null, { timeout: 20_000 })
        // The player fills the frame; the site's header is not there.
        const box = await page.locator('video.player').boundingBox()
        expect(box?.width).toBe(size.width)
        expect(await page.locator('header.site-header').count()).toBe(0)
        await screenshot(page, `embed-${size.width}-${colorScheme}`)
        expect(errors).toEqual([])
        await context.close()
      }
    }
  }, TIMEOUT)
})
