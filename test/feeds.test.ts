/**
 * The RSS feeds (src/feeds/) as their consumers read them: a real feed parser (npm
 * rss-parser) reads the pod's, the network's and each uploader's feed, and ffprobe reads each
 * enclosure (an MP4 a podcast app plays, never a .torrent). Two real pods on loopback, friends:
 * A with an MP4 and a WebM (whose enclosure is its MP4 rendition at its own height) by ada and an MP4 by bob,
 * B with one MP4 by carol.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import Parser from 'rss-parser'
import { FEED_ITEMS } from '../src/feeds/routes'
import type { Video } from '../src/videos/model'
import { makeClip, makeWebmClip } from './helpers/clips'
import { indexIds, netPod, publish, stopPods, until } from './helpers/network'
import { removeTempDirs, tempDir, type TestPod } from './helpers/pods'
import { uploadVideo, userToken } from './helpers/videos'

afterAll(stopPods)

afterAll(removeTempDirs)

type Item = Parser.Item & { thumbnail?: { $: { url: string } }; itunes?: { image?: string }; creator?: string }
const parser = new Parser<Record<string, never>, Item>({ customFields: { item: [['media:thumbnail', 'thumbnail']] } })

let a: TestPod
let b: TestPod
const uploaded: Video[] = []

/** Uploads a clip as `user`; returns the video. */
async function upload(p: TestPod, token: string, file: string, name: string, description = ''): Promise<Video> {
  const res = await uploadVideo(p.base, token, { file: Bun.file(file), name, description })
  expect(res.status).toBe(201)
  return (await res.json()) as Video
}

/** Fetches and parses a feed, checking it is served as RSS. */
async function feed(url: string) {
  const res = await fetch(url)
  expect(res.status).toBe(200)
  expect(res.headers.get('content-type')).toBe('application/rss+xml;charset=utf-8')
  return parser.parseString(await res.text())
}

/** What ffprobe reads at a URL: its container and its streams' kinds. */
async function probe(url: string): Promise<{ format: string; kinds: string[]; duration: number }> {
  const proc = Bun.spawn(['ffprobe', '-v', 'error', '-show_entries', 'format=format_name,duration:stream=codec_type', '-of', 'json', url], { stdout: 'pipe', stderr: 'pipe' })
  const [out, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited])
  expect(code).toBe(0)
  const json = JSON.parse(out) as { format: { format_name: string; duration: string }; streams: { codec_type: string }[] }
  return { format: json.format.format_name, kinds: json.streams.map((s) => s.codec_type).sort(), duration: Number(json.format.duration) }
}

/** Checks every item of a feed: its fields, and an enclosure that ffprobe plays as MP4. */
async function checkItems(items: Item[], videos: Video[], base: string) {
  expect(items.map((i) => i.title)).toEqual(videos.map((v) => v.name))
  for (const [i, item] of items.entries()) {
    const v = videos[i]!
    expect(item.link).toBe(`${base}/videos/${v.id}`)
    expect(item.guid).toBe(item.link)
    expect(new Date(item.pubDate!).getTime()).toBe(Math.floor(Date.parse(v.createdAt) / 1000) * 1000)
    expect(item.content ?? '').toBe(v.description)
    expect(item.creator).toBe(`${v.uploader}@${new URL(v.podUrl).host}`)
    // Thumbnails come through the pod of the feed, friends' too.
    const thumbnail = `${base}${new URL(v.thumbnailUrl!).pathname}`
    expect(item.thumbnail?.$.url).toBe(thumbnail)
    expect(item.itunes?.image).toBe(thumbnail)
    expect((await fetch(thumbnail)).headers.get('content-type')).toBe('image/jpeg')
    const enclosure = item.enclosure!
    expect(enclosure.type).toBe('video/mp4')
    expect(enclosure.url).toEndWith('.mp4')
    expect(enclosure.url).not.toContain('.torrent')
    const head = await fetch(enclosure.url, { method: 'HEAD' })
    expect(head.status).toBe(200)
    expect(String(enclosure.length)).toBe(head.headers.get('content-length') ?? 'none')
    const probed = await probe(enclosure.url)
    expect(probed.format).toContain('mp4')
    expect(probed.kinds).toEqual(['audio', 'video'])
    expect(probed.duration).toBeGreaterThan(1.5)
  }
}

beforeAll(async () => {
  const dir = tempDir('seedpod-feeds-')
  const [mp4, webm] = await Promise.all([makeClip(dir, { seconds: 2 }), makeWebmClip(dir, { seconds: 2 })])
  ;[a, b] = await Promise.all([netPod({ name: 'Feed pod A', transcoding: { resolutions: [144] } }), netPod({ name: 'Feed pod B' })])
  await b.running.pod.making.makeFriends([a.base])
  const [ada, bob, carol] = await Promise.all([userToken(a, 'ada'), userToken(a, 'bob'), userToken(b, 'carol')])
  uploaded.push(await upload(a, ada, mp4, 'Tide <pools> & "rocks"', 'Low tide at <b>dawn</b> & the gulls.'))
  uploaded.push(await upload(a, ada, webm, 'Dunes in WebM', 'Sand.'))
  uploaded.push(await upload(a, bob, mp4, "Bob's pier"))
  uploaded.push(await upload(b, carol, mp4, 'Carol at the lighthouse', 'From B.'))
  // The WebM plays in podcast apps once its MP4 rendition is made.
  await until(async () => ((await (await fetch(`${a.base}/api/v1/videos/${uploaded[1]!.id}`)).json()) as Video).files?.length, 40_000, 'the rendition of the WebM')
  await until(() => indexIds(a).length === 4 && indexIds(b).length === 4, 20_000, 'both indexes with every video')
}, 90_000)

describe('feeds', () => {
  test("the pod's own feed: its videos newest first, each with an MP4 enclosure that ffprobe plays", async () => {
    const parsed = await feed(`${a.base}/feeds/videos.xml`)
    expect(parsed.title).toBe('Feed pod A: videos')
    expect(parsed.link).toBe(`${a.base}/`)
    expect(parsed.image?.url).toBe(`${a.base}/icon-512.png`)
    const own = uploaded.slice(0, 3).reverse()
    await checkItems(parsed.items, own, a.base)
    // The WebM's enclosure is its rendition, not the WebM; the description keeps its markup as text.
    expect(parsed.items[1]!.enclosure!.url).toMatch(/\.\d+\.mp4$/)
    expect(parsed.items[2]!.content).toBe('Low tide at <b>dawn</b> & the gulls.')
    expect(await (await fetch(`${a.base}/feeds/videos.xml?scope=local`)).text()).toBe(await (await fetch(`${a.base}/feeds/videos.xml`)).text())
  }, 60_000)

  test("the network's feed: this pod's and its friends' videos, newest first, the friend's enclosure at the friend", async () => {
    const parsed = await feed(`${a.base}/feeds/network.xml`)
    expect(parsed.title).toBe('Feed pod A: videos of the network')
    await checkItems(parsed.items, [...uploaded].reverse(), a.base)
    expect(parsed.items[0]!.enclosure!.url.startsWith(`${b.base}/`)).toBe(true)
    expect(await (await fetch(`${a.base}/feeds/videos.xml?scope=network`)).text()).toBe(await (await fetch(`${a.base}/feeds/network.xml`)).text())
    expect((await fetch(`${a.base}/feeds/videos.xml?scope=elsewhere`)).status).toBe(400)
  }, 60_000)

  test("each uploader's feed, for this pod's uploaders and its friends'; unknown ones are 404", async () => {
    const hostA = new URL(a.base).host
    const hostB = new URL(b.base).host
    const ada = await feed(`${a.base}/feeds/u/ada@${hostA}.xml`)
    expect(ada.title).toBe(`ada@${hostA} on Feed pod A`)
    await checkItems(ada.items, [uploaded[1]!, uploaded[0]!], a.base)
    await checkItems((await feed(`${a.base}/feeds/u/carol@${hostB}.xml`)).items, [uploaded[3]!], a.base)
    // carol is B's uploader, not A's; nobody knows a pod at another host; no such name.
    for (const handle of [`carol@${hostA}.xml`, 'ada@elsewhere.example.xml', `zed@${hostA}.xml`, 'ada.xml', `ada@${hostA}`]) {
      const res = await fetch(`${a.base}/feeds/u/${handle}`)
      expect(res.status).toBe(404)
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('not_found')
    }
  }, 60_000)

  test('the home page names the feeds', async () => {
    const html = await (await fetch(`${a.base}/`)).text()
    const links = [...html.matchAll(/<link rel="alternate" type="application\/rss\+xml" title="([^"]+)" href="([^"]+)">/g)].map((m) => [m[1], m[2]])
    expect(links).toEqual([
      ['Feed pod A: videos', `${a.base}/feeds/videos.xml`],
      ['Feed pod A: videos of the network', `${a.base}/feeds/network.xml`],
    ])
  })

  test(`a feed lists at most ${FEED_ITEMS} videos, the newest`, async () => {
    const c = await netPod({ name: 'Feed pod C' })
    const base = Date.parse('2026-01-01T00:00:00Z')
    for (let i = 0; i < FEED_ITEMS + 5; i++) publish(c, { name: `Video ${i}`, createdAt: new Date(base + i * 60_000).toISOString() })
    const parsed = await feed(`${c.base}/feeds/videos.xml`)
    expect(parsed.items.length).toBe(FEED_ITEMS)
    expect(parsed.items[0]!.title).toBe(`Video ${FEED_ITEMS + 4}`)
    expect(parsed.items.at(-1)!.title).toBe('Video 5')
  })

  test('a pod that wants a login before watching has no public feeds', async () => {
    const gated = await netPod({ name: 'Private pod', requireLoginToWatch: true })
    const res = await fetch(`${gated.base}/feeds/videos.xml`)
    expect(res.status).toBe(401)
  })
})
