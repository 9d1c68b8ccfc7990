/**
 * Renditions and mirrors in a real browser (headless Chromium, test/e2e/browser.ts), with two
 * real pods: A transcodes uploads to 240p and 144p, B keeps copies of its friends' videos.
 *  - The upload page shows the new video's transcoding, a progress bar per job, until each is
 *    ready; the admin page lists the jobs with their bars.
 *  - The watch page's Quality menu offers Auto (a phone gets 240p, a desktop the original) and
 *    every stream; a pick switches without reloading the element, keeping position and
 *    play/pause; its WebRTC connections use A's ICE servers (config webrtc.iceServers).
 *  - A stream whose keyframes are off the grid (`aligned: false`) is left out of Auto.
 *  - With A stopped, B's watch page still plays the video from B's copy, even when A's
 *    address hangs instead of refusing, and says so (from the copy's playlists where B keeps
 *    the streams, else B's copy of the original by a plain `src`: B serves the page).
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { Browser, Page } from 'playwright-core'
import type { OwnMirror } from '../../actors/redundancy'
import type { Video } from '../../src/videos/model'
import { makeClip } from '../helpers/clips'
import { adminToken, indexIds, netPod, stopPods, until } from '../helpers/network'
import { removeTempDirs, tempDir, type TestPod } from '../helpers/pods'
import { launch, logIn, PASSWORD, screenshot, viewer } from './browser'
import { valueOf } from '../helpers/results'

afterAll(stopPods)

afterAll(removeTempDirs)

const PHONE = { width: 390, height: 844, mobile: true }
const TIMEOUT = 45_000
const STUN = 'stun:127.0.0.1:3478'

let browser: Browser
let a: TestPod
let b: TestPod
let clip: string
let video: Video

/** The watch page's <video>: what the viewer sees of it. */
function player(page: Page): Promise<{ height: number; time: number; paused: boolean; seeking: boolean }> {
  return page.evaluate(() => {
    const v = document.querySelector('video.player') as HTMLVideoElement
    return { height: v.videoHeight, time: v.currentTime, paused: v.paused, seeking: v.seeking }
  })
}

/** Waits until the page's <video> has played past `seconds`. */
function playedPast(page: Page, seconds: number, timeout = 20_000) {
  return page.waitForFunction((s) => (document.querySelector('video.player') as HTMLVideoElement | null)?.currentTime! > s, seconds, { timeout })
}

/** Waits until the picture is `height` pixels high (the file of that quality is playing). */
function showsHeight(page: Page, height: number, timeout = 20_000) {
  return page.waitForFunction((h) => (document.querySelector('video.player') as HTMLVideoElement | null)?.videoHeight === h, height, { timeout })
}


beforeAll(async () => {
  ;[browser, a, b, clip] = await Promise.all([
    launch(),
    // Its pages give WebRTC this STUN server (nothing answers there: host candidates still connect).
    netPod({ name: 'Origin pod', transcoding: { resolutions: [144, 240] }, webrtc: { iceServers: [STUN] } }),
    netPod({ name: 'Mirror pod', redundancy: { enabled: true, budgetBytes: 50_000_000 } }),
    // 360 lines: renditions of 240 and 144 below it; long enough to switch while it plays.
    makeClip(tempDir('seedpod-e2e-watch-'), { seconds: 12, size: '480x360', faststart: true, name: 'harbour.mp4' }),
  ])
  await b.running.pod.making.makeFriends([a.base])
  for (const [name, role] of [['maker', 'user'], ['root', 'admin']] as const) {
    valueOf(await a.running.pod.accounts.create(name, PASSWORD, role))
  }
}, 60_000)

afterAll(async () => {
  await browser?.close()
}, 20_000)

describe('renditions and mirrors in Chromium', () => {
  test('the upload page shows each transcoding job with a progress bar until its version is ready', async () => {
    const { page, errors, context } = await viewer(browser)
    await logIn(page, a.base, 'maker', '/upload')
    await page.locator('#file-input').setInputFiles(clip)
    await page.getByLabel('Name').fill('Harbour in three sizes')
    await page.getByRole('button', { name: 'Upload' }).click()
    await page.getByRole('heading', { name: 'Video published' }).waitFor({ timeout: 30_000 })
    const section = page.getByRole('region', { name: 'Smaller versions' })
    await section.waitFor()
    // A determinate bar per rendition (a <progress> with a value, not a spinner), labelled with its height.
    expect(await section.locator('.job label').allTextContents()).toEqual(['144p', '240p'])
    expect(await section.locator('progress[value]').count()).toBe(2)
    await page.getByLabel('144p').waitFor()
    // They move on by themselves (the page polls) until both are ready.
    await page.waitForFunction(() => [...document.querySelectorAll('.job')].every((j) => j.getAttribute('data-state') === 'done'), null, { timeout: 40_000 })
    expect(await section.locator('progress').evaluateAll((els) => els.map((e) => (e as HTMLProgressElement).value))).toEqual([100, 100])
    await section.getByText('Every version is ready').waitFor()
    await screenshot(page, 'upload-transcoded')
    const href = await page.getByRole('link', { name: 'Watch it' }).getAttribute('href')
    video = (await (await fetch(`${a.base}/api/v1/videos/${href!.split('/').pop()}`)).json()) as Video
    expect(video.height).toBe(360)
    expect(errors).toEqual([])
    await context.close()
  }, TIMEOUT)

  test('the admin page lists the transcoding jobs with their progress bars', async () => {
    const { page, errors, context } = await viewer(browser)
    await logIn(page, a.base, 'root', '/admin')
    const section = page.getByRole('region', { name: 'Transcoding' })
    await section.locator('.job').first().waitFor()
    const jobs = section.locator('.job', { hasText: video.name })
    expect(await jobs.count()).toBe(2)
    expect(await jobs.locator('.job-state').allTextContents()).toEqual(['ready', 'ready'])
    expect(await jobs.locator('progress').evaluateAll((els) => els.map((e) => (e as HTMLProgressElement).value))).toEqual([100, 100])
    await section.getByRole('link', { name: video.name }).first().waitFor()
    await screenshot(page, 'admin-transcoding')
    expect(errors).toEqual([])
    await context.close()
  }, TIMEOUT)

  test('the Quality menu offers Auto and every stream; Auto fits the player to the screen; a pick switches at once, keeping position, play/pause and the element', async () => {
    // A desktop player is over 500 pixels high: Auto plays the original (360 lines).
    const desktop = await viewer(browser)
    // The WebRTC connections the player makes, as the browser is asked for them.
    await desktop.page.addInitScript(() => {
      const Native = RTCPeerConnection
      const seen: string[] = ((window as unknown as { iceConfigs: string[] }).iceConfigs = [])
      window.RTCPeerConnection = class extends Native {
        constructor(config?: RTCConfiguration) {
          seen.push(JSON.stringify(config?.iceServers ?? []))
          super(config)
        }
      }
    })
    await desktop.page.goto(`${a.base}/videos/${video.id}`)
    const menu = desktop.page.getByLabel('Quality')
    await menu.waitFor()
    await showsHeight(desktop.page, 360)
    expect((await menu.locator('option').allTextContents()).slice(1)).toEqual(['Original (360p)', '240p', '144p'])
    expect(await menu.inputValue()).toBe('-1')
    await desktop.page.locator('[data-quality="Original (360p) (Auto)"]').waitFor()
    // Its peer connections use the pod's ICE servers (config webrtc.iceServers), and only those.
    const configs = await desktop.page.waitForFunction(() => (window as unknown as { iceConfigs: string[] }).iceConfigs.slice(0, 1).pop())
    expect(JSON.parse((await configs.jsonValue()) as string)).toEqual([{ urls: STUN }])
    await desktop.context.close()

    // A phone: Auto picks what its player's 390 pixels of width need.
    const { page, errors, context } = await viewer(browser, PHONE)
    // The player's timeline (public/player/debug.ts), printed if a switch does not show.
    const timeline: string[] = []
    await page.addInitScript(() => localStorage.setItem('seedpod.debug', '1'))
    page.on('console', (m) => void (m.type() === 'debug' && timeline.push(m.text())))
    const explained = <T,>(waiting: Promise<T>) =>
      waiting.catch(async (e: Error) => {
        const state = await page.evaluate(() => {
          const v = document.querySelector('video.player') as HTMLVideoElement
          const ranges = Array.from({ length: v.buffered.length }, (_, i) => [v.buffered.start(i), v.buffered.end(i)])
          return { readyState: v.readyState, height: v.videoHeight, time: v.currentTime, paused: v.paused, ranges, quality: document.querySelector('[data-quality]')?.getAttribute('data-quality') }
        })
        throw new Error(`${e.message}\nplayer: ${JSON.stringify(state)}\ntimeline:\n${timeline.slice(-80).join('\n')}`)
      })
    const shows = (label: string) => explained(page.locator(`[data-quality="${label}"]`).waitFor({ state: 'attached', timeout: 20_000 }))
    await page.goto(`${a.base}/videos/${video.id}`)
    const quality = page.getByLabel('Quality')
    await quality.waitFor()
    await playedPast(page, 1.5)
    expect(await quality.inputValue()).toBe('-1')
    await screenshot(page, 'watch-quality-phone')
    // The element is never reloaded: one source (hls.js's MediaSource), no new load.
    const src = await page.evaluate(() => {
      const v = document.querySelector('video.player') as HTMLVideoElement
      ;(window as unknown as { loads: number }).loads = 0
      v.addEventListener('emptied', () => (window as unknown as { loads: number }).loads++)
      return v.src
    })

    // Playing, switched to 240p (with the keyboard: Auto, Original, 240p): it goes on from where it was.
    const before = (await player(page)).time
    await quality.focus()
    await page.keyboard.press('ArrowDown')
    await page.keyboard.press('ArrowDown')
    expect(await quality.inputValue()).not.toBe('-1')
    await explained(showsHeight(page, 240))
    await shows('240p')
    await page.waitForFunction((t) => {
      const v = document.querySelector('video.player') as HTMLVideoElement
      return !v.paused && !v.seeking && v.currentTime > t
    }, before)

    // Paused, switched to 144p: still paused, at the same moment. The moment is just past the
    // start of the second segment, where the 240p fragment before it and the 144p one after it
    // overlap by a few frames: the player must say 144p there too.
    await page.evaluate(async () => {
      const v = document.querySelector('video.player') as HTMLVideoElement
      v.pause()
      v.currentTime = 2.05
      await new Promise((resolve) => v.addEventListener('seeked', resolve, { once: true }))
    })
    const pausedAt = (await player(page)).time
    await quality.selectOption({ label: '144p' })
    await shows('144p')
    const after = await player(page)
    expect(after.paused).toBe(true)
    expect(Math.abs(after.time - pausedAt)).toBeLessThan(0.1)
    expect(await page.evaluate(() => [(document.querySelector('video.player') as HTMLVideoElement).src, (window as unknown as { loads: number }).loads])).toEqual([src, 0])
    expect(errors).toEqual([])
    await context.close()
  }, TIMEOUT)

  test('a stream whose keyframes are off the grid (aligned: false) is not offered to Auto: Auto keeps below it, a pick plays it', async () => {
    const { page, errors, context } = await viewer(browser)
    // The original marked as off the grid, in the video the page asks the API for (on a
    // client-side navigation from the home page: it then has no video in its HTML).
    await page.route(`${a.base}/api/v1/videos/${video.id}`, async (route) => {
      const res = await route.fetch()
      const v = (await res.json()) as { streams: { rendition: number; aligned?: boolean }[] }
      for (const s of v.streams) if (s.rendition === 0) s.aligned = false
      await route.fulfill({ response: res, json: v })
    })
    // The tallest picture shown, from the start.
    await page.addInitScript(() => {
      const w = window as unknown as { tallest: number }
      w.tallest = 0
      document.addEventListener('resize', (e) => (w.tallest = Math.max(w.tallest, (e.target as HTMLVideoElement).videoHeight)), true)
    })
    await page.goto(`${a.base}/`)
    await page.locator('.card', { hasText: video.name }).getByRole('link').first().click()
    const menu = page.getByLabel('Quality')
    await menu.waitFor()
    // A desktop player, where Auto would take the original (see above; here within the clip's
    // 12 s): it plays the clip through below it.
    await playedPast(page, 11.5)
    expect(await menu.inputValue()).toBe('-1')
    const tallest = await page.evaluate(() => (window as unknown as { tallest: number }).tallest)
    expect(tallest).toBeGreaterThan(0)
    expect(tallest).toBeLessThan(360)
    expect((await menu.locator('option').allTextContents()).slice(1)).toEqual(['Original (360p)', '240p', '144p'])
    // From the start again: the viewer's pick plays the original.
    await page.evaluate(() => {
      const v = document.querySelector('video.player') as HTMLVideoElement
      v.currentTime = 0
      return v.play()
    })
    await menu.selectOption({ label: 'Original (360p)' })
    await showsHeight(page, 360)
    await page.locator('[data-quality="Original (360p)"]').waitFor({ state: 'attached' })
    expect(errors).toEqual([])
    await context.close()
  }, TIMEOUT)

  test("with the origin stopped, the mirror pod's watch page plays the video from its copy, and says so", async () => {
    const admin = await adminToken(b)
    await until(
      async () => {
        const r = (await (await fetch(`${b.base}/api/v1/videos/mirrors`, { headers: { authorization: `Bearer ${admin}` } })).json()) as { mirrors: OwnMirror[] }
        return r.mirrors.some((m) => m.video === video.id && m.state === 'ready')
      },
      30_000,
      'a ready copy at the mirror pod',
    )
    expect(indexIds(b)).toContain(video.id)
    await a.stop()

    // What a stopped pod leaves in the console: requests to it fail (the browser's own words).
    const unexpected = (errors: string[]) => errors.filter((e) => !/net::ERR_|WebSocket connection to/.test(e))

    // The page is there as soon as its HTML is (not waiting for its poster, which the mirror
    // pod would fetch from the origin): playback does not wait for it either.
    const open = async (opts?: { width: number; height: number; mobile: boolean }) => {
      const v = await viewer(browser, opts)
      // What the page fetched from the mirror pod's web seed: the video's bytes come from there.
      const fromMirror = { bytes: 0 }
      v.page.on('response', (r) => {
        if (r.url().startsWith(`${b.base}/static/webseed/`)) fromMirror.bytes += Number(r.headers()['content-length'] ?? 0)
      })
      await v.page.goto(`${b.base}/videos/${video.id}`, { waitUntil: 'domcontentloaded' })
      return { ...v, fromMirror }
    }
    const fromCopy = (page: Page) => page.getByRole('status').filter({ hasText: 'it plays from a copy another pod keeps' }).waitFor({ timeout: 20_000 })
    const desktop = await open()
    await desktop.page.getByRole('heading', { name: video.name }).waitFor()
    await playedPast(desktop.page, 1.5)
    await fromCopy(desktop.page)
    expect(desktop.fromMirror.bytes).toBeGreaterThan(0)
    await showsHeight(desktop.page, 360)
    await screenshot(desktop.page, 'watch-mirror')
    expect(unexpected(desktop.errors)).toEqual([])
    await desktop.context.close()

    // Worse than stopped: the origin's address takes connections and never answers (a hung
    // machine, a proxy in front of a dead pod). Nothing the player asks of it may hold it up.
    const port = Number(new URL(a.base).port)
    const hung = Bun.listen({ hostname: '127.0.0.1', port, socket: { data() {} } })
    try {
      const again = await open()
      await playedPast(again.page, 1.5)
      expect(unexpected(again.errors)).toEqual([])
      await again.context.close()

      const phone = await open(PHONE)
      await fromCopy(phone.page)
      await playedPast(phone.page, 1)
      expect(phone.fromMirror.bytes).toBeGreaterThan(0)
      await screenshot(phone.page, 'watch-mirror-phone')
      expect(unexpected(phone.errors)).toEqual([])
      await phone.context.close()
    } finally {
      hung.stop(true)
    }
  }, 60_000)
})
