/**
 * A friend's copy of a video's streams, played in headless Chromium with the origin stopped:
 * pod B keeps a copy of every stream (a 3-minute 720p video, about 2 Mbit/s, with 240p and
 * 480p renditions) of pod A's video; A stops; a viewer opens the video's page at B.
 *  - It plays from the copy, bounded: after 20 s, what it played plus its buffer ahead
 *    (player.bufferSeconds), not the file.
 *  - Its quality adapts without reloading the element: down on a 1.5 Mbit/s link, up again
 *    when the link is fast.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { Browser } from 'playwright-core'
import type { OwnMirror } from '../../actors/redundancy'
import type { Video } from '../../src/videos/model'
import type { Stream } from '../../src/videos/streams'
import { adminToken, netPod, stopPods, until } from '../helpers/network'
import { removeTempDirs, tempDir, type TestPod } from '../helpers/pods'
import { uploadVideo, userToken } from '../helpers/videos'
import { launch, screenshot, viewer } from './browser'
import { longClip, playAdaptively } from './playback'

afterAll(stopPods)
afterAll(removeTempDirs)

const BUFFER_SECONDS = 12
const TIMEOUT = 120_000

type Full = Omit<Video, 'streams'> & { streams: Stream[] }

let browser: Browser
let b: TestPod
let video: Full

beforeAll(async () => {
  let a: TestPod
  let clip: string
  ;[browser, a, b, clip] = await Promise.all([
    launch(),
    netPod({ transcoding: { resolutions: [240, 480], concurrency: 2 } }),
    netPod({ redundancy: { enabled: true, budgetBytes: 500_000_000 }, player: { bufferSeconds: BUFFER_SECONDS } }),
    longClip(tempDir('seedpod-e2e-mirror-')),
  ])
  await b.running.pod.making.makeFriends([a.base])
  const res = await uploadVideo(a.base, await userToken(a), { file: Bun.file(clip), name: 'Kept by a friend' })
  if (res.status !== 201) throw new Error(`upload: ${res.status} ${await res.text()}`)
  const id = ((await res.json()) as Video).id
  video = await until(async () => {
    const v = (await (await fetch(`${a.base}/api/v1/videos/${id}`)).json()) as Full
    return v.streams?.length === 3 ? v : undefined
  }, 240_000, 'the renditions')
  // B keeps every stream, and knows it does.
  const admin = { authorization: `Bearer ${await adminToken(b)}` }
  await until(async () => {
    const { mirrors } = (await (await fetch(`${b.base}/api/v1/videos/mirrors`, { headers: admin })).json()) as { mirrors: OwnMirror[] }
    return mirrors.filter((m) => m.video === id && m.state === 'ready').length === 3
  }, 60_000, 'a copy of every stream')
  await until(async () => {
    const v = (await (await fetch(`${b.base}/api/v1/videos/${id}`)).json()) as Full
    return v.streams.length === 3 && v.streams.every((s) => s.playlistUrls.includes(`${b.base}/static/hls/${id}/${s.rendition === 0 ? 'original' : s.height}.m3u8`))
  }, 10_000, 'the copy listed at B')
  await a.stop()
}, 360_000)

afterAll(async () => {
  await browser?.close()
}, 20_000)

describe("a friend's copy in Chromium, the origin stopped", () => {
  test('plays from the copy: bounded bytes after 20 s; the quality goes down on a 1.5 Mbit/s link and up again, never reloading the element', async () => {
    const top = video.streams.find((s) => s.height === 720)!
    // The page's quick start is the copy's file, not the stopped origin's.
    const html = await (await fetch(`${b.base}/videos/${video.id}`)).text()
    expect(/<video id="seedpod-quick"[^>]*>/.exec(html)?.[0]).toContain(`src="${b.base}/static/webseed/${video.id}.240.mp4?head=`)

    const { page, context, errors } = await viewer(browser)
    // From the copy alone: 20 s played, a small part of the 3 minutes; down on the 1.5 Mbit/s link, up again once it is fast.
    await playAdaptively(page, context, `${b.base}/videos/${video.id}`, {
      bufferSeconds: BUFFER_SECONDS,
      topBytes: top.size,
      timeoutMs: TIMEOUT / 2,
      throttled: async () => void (await screenshot(page, 'watch-mirror-streams-throttled')),
    })
    // What a stopped pod leaves in the console: requests to it fail (the browser's own words).
    expect(errors.filter((e) => !/net::ERR_|WebSocket connection to/.test(e))).toEqual([])
    await context.close()
  }, TIMEOUT * 2)
})
