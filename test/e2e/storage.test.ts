/**
 * A pod keeping its videos in a bucket (a real radosgw), in headless Chromium: the watch
 * page plays the video with its bytes from the bucket, while the pod's own disk holds no
 * video file; the admin page shows the storage, its outage while radosgw is stopped, and its
 * return.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { Browser } from 'playwright-core'
import type { Video } from '../../src/videos/model'
import { makeClip } from '../helpers/clips'
import { netPod, stopPods } from '../helpers/network'
import { listTree, removeTempDirs, tempDir, type TestPod } from '../helpers/pods'
import { startRadosgw, type Radosgw } from '../helpers/radosgw'
import { movedToBucket, uploadVideo, userToken } from '../helpers/videos'
import { launch, logIn, PASSWORD, screenshot, viewer } from './browser'
import { valueOf } from '../helpers/results'

afterAll(removeTempDirs)

const BUCKET = 'seedpod-e2e'
const TIMEOUT = 60_000
let browser: Browser
let gw: Radosgw
let pod: TestPod
let video: Video

beforeAll(async () => {
  let clip: string
  ;[browser, gw, clip] = await Promise.all([launch(), startRadosgw({ bucket: BUCKET }), makeClip(tempDir('seedpod-e2e-storage-'), { seconds: 6, faststart: true })])
  pod = await netPod({
    storage: gw.settings(BUCKET),
    transcoding: { enabled: false },
  })
  valueOf(await pod.running.pod.accounts.create('root', PASSWORD, 'admin'))
  const res = await uploadVideo(pod.base, await userToken(pod), { file: Bun.file(clip), name: 'From the bucket' })
  if (res.status !== 201) throw new Error(`upload: ${res.status} ${await res.text()}`)
  video = (await res.json()) as Video
  await movedToBucket(pod)
}, 120_000)

afterAll(async () => {
  await browser?.close()
  await stopPods()
  await gw?.stop()
}, 30_000)

describe('S3 storage in Chromium', () => {
  test('the watch page plays the video from the bucket; the pod has no video file on its disk', async () => {
    const { page, errors, context } = await viewer(browser)
    const fromBucket: string[] = []
    page.on('request', (r) => {
      if (r.url().startsWith(`${gw.endpoint}/${BUCKET}/videos/${video.id}.mp4`)) fromBucket.push(r.url())
    })
    await page.goto(`${pod.base}/videos/${video.id}`)
    await page.waitForFunction(() => (document.querySelector('video.player') as HTMLVideoElement | null)?.currentTime! > 3, null, { timeout: 30_000 })
    expect(fromBucket.length).toBeGreaterThan(0)
    expect(listTree(pod.config.dataDir).filter((f) => /\.(mp4|webm|m3u8)$/.test(f))).toEqual([])
    await screenshot(page, 'storage-watch')
    expect(errors).toEqual([])
    await context.close()
  }, TIMEOUT)

  test('the admin page shows the bucket, its outage while radosgw is stopped, and its return', async () => {
    const { page, context } = await viewer(browser)
    await logIn(page, pod.base, 'root', '/admin')
    const section = page.getByRole('region', { name: 'Storage' })
    await section.getByText(BUCKET).waitFor()
    await section.locator('.storage-state[data-state="ok"]').waitFor()
    await gw.stopGateway()
    try {
      await section.locator('.storage-state[data-state="unavailable"]').waitFor({ timeout: 20_000 })
      expect(await section.locator('.storage-state').textContent()).toContain(gw.endpoint)
      await screenshot(page, 'storage-admin-unavailable')
    } finally {
      await gw.startGateway()
    }
    await section.locator('.storage-state[data-state="ok"]').waitFor({ timeout: 20_000 })
    await context.close()
  }, TIMEOUT)
})
