/**
 * The pages in a real browser (headless Chromium, test/e2e/browser.ts): register and log in,
 * upload a clip (and the errors for a file too large or not a video), watch it as viewer A
 * (it plays and seeks), then as viewer B while A stays (B gets bytes from A over WebRTC), and
 * as viewer C on a friend pod (a remote video: same swarm), search, the admin page with the
 * friend and its score, a pod that asks for a login first, the basics of keyboard and
 * screen-reader use, and a friend's video while its pod is down (a notice, then it plays once
 * the pod is back). A screenshot of each page, desktop and phone, goes to test-output/.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { writeFileSync } from 'node:fs'
import { connect, type Socket } from 'node:net'
import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import type { Video } from '../../src/videos/model'
import { makeClip } from '../helpers/clips'
import { indexIds, netPod, restart, stopPods, until } from '../helpers/network'
import { removeTempDirs, tempDir, type TestPod } from '../helpers/pods'
import { launch, logIn, PASSWORD, screenshot, viewer } from './browser'
import { valueOf } from '../helpers/results'


afterAll(removeTempDirs)

const PHONE = { width: 390, height: 844, mobile: true }
/** Per test: a browser step can take seconds on a loaded machine; the whole file stays well under 90 s. */
const TIMEOUT = 45_000

let browser: Browser
let origin: TestPod
let friend: TestPod
let clip: string
let video: Video
/** Viewer A stays on the watch page from its test on, as the seed for B and C. */
let viewerA: Page




/** The P2P numbers the watch page shows (data attributes of its stats panel). */
async function stats(page: Page): Promise<{ peers: number; fromPeers: number; fromWebseed: number; uploaded: number; mode: string }> {
  return page.evaluate(() => {
    const d = (document.querySelector('[data-testid=p2p-stats]') as HTMLElement).dataset
    return { peers: Number(d.peers), fromPeers: Number(d.fromPeers), fromWebseed: Number(d.fromWebseed), uploaded: Number(d.uploaded), mode: d.mode ?? '' }
  })
}

/** Waits until the page's <video> has played past `seconds`. */
function playedPast(page: Page, seconds: number, timeout = 20_000) {
  return page.waitForFunction((s) => (document.querySelector('video') as HTMLVideoElement | null)?.currentTime! > s, seconds, { timeout })
}


/** An upload whose head and first bytes are sent, and the rest never: it stays in flight until the socket is destroyed. */
function holdUpload(port: number, token: string): Socket {
  const socket = connect({ host: '127.0.0.1', port })
  socket.on('error', () => undefined)
  socket.write(`POST /api/v1/videos HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\nContent-Type: multipart/form-data; boundary=xx\r\nContent-Length: 1000000\r\n\r\n--xx\r\n`)
  return socket
}

beforeAll(async () => {
  const dir = tempDir('seedpod-e2e-')
  ;[browser, origin, friend, clip] = await Promise.all([
    launch(),
    netPod({ registrations: 'open', name: 'Origin pod', maxUploadBytes: 4 * 1024 * 1024 }),
    netPod({ registrations: 'open', name: 'Friend pod' }),
    // The clip the way the issue says: 10 s of test pattern and tone, H.264/AAC, faststart.
    makeClip(dir, { seconds: 10, faststart: true, name: 'test-pattern.mp4' }),
  ])
  const made = await origin.running.pod.making.makeFriends([friend.base])
  expect(made.map((r) => r.status)).toEqual(['added'])
  valueOf(await origin.running.pod.accounts.create('root', PASSWORD, 'admin'))
}, 60_000)

// The browser goes first: the pods would otherwise wait for its connections.
afterAll(async () => {
  await browser?.close()
  await stopPods()
}, 20_000)

describe('the pages in Chromium', () => {
  test('register, log out and log in through the pages', async () => {
    const { page, errors, context } = await viewer(browser)
    await page.goto(`${origin.base}/register`)
    await screenshot(page, 'register')
    await page.getByLabel('User name').fill('alice')
    await page.getByLabel('Password').fill('short')
    await page.getByRole('button', { name: 'Create account' }).click()
    await expect(page.getByRole('alert').textContent()).resolves.toContain('at least 10 characters')
    await page.getByLabel('Password').fill(PASSWORD)
    await page.getByRole('button', { name: 'Create account' }).click()
    await page.locator('.whoami', { hasText: 'alice' }).waitFor()
    expect(new URL(page.url()).pathname).toBe('/')

    await page.getByRole('button', { name: 'Log out' }).click()
    await page.getByRole('link', { name: 'Log in' }).waitFor()
    await page.goto(`${origin.base}/login`)
    await page.getByLabel('User name').fill('alice')
    await page.getByLabel('Password').fill('wrong password!!')
    await page.getByRole('button', { name: 'Log in' }).click()
    await expect(page.getByRole('alert').textContent()).resolves.toBe('Wrong user name or password.')
    await screenshot(page, 'login')
    await page.getByLabel('Password').fill(PASSWORD)
    await page.getByRole('button', { name: 'Log in' }).click()
    await page.locator('.whoami', { hasText: 'alice' }).waitFor()
    expect(errors).toEqual([])
    await context.close()
  }, TIMEOUT)

  test('upload: a file too large or not a video (picked or dropped) is refused clearly; the clip is published', async () => {
    const { page, errors, context } = await viewer(browser)
    await logIn(page, origin.base, 'alice', '/upload')
    expect(new URL(page.url()).pathname).toBe('/upload')
    const dir = tempDir()
    const input = page.locator('#file-input')

    // Larger than the pod takes (4 MiB here): refused before sending.
    const big = join(dir, 'holiday.mp4')
    writeFileSync(big, new Uint8Array(5 * 1024 * 1024))
    await input.setInputFiles(big)
    await expect(page.getByRole('alert').textContent()).resolves.toContain('this pod takes videos up to 4.2 MB')
    // Not a video by its type: refused before sending.
    const text = join(dir, 'notes.txt')
    writeFileSync(text, 'not a video')
    await input.setInputFiles(text)
    await expect(page.getByRole('alert').textContent()).resolves.toContain('is not a video file')
    // Dropped on the drop zone: the same checks.
    await page.evaluate(() => {
      const dt = new DataTransfer()
      dt.items.add(new File(['just text'], 'readme.txt', { type: 'text/plain' }))
      document.querySelector('.dropzone')!.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }))
    })
    await expect(page.getByRole('alert').textContent()).resolves.toContain('“readme.txt” is not a video file')
    // Named like a video, but junk: the pod's 415, said plainly.
    const junk = join(dir, 'junk.mp4')
    writeFileSync(junk, crypto.getRandomValues(new Uint8Array(4096)))
    await input.setInputFiles(junk)
    await page.getByRole('button', { name: 'Upload' }).click()
    await expect(page.getByRole('alert').textContent()).resolves.toContain('not a video the pod can read')
    await screenshot(page, 'upload-error')

    // Two uploads of alice's still being sent (her share, uploads.perUser): the pod's 429, said plainly.
    const token = ((await (await fetch(`${origin.base}/api/v1/auth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'alice', password: PASSWORD }) })).json()) as { accessToken: string }).accessToken
    const held = [0, 1].map(() => holdUpload(origin.running.port, token))
    await until(() => origin.running.pod.videos.uploads.load().waiting === 2, 5000, 'two uploads held')
    await input.setInputFiles(junk)
    await page.getByRole('button', { name: 'Upload' }).click()
    await expect(page.getByRole('alert').textContent()).resolves.toMatch(/You already have as many uploads in progress as this pod takes from one person\. Wait for one of them to finish, then try this one again \(in about \d+ seconds?\)\./)
    await screenshot(page, 'upload-busy')
    // Broken off, they free her share.
    for (const socket of held) socket.destroy()
    await until(() => origin.running.pod.videos.uploads.load().waiting === 0, 5000, 'the held uploads released')

    await page.getByLabel('Name').fill('')
    await input.setInputFiles(clip)
    expect(await page.getByLabel('Name').inputValue()).toBe('test-pattern')
    await page.getByLabel('Name').fill('Test pattern with a tone')
    await page.getByLabel('Description').fill('Ten seconds of colour bars and a sine wave.')
    // The progress bar may come and go quickly on loopback: note that it was there.
    await page.evaluate(() => {
      const w = window as unknown as { sawProgress?: boolean }
      new MutationObserver(() => {
        if (document.querySelector('progress#upload-progress')) w.sawProgress = true
      }).observe(document.body, { childList: true, subtree: true })
    })
    await page.getByRole('button', { name: 'Upload' }).click()
    await page.getByRole('heading', { name: 'Video published' }).waitFor({ timeout: 30_000 })
    expect(await page.evaluate(() => (window as unknown as { sawProgress?: boolean }).sawProgress)).toBe(true)
    await screenshot(page, 'upload-done')
    const href = await page.getByRole('link', { name: 'Watch it' }).getAttribute('href')
    const id = decodeURIComponent(href!.split('/').pop()!)
    video = (await (await fetch(`${origin.base}/api/v1/videos/${id}`)).json()) as Video
    expect(video.name).toBe('Test pattern with a tone')
    expect(video.uploader).toBe('alice')
    expect(errors).toEqual([])
    await context.close()
  }, TIMEOUT)

  test('viewer A: the watch page plays the video and seeks', async () => {
    const { page, errors } = await viewer(browser)
    viewerA = page
    await page.goto(`${origin.base}/videos/${video.id}`)
    await page.getByRole('heading', { name: video.name }).waitFor()
    await playedPast(page, 1)
    await page.evaluate(() => {
      ;(document.querySelector('video') as HTMLVideoElement).currentTime = 7
    })
    await page.waitForFunction(() => {
      const v = document.querySelector('video') as HTMLVideoElement
      return !v.seeking && v.currentTime >= 7.2
    })
    // Alone in the swarm, A took the video from the web seed: all of it (ten seconds are
    // within its buffer ahead), each byte once.
    await page.waitForFunction((size) => Number(document.querySelector('[data-testid=p2p-stats]')?.getAttribute('data-from-webseed')) >= size, video.size!)
    const s = await stats(page)
    expect(s.fromWebseed).toBe(video.size!)
    await screenshot(page, 'watch-alone')
    expect(errors).toEqual([])
  }, TIMEOUT)

  test('viewer B, while A stays: B receives the video from A over WebRTC and plays it', async () => {
    const { page, errors, context } = await viewer(browser)
    await page.goto(`${origin.base}/videos/${video.id}`)
    await playedPast(page, 1)
    // All of it (ten seconds are within its buffer ahead), most from A: the web seed serves
    // only what A does not bring in time (the first piece, when the peers are still connecting).
    await page.waitForFunction((size) => {
      const d = (document.querySelector('[data-testid=p2p-stats]') as HTMLElement | null)?.dataset
      return Number(d?.fromPeers) + Number(d?.fromWebseed) >= size
    }, video.size!)
    const s = await stats(page)
    expect(s.peers).toBeGreaterThanOrEqual(1)
    expect(s.fromPeers).toBeGreaterThan(video.size! / 2)
    await until(async () => (await stats(viewerA)).uploaded >= video.size!, 5000, 'A to report what it sent')
    await screenshot(page, 'watch')
    expect(errors).toEqual([])
    await context.close()
  }, TIMEOUT)

  test("viewer C on a friend pod: the remote video plays, and C is in the same swarm as A", async () => {
    await until(() => indexIds(friend).includes(video.id), 5000, 'the video at the friend pod')
    const { page, errors, context } = await viewer(browser)
    await page.goto(`${friend.base}/videos/${video.id}`)
    await page.getByRole('heading', { name: video.name }).waitFor()
    expect(await page.locator('.watch-meta .pod-badge').textContent()).toContain(new URL(origin.base).host)
    await playedPast(page, 1)
    await page.waitForFunction(() => Number(document.querySelector('[data-testid=p2p-stats]')?.getAttribute('data-from-peers')) > 0)
    expect(errors).toEqual([])
    await context.close()
  }, TIMEOUT)

  test('the search box finds the video as you type', async () => {
    const { page, errors, context } = await viewer(browser)
    await page.goto(`${origin.base}/`)
    await page.locator('.card', { hasText: video.name }).waitFor()
    await screenshot(page, 'home')
    const search = page.getByRole('searchbox', { name: 'Search videos' })
    await search.pressSequentially('zebra', { delay: 20 })
    await page.getByRole('status').filter({ hasText: 'No videos match “zebra” on the network.' }).waitFor()
    await search.fill('')
    await search.pressSequentially('patt', { delay: 20 })
    await page.getByRole('status').filter({ hasText: '1 video matches' }).waitFor()
    expect(await page.locator('.card-title').allTextContents()).toEqual([video.name])
    expect(new URL(page.url()).search).toBe('?q=patt')
    await screenshot(page, 'search')
    // The result leads to the watch page (client-side), whose heading gets the focus.
    await page.getByRole('link', { name: video.name }).click()
    await page.waitForFunction(() => document.activeElement?.id === 'page-title')
    expect(errors).toEqual([])
    await context.close()
  }, TIMEOUT)

  test('the admin page lists the friend pod with URL, score, state, queue and a score chart; make friends and quit are there', async () => {
    const { page, errors, context } = await viewer(browser)
    await logIn(page, origin.base, 'root', '/admin')
    const row = page.locator('tr', { hasText: friend.base })
    await row.waitFor()
    const score = Number(await row.locator('.score-value').textContent())
    const apiFriend = (await (await fetch(`${origin.base}/api/v1/friends`)).json()) as { friends: { url: string; score: number }[] }
    expect(score).toBe(apiFriend.friends.find((f) => f.url === friend.base)!.score)
    expect(score).toBeGreaterThanOrEqual(100)
    await expect(row.locator('svg.score-chart').getAttribute('aria-label')).resolves.toContain('Score of Friend pod over time')
    await expect(row.locator('.state').textContent()).resolves.toBe('active')
    await page.getByRole('button', { name: 'Make friends' }).waitFor()
    await page.getByRole('button', { name: 'Quit the network…' }).waitFor()
    await screenshot(page, 'admin')

    // A bad URL is caught before asking the pod.
    await page.getByLabel('Pod URLs, one per line').fill('not-a-url')
    await page.getByRole('button', { name: 'Make friends' }).click()
    await expect(page.getByRole('alert').textContent()).resolves.toContain('is not a pod URL')

    // A plain user is told the page is for admins.
    await page.getByRole('button', { name: 'Log out' }).click()
    await logIn(page, origin.base, 'alice', '/admin')
    await page.getByText('This page is for the pod’s admins.').waitFor()
    expect(errors).toEqual([])
    await context.close()
  }, TIMEOUT)

  test('a pod with requireLoginToWatch asks for a login before showing videos', async () => {
    const gated = await netPod({ requireLoginToWatch: true, name: 'Members only' })
    const { page, errors, context } = await viewer(browser)
    await page.goto(`${gated.base}/`)
    await page.getByText('log in to watch').waitFor()
    expect(new URL(page.url()).pathname).toBe('/login')
    expect(new URL(page.url()).searchParams.get('next')).toBe('/')
    expect(errors).toEqual([])
    await context.close()
  }, TIMEOUT)

  test('keyboard and screen readers: skip link first, every control labelled, images with alt, focus visible', async () => {
    const { page, context } = await viewer(browser)
    for (const path of ['/', `/videos/${video.id}`, '/upload', '/login', '/register']) {
      await page.goto(origin.base + path)
      await page.locator('#page-title').waitFor()
      await page.keyboard.press('Tab')
      expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Skip to content')
      const unlabelled = await page.evaluate(() =>
        [...document.querySelectorAll('input:not([type=hidden]), textarea, select, button, a[href], video')]
          .filter((el) => {
            const e = el as HTMLInputElement
            const named = e.labels?.length || el.getAttribute('aria-label') || el.getAttribute('aria-labelledby') || el.textContent?.trim()
            return !named
          })
          .map((el) => el.outerHTML.slice(0, 80)),
      )
      expect(unlabelled).toEqual([])
      expect(await page.locator('img:not([alt])').count()).toBe(0)
      expect(await page.locator('h1').count()).toBe(1)
    }
    await context.close()
  }, TIMEOUT)

  test('phone-sized screens: every page fits the width (screenshots)', async () => {
    const { page, context } = await viewer(browser, PHONE)
    await logIn(page, origin.base, 'root', '/')
    for (const [name, path] of [
      ['home', '/'],
      ['watch', `/videos/${video.id}`],
      ['upload', '/upload'],
      ['admin', '/admin'],
      ['login', '/login'],
    ] as const) {
      await page.goto(origin.base + path)
      await page.locator('#page-title').waitFor()
      if (name === 'admin') await page.locator('svg.score-chart').first().waitFor()
      if (name === 'watch') await playedPast(page, 0.5)
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)
      expect({ name, overflow }).toEqual({ name, overflow: 0 })
      await screenshot(page, `phone-${name}`)
    }
    await context.close()
  }, TIMEOUT)

  test("a friend's video whose pod is down (no copy anywhere): the page says so within seconds, and plays once the pod is back", async () => {
    await viewerA.context().close()
    await origin.stop()
    const { page, context } = await viewer(browser)
    const t0 = Date.now()
    await page.goto(`${friend.base}/videos/${video.id}`, { waitUntil: 'domcontentloaded' })
    await page.getByRole('status').filter({ hasText: 'None of the pods or viewers that have this video answer right now' }).waitFor({ timeout: 10_000 })
    expect(Date.now() - t0).toBeLessThan(10_000)
    await screenshot(page, 'watch-unreachable')
    // The pod comes back (same data, same address): the page, still trying, plays.
    origin = await restart(origin)
    await playedPast(page, 1, 30_000)
    await page.getByRole('status').filter({ hasText: 'None of the pods' }).waitFor({ state: 'detached', timeout: 10_000 })
    await context.close()
  }, 60_000)
})
