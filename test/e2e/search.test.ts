/**
 * The search page in Chromium (public/pages/Home.tsx): sort and scope change the results and
 * the address (which a reload keeps), a Japanese word is found inside a longer run, user text
 * is isolated for its direction, and a search that finds nothing says what to try. The index
 * is filled through the real VideoStore.upsert with this pod's videos and a friend's (no
 * files: the page lists what the index holds). Screenshots at 1366 and 390 wide, light and
 * dark, go to test-output/.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { Browser, Page } from 'playwright-core'
import { VideoStore } from '../../src/videos/store'
import { indexVideo } from '../helpers/index-videos'
import { removeTempDirs, startTestPod, type TestPod } from '../helpers/pods'
import { launch, screenshot, viewer } from './browser'

const TIMEOUT = 45_000
const FRIEND = { fingerprint: 'f'.repeat(64), url: 'http://friend.invalid' }

let browser: Browser
let pod: TestPod

/** Indexes a video of `origin`, made `minutes` after the first. */
function index(origin: { fingerprint: string; url: string }, n: number, name: string, uploader: string): void {
  const id = `search-e2e-${n}`
  const video = indexVideo(n, origin, { id, name, uploader })
  expect(new VideoStore(pod.running.pod.db).upsert(video, origin.url, Date.now())).toBe(true)
}

/** Dark, once the colours' transitions have run (a screenshot mid-way shows neither scheme). */
async function dark(page: Page): Promise<void> {
  await page.emulateMedia({ colorScheme: 'dark' })
  await page.evaluate(() => Promise.all(document.getAnimations().map((a) => a.finished)))
}

const titles = (page: Page) => page.locator('.card-title').allTextContents()
const params = (page: Page) => Object.fromEntries(new URL(page.url()).searchParams)

beforeAll(async () => {
  ;[browser, pod] = await Promise.all([launch(), startTestPod({ name: 'Search pod' })])
  const own = { fingerprint: pod.running.pod.identity.fingerprint, url: pod.running.pod.config.url }
  index(own, 1, 'Walk walk walk by the lake', 'Ana')
  index(FRIEND, 2, 'Beach walk at dawn', 'مروان الشريف')
  index(own, 3, 'City walk', 'Ana')
  index(FRIEND, 4, '夜景散歩の東京', 'たろう')
}, 30_000)

afterAll(async () => {
  await browser?.close()
  await pod?.stop()
  removeTempDirs()
}, 20_000)

describe('the search page', () => {
  test('sort and scope reorder and narrow the results, are kept in the address and survive a reload', async () => {
    const { page, errors, context } = await viewer(browser, { width: 1366, height: 900 })
    await page.goto(`${pod.base}/?q=walk`)
    await page.getByRole('status').filter({ hasText: '3 videos match' }).waitFor()
    // Best match first: the title that says "walk" three times.
    expect((await titles(page))[0]).toBe('Walk walk walk by the lake')
    const sort = page.getByLabel('Sort by')
    expect(await sort.inputValue()).toBe('relevance')

    await sort.selectOption({ label: 'Title A–Z' })
    await page.waitForURL((u) => u.searchParams.get('sort') === 'name')
    await page.waitForFunction(() => document.querySelector('.card-title')?.textContent === 'Beach walk at dawn')
    expect(await titles(page)).toEqual(['Beach walk at dawn', 'City walk', 'Walk walk walk by the lake'])

    await sort.selectOption({ label: 'Newest' })
    await page.waitForURL((u) => u.searchParams.get('sort') === '-createdAt')
    await page.waitForFunction(() => document.querySelector('.card-title')?.textContent === 'City walk')
    expect(await titles(page)).toEqual(['City walk', 'Beach walk at dawn', 'Walk walk walk by the lake'])

    // This pod only: the friend's video goes.
    await page.getByRole('radio', { name: 'This pod' }).check()
    await page.waitForURL((u) => u.searchParams.get('scope') === 'local')
    await page.getByRole('status').filter({ hasText: '2 videos match “walk” on this pod' }).waitFor()
    expect(await titles(page)).toEqual(['City walk', 'Walk walk walk by the lake'])
    expect(params(page)).toEqual({ q: 'walk', sort: '-createdAt', scope: 'local' })
    await screenshot(page, 'search-1366-light')
    await dark(page)
    await screenshot(page, 'search-1366-dark')

    // A shared link, or a reload: the same search, sort and scope.
    await page.reload()
    await page.getByRole('status').filter({ hasText: '2 videos match' }).waitFor()
    expect(await titles(page)).toEqual(['City walk', 'Walk walk walk by the lake'])
    expect(await sort.inputValue()).toBe('-createdAt')
    expect(await page.getByRole('radio', { name: 'This pod' }).isChecked()).toBe(true)
    expect(await page.getByLabel('Search videos').inputValue()).toBe('walk')
    expect(errors.filter((e) => e.startsWith('pageerror'))).toEqual([])
    await context.close()
  }, TIMEOUT)

  test('a Japanese word inside a longer run is found; names of users are isolated for their direction', async () => {
    const { page, context } = await viewer(browser, { width: 390, height: 844, mobile: true })
    await page.goto(`${pod.base}/`)
    await page.getByLabel('Search videos').fill('散歩')
    await page.waitForURL((u) => u.searchParams.get('q') === '散歩')
    await page.getByRole('status').filter({ hasText: '1 video matches' }).waitFor()
    expect(await titles(page)).toEqual(['夜景散歩の東京'])

    await page.getByLabel('Search videos').fill('beach')
    await page.getByRole('status').filter({ hasText: '1 video matches “beach”' }).waitFor()
    // The Arabic name is a <bdi>: its right-to-left run does not pull the date after it in.
    const uploader = page.locator('.card-meta .uploader')
    expect(await uploader.evaluate((el) => [el.tagName, el.textContent])).toEqual(['BDI', 'مروان الشريف'])
    expect(await page.locator('.card-title').getAttribute('dir')).toBe('auto')
    await screenshot(page, 'search-390-light')
    await dark(page)
    await screenshot(page, 'search-390-dark')
    await context.close()
  }, TIMEOUT)

  test('a search that finds nothing suggests the spelling, the whole network, then the newest videos', async () => {
    const { page, context } = await viewer(browser, { width: 390, height: 844, mobile: true })
    await page.goto(`${pod.base}/?q=${encodeURIComponent('夜景')}&scope=local`)
    await page.getByRole('status').filter({ hasText: 'No videos match “夜景” on this pod.' }).waitFor()
    await page.getByText('Check the spelling').waitFor()
    await screenshot(page, 'search-empty-390-light')
    await page.getByRole('button', { name: 'Search the whole network' }).click()
    // On the network, the friend's video is there.
    await page.getByRole('status').filter({ hasText: '1 video matches “夜景” on the network' }).waitFor()
    expect(params(page)).toEqual({ q: '夜景' })

    await page.getByLabel('Search videos').fill('nothing like this')
    await page.getByRole('status').filter({ hasText: 'No videos match “nothing like this” on the network.' }).waitFor()
    // Already the whole network: no button for it.
    expect(await page.getByRole('button', { name: 'Search the whole network' }).count()).toBe(0)
    await dark(page)
    await screenshot(page, 'search-empty-390-dark')
    await page.getByRole('button', { name: 'See the newest videos' }).click()
    await page.waitForURL((u) => u.pathname === '/' && u.search === '')
    await page.getByRole('status').filter({ hasText: '4 videos on the network' }).waitFor()
    expect(await titles(page)).toEqual(['夜景散歩の東京', 'City walk', 'Beach walk at dawn', 'Walk walk walk by the lake'])
    await context.close()
  }, TIMEOUT)
})
