/**
 * `seedpod storage migrate` while viewers watch, in headless Chromium, against a real
 * radosgw: one viewer opened the video while its files were in the pod's data folder, the
 * other while they were in the bucket; the files go to the bucket and back, and both keep
 * playing through it all, with no error on their pages.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { Browser, Page } from 'playwright-core'
import type { Video } from '../../src/videos/model'
import { makeClip } from '../helpers/clips'
import { netPod, restart, stopPods } from '../helpers/network'
import { childEnv, listTree, removeTempDirs, runCli, tempDir, type TestPod } from '../helpers/pods'
import { startRadosgw, type Radosgw } from '../helpers/radosgw'
import { uploadVideo, userToken } from '../helpers/videos'
import { launch, viewer } from './browser'

afterAll(removeTempDirs)

const BUCKET = 'seedpod-e2e-migrate'
const TIMEOUT = 120_000
let browser: Browser
let gw: Radosgw
let pod: TestPod
let video: Video

/** A short buffer: the players keep fetching all through the migrations. */
const PLAYER = { bufferSeconds: 6 }

beforeAll(async () => {
  let clip: string
  ;[browser, gw, clip] = await Promise.all([launch(), startRadosgw({ bucket: BUCKET }), makeClip(tempDir('seedpod-e2e-migrate-'), { seconds: 60 })])
  const local = await netPod({ transcoding: { enabled: false }, player: PLAYER })
  const res = await uploadVideo(local.base, await userToken(local), { file: Bun.file(clip), name: 'Moving while watched' })
  if (res.status !== 201) throw new Error(`upload: ${res.status} ${await res.text()}`)
  video = (await res.json()) as Video
  await local.stop()
  pod = await restart(local, {
    storage: gw.settings(BUCKET),
    transcoding: { enabled: false },
    player: PLAYER,
  })
}, TIMEOUT)

afterAll(async () => {
  await browser?.close()
  await stopPods()
  await gw?.stop()
}, 30_000)

const migrate = async (to: 's3' | 'local') => {
  const r = await runCli(['storage', 'migrate', '--to', to, '--data-dir', pod.config.dataDir], {
    cwd: pod.config.dataDir,
    env: childEnv(gw.env(BUCKET)),
  })
  if (r.code !== 0) throw new Error(`migrate --to ${to}: ${r.code} ${r.stderr}`)
}

const time = (page: Page) => page.evaluate(() => (document.querySelector('video.player') as HTMLVideoElement).currentTime)
/** Waits until the page's video has played `seconds` past where it is now. */
async function playsOn(page: Page, seconds: number): Promise<void> {
  const from = await time(page)
  await page.waitForFunction((t) => (document.querySelector('video.player') as HTMLVideoElement).currentTime > t, from + seconds, { timeout: 45_000 })
}
const videoFiles = () => listTree(pod.config.dataDir).filter((f) => /\.(mp4|m3u8)$/.test(f) && !f.startsWith('tmp/'))
const bucketKeys = async () => ((await gw.client().list({})).contents ?? []).map((c) => c.key)

describe('storage migrate in Chromium', () => {
  test('viewers who opened the video before and during the move keep playing while its files go to the bucket and back', async () => {
    const first = await viewer(browser)
    await first.page.goto(`${pod.base}/videos/${video.id}`)
    await playsOn(first.page, 2)
    await migrate('s3')
    expect(videoFiles()).toEqual([])
    expect(await bucketKeys()).toContain(`videos/${video.id}.mp4`)
    await playsOn(first.page, 4)

    // Opened while the files are in the bucket: its page names the bucket's URLs.
    const second = await viewer(browser)
    await second.page.goto(`${pod.base}/videos/${video.id}`)
    await playsOn(second.page, 2)
    await migrate('local')
    expect(await bucketKeys()).not.toContain(`videos/${video.id}.mp4`)
    expect(videoFiles()).toContain(`videos/${video.id}.mp4`)
    // Both play on past what they had buffered when the bucket's copy went.
    await Promise.all([playsOn(first.page, 10), playsOn(second.page, 10)])
    expect({ first: first.errors, second: second.errors }).toEqual({ first: [], second: [] })
    await first.context.close()
    await second.context.close()
  }, TIMEOUT)
})
