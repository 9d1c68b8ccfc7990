/**
 * The upgrade check: a data folder of the release before streams (commit d369429, built and
 * run by this test: test/helpers/old-release.ts) with three 40 s videos and their 144p
 * renditions, as that release made them (files, no streams):
 *  - an H.264/AAC MP4 with a keyframe every 3 s (not on the renditions' 2 s grid),
 *  - an H.264/AAC MP4 with a keyframe every 2 s,
 *  - a WebM with VP8 and Vorbis (no MP4 carries Vorbis: it cannot be remuxed).
 * The current pod starts on it and re-packages them in the background (src/transcoding/repackage.ts):
 * first with `transcoding.local` off, so that only the remuxes run and the transcodes wait
 * (meanwhile the WebM plays by its file); then restarted with it on, it finishes the queued
 * work. Then every video has streams, the master playlist lists them, a friend made in
 * between has learned them (`video.update`), and each plays in Chromium with bounded bytes,
 * its Quality menu listing its streams.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { Browser, Page } from 'playwright-core'
import type { RepackProgress, TranscodeJob } from '../../src/transcoding/queue'
import type { Video } from '../../src/videos/model'
import type { Stream } from '../../src/videos/streams'
import { makeClip, makeWebmClip } from '../helpers/clips'
import { netPod, restart, stopPods, until } from '../helpers/network'
import { makeOldData, OLD_PASSWORD, type OldData } from '../helpers/old-release'
import { removeTempDirs, tempDir, type TestPod } from '../helpers/pods'
import { launch, logIn, screenshot, viewer } from './browser'

afterAll(stopPods)
afterAll(removeTempDirs)

type Full = Omit<Video, 'streams'> & { streams?: Stream[]; transcoding?: TranscodeJob[] }

const SECONDS = 40
/** About 5 MB a video: many pieces of its torrent, so that what a viewer fetches can be far below the file. */
const KBPS = 1000
const BUFFER_SECONDS = 4
const settings = { transcoding: { resolutions: [144] }, player: { bufferSeconds: BUFFER_SECONDS } }

let browser: Browser
let old: OldData
let pod: TestPod
/** A friend of the upgraded pod, made while its re-packaging waits. */
let friend: TestPod
let token: string

const getVideo = async (id: string) => (await (await fetch(`${pod.base}/api/v1/videos/${id}`)).json()) as Full
const friendVideo = async (id: string) => {
  const res = await fetch(`${friend.base}/api/v1/videos/${id}`)
  return res.ok ? ((await res.json()) as Full) : undefined
}
const progress = async () => (await (await fetch(`${pod.base}/api/v1/videos/repackaging`, { headers: { authorization: `Bearer ${token}` } })).json()) as RepackProgress

/** Logs in as the old release's admin (the account survives the upgrade). */
async function apiToken(): Promise<string> {
  const res = await fetch(`${pod.base}/api/v1/auth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'alice', password: OLD_PASSWORD }) })
  expect(res.status).toBe(200)
  return ((await res.json()) as { accessToken: string }).accessToken
}

/**
 * Plays a video's watch page until `seconds` have played: the bytes the page fetched from
 * web seeds over the network (CDP: a response from the browser's cache costs nothing), and
 * the page.
 */
async function watch(id: string, seconds: number): Promise<{ page: Page; fetched: () => number; errors: string[]; close: () => Promise<void> }> {
  const { page, context, errors } = await viewer(browser)
  const cdp = await context.newCDPSession(page)
  await cdp.send('Network.enable')
  const urls = new Map<string, string>()
  let fetched = 0
  cdp.on('Network.requestWillBeSent', (e) => urls.set(e.requestId, e.request.url))
  cdp.on('Network.loadingFinished', (e) => {
    if (urls.get(e.requestId)?.includes('/static/webseed/')) fetched += e.encodedDataLength
  })
  await page.goto(`${pod.base}/videos/${id}`)
  await page.waitForFunction((s) => (document.querySelector('video.player') as HTMLVideoElement | null)?.currentTime! >= s, seconds, { timeout: 30_000 })
  return { page, fetched: () => fetched, errors, close: () => context.close() }
}

beforeAll(async () => {
  const dir = tempDir('seedpod-e2e-upgrade-')
  const clips = await Promise.all([
    makeClip(dir, { seconds: SECONDS, keyframeSeconds: 3, kbps: KBPS, name: 'every-3-s.mp4' }),
    makeClip(dir, { seconds: SECONDS, faststart: true, kbps: KBPS, name: 'every-2-s.mp4' }),
    makeWebmClip(dir, { seconds: SECONDS, kbps: KBPS, name: 'vorbis.webm' }),
  ])
  ;[browser, old] = await Promise.all([
    launch(),
    makeOldData(
      [
        { file: clips[0]!, name: 'Keyframes every 3 s' },
        { file: clips[1]!, name: 'Keyframes every 2 s' },
        { file: clips[2]!, name: 'VP8 and Vorbis' },
      ],
      [144],
    ),
  ])
}, 180_000)

afterAll(async () => {
  await browser?.close()
}, 20_000)

describe('a data folder of the release before streams', () => {
  test('with transcoding.local off, the remuxes run and the transcodes wait; the WebM plays by its file meanwhile', async () => {
    pod = await netPod({ dataDir: old.dataDir, port: old.port, url: old.url, ...settings, transcoding: { ...settings.transcoding, local: false } })
    token = await apiToken()
    const [mis, aligned, webm] = old.ids as [string, string, string]
    // Three package jobs (one per original) and the three 144p renditions made again.
    await until(async () => (await progress()).done === 3, 30_000, 'the package jobs')
    const p = await progress()
    expect(p).toMatchObject({ videos: 3, videosDone: 0, running: 0, failed: 0 })
    // Queued: the 144p renditions, and the top rendition of the misaligned MP4 and of the WebM.
    expect(p.queued).toBe(5)
    expect(p.progress).toBeCloseTo(3 / 8, 5)
    // The MP4s are streams now; their keyframes say whether Auto may use them.
    const a = await getVideo(mis)
    expect(a.streams!.map((s) => [s.rendition, s.aligned])).toEqual([[0, false]])
    expect((await getVideo(aligned)).streams!.map((s) => [s.rendition, s.aligned])).toEqual([[0, true]])
    // The stream took the original's place: the old torrent is gone, the new one names the stream.
    expect(a.infoHash).toBe(a.streams![0]!.infoHash)
    expect(a.size).toBe(a.streams![0]!.size)
    const w = await getVideo(webm)
    expect(w.streams).toBeUndefined()
    expect(w.webseedUrls[0]).toEndWith(`${webm}.webm`)
    expect(w.transcoding!.map((j) => [j.kind, j.resolution, j.state])).toEqual([
      ['package', 0, 'done'],
      ['transcode', 144, 'queued'],
      ['transcode', 240, 'queued'],
    ])
    // Until its streams are ready, the WebM plays as before: by its file.
    const watching = await watch(webm, 2)
    expect(watching.errors).toEqual([])
    await watching.close()
    // A friend made now learns the videos as they are: the WebM without streams.
    friend = await netPod()
    await friend.running.pod.making.makeFriends([pod.base])
    const known = await until(async () => (await friendVideo(webm))?.id, 10_000, 'the videos at the friend')
    expect(known).toBe(webm)
    expect((await friendVideo(webm))!.streams).toBeUndefined()
    await pod.stop()
  }, 90_000)

  test('restarted with transcoding on, it finishes: every video has streams, listed in its master playlist', async () => {
    pod = await restart(pod, settings)
    token = await apiToken()
    const done = await until(async () => {
      const p = await progress()
      return p.queued + p.running === 0 ? p : undefined
    }, 120_000, 're-packaging')
    expect(done).toMatchObject({ videos: 3, videosDone: 3, done: 8, failed: 0, progress: 1 })
    const expected: Record<string, [number, number, boolean][]> = {
      // Rendition, height, aligned: the misaligned original is kept (manual choice only) beside an aligned top rendition.
      [old.ids[0]!]: [[0, 240, false], [144, 144, true], [240, 240, true]],
      [old.ids[1]!]: [[0, 240, true], [144, 144, true]],
      [old.ids[2]!]: [[144, 144, true], [240, 240, true]],
    }
    for (const id of old.ids) {
      const v = await getVideo(id)
      expect(v.streams!.map((s) => [s.rendition, s.height, s.aligned] as const).sort((x, y) => x[0] - y[0])).toEqual(expected[id]!)
      const master = await (await fetch(v.masterPlaylistUrl!)).text()
      expect(master.match(/#EXT-X-STREAM-INF:/g)).toHaveLength(v.streams!.length)
      for (const s of v.streams!) {
        expect(master).toContain(`${s.rendition === 0 ? 'original' : s.rendition}.m3u8`)
        const playlist = await fetch(s.playlistUrl)
        expect(playlist.status).toBe(200)
        expect(await playlist.text()).toContain('#EXT-X-ENDLIST')
      }
      // The friend was told (video.update): its index has the same streams, alignment and all.
      const there = await until(async () => {
        const f = await friendVideo(id)
        return f?.streams?.length === v.streams!.length ? f : undefined
      }, 10_000, `the streams of ${v.name} at the friend`)
      expect(there.streams!.map((s) => [s.rendition, s.infoHash, s.aligned])).toEqual(v.streams!.map((s) => [s.rendition, s.infoHash, s.aligned]))
      expect(there.infoHash).toBe(v.infoHash!)
    }
  }, 150_000)

  test('in Chromium each plays with bounded bytes, and its Quality menu lists its streams', async () => {
    for (const id of old.ids) {
      const v = await getVideo(id)
      const watching = await watch(id, 6)
      // 6 s played of 40, at most BUFFER_SECONDS (and a segment) ahead: not the file.
      const fetched = watching.fetched()
      expect(fetched).toBeGreaterThan(0)
      expect(fetched, `${v.name}: ${fetched} bytes fetched of a ${v.size}-byte file`).toBeLessThan(v.size! * 0.5)
      const options = await watching.page.locator('select#quality option').allTextContents()
      expect(options).toHaveLength(v.streams!.length + 1)
      expect(options[0]).toStartWith('Auto')
      for (const s of v.streams!) expect(options.some((o) => o.includes(`${s.height}p`))).toBe(true)
      expect(watching.errors).toEqual([])
      await watching.close()
    }
  }, 120_000)

  test("the admin page shows the re-packaging done, and each video's jobs", async () => {
    const { page, context, errors } = await viewer(browser)
    await logIn(page, pod.base, 'alice', '/admin')
    const section = page.locator('section.repackaging[data-state="done"]')
    await section.waitFor()
    expect(await section.locator('.job-head').textContent()).toContain('3 of 3 videos ready')
    expect(await section.locator('progress').getAttribute('value')).toBe('100')
    // The package jobs are in the transcoding list too, as the stream of the original.
    expect(await page.locator('.job[data-resolution="0"] .job-head strong').first().textContent()).toBe('stream of the original')
    await screenshot(page, 'admin-repackaging')
    expect(errors).toEqual([])
    await context.close()
  }, 60_000)
})
