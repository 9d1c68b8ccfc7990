/**
 * Mirrors proven, with real pods on loopback and hostile friends (test/helpers/fake-pod.ts): a
 * friend announcing a copy it does not have (its web seed answers garbage, 404, nothing, or endlessly)
 * is never listed, and its tracker and .torrent never reach a viewer; a friend that serves the
 * file is listed once this pod checked its pieces, and unlisted at the first check it fails.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Video } from '../src/videos/model'
import type { Stream } from '../src/videos/streams'
import { makeClip } from './helpers/clips'
import { fakePod, type FakePod } from './helpers/fake-pod'
import { netPod, stopPods, until } from './helpers/network'
import { removeTempDirs, tempDir, type TestPod } from './helpers/pods'
import { uploadVideo, userToken } from './helpers/videos'

afterAll(stopPods)
afterAll(removeTempDirs)

let clip: string
beforeAll(async () => {
  clip = await makeClip(tempDir(), { seconds: 3, faststart: true })
})

type Viewed = Omit<Video, 'streams'> & { streams: Stream[] }
const getVideo = async (p: TestPod, id: string) => (await (await fetch(`${p.base}/api/v1/videos/${id}`)).json()) as Viewed

/** Uploads a video to a pod without renditions (one stream); returns it and its file's bytes. */
async function upload(pod: TestPod) {
  const video = (await (await uploadVideo(pod.base, await userToken(pod), { file: Bun.file(clip), name: 'Checked' })).json()) as Video
  return { video, bytes: readFileSync(join(pod.config.dataDir, 'videos', `${video.id}.mp4`)) }
}

/**
 * Has the fake answer web seed requests for `file` with `bytes` (ranges, as a web seed does);
 * `bucket`: by a redirect to another path that does, as a pod whose files are in a bucket.
 */
function webSeed(fake: FakePod, file: string, bytes: () => Uint8Array, bucket = false) {
  const path = bucket ? `/bucket/${file}` : `/static/webseed/${file}`
  fake.handle = (req, url) => {
    if (bucket && url.pathname === `/static/webseed/${file}`) return new Response(null, { status: 302, headers: { location: `${path}?X-Amz-Signature=1` } })
    if (url.pathname !== path) return undefined
    const [, start, end] = /^bytes=(\d+)-(\d+)$/.exec(req.headers.get('range') ?? '') ?? []
    const body = bytes()
    if (start === undefined) return new Response(body as Uint8Array<ArrayBuffer>)
    return new Response(body.subarray(Number(start), Number(end) + 1) as Uint8Array<ArrayBuffer>, { status: 206, headers: { 'content-range': `bytes ${start}-${end}/${body.length}` } })
  }
}

const announce = (fake: FakePod, victim: TestPod, video: Video) =>
  fake.send(victim, [{ type: 'video.mirror', data: { id: video.id, infoHash: video.infoHash!, rendition: 0 } }])

/** Everything a viewer is given of a video, as text: its JSON and its watch page. */
const everything = async (p: TestPod, id: string) => JSON.stringify(await getVideo(p, id)) + (await (await fetch(`${p.base}/videos/${id}`)).text())

describe('mirrors proven', () => {
  test("friends announcing copies they do not have (garbage, 404, no answer, an endless answer) are never listed; their trackers and .torrents reach no viewer", async () => {
    const victim = await netPod({ transcoding: { enabled: false }, network: { allowPrivateAddresses: true, fetchTimeoutMs: 1000 } })
    const { video, bytes } = await upload(victim)
    const fakes = await Promise.all([fakePod(), fakePod(), fakePod(), fakePod()])
    const [garbage, missing, silent, huge] = fakes
    const file = `${video.id}.mp4`
    webSeed(garbage!, file, () => bytes.map((b) => b ^ 0xff))
    const seed = (fake: FakePod, answer: () => Response | Promise<Response>) => (fake.handle = (_req, url) => (url.pathname === `/static/webseed/${file}` ? answer() : undefined))
    seed(missing!, () => new Response('no', { status: 404 }))
    seed(silent!, () => new Promise<Response>(() => undefined))
    // 1 GiB, as fast as it is read.
    let sent = 0
    const mib = new Uint8Array(1 << 20)
    const endless = () => new ReadableStream({ pull: (c) => (sent < 1 << 30 ? (c.enqueue(mib), void (sent += mib.length)) : c.close()) })
    seed(huge!, () => new Response(endless(), { status: 206 }))
    for (const fake of fakes) {
      await fake.befriend(victim)
      expect((await announce(fake, victim, video)).results).toEqual([{ ok: true }])
    }
    const failed = await until(() => {
      const f = victim.logs.filter((l) => l.event === 'mirror.check.failed')
      return f.length === fakes.length ? f : undefined
    }, 15_000, 'the checks')
    const reasons = Object.fromEntries(failed.map((l) => [l.pod, String(l.reason)]))
    expect(reasons[garbage!.url]).toMatch(/^piece \d+ is not the torrent's$/)
    expect(reasons[missing!.url]).toMatch(/answered 404/)
    expect(reasons[silent!.url]).toMatch(/did not answer within 1000 ms/)
    expect(reasons[huge!.url]).toMatch(/sent more than \d+ bytes/)
    // Each fake was asked for its web seed once (the first piece failed), and for nothing else;
    // the huge one got to send a piece's worth and a few socket reads, not its gigabyte.
    for (const fake of fakes) {
      expect([...fake.hits.keys()].filter((p) => !p.startsWith('/api/v1/pod'))).toEqual([`/static/webseed/${file}`])
      expect(fake.hits.get(`/static/webseed/${file}`)).toBe(1)
    }
    expect(sent).toBeLessThan(64 << 20)

    const seen = await everything(victim, video.id)
    for (const fake of fakes) expect(seen).not.toContain(`127.0.0.1:${fake.server.port}`)
    const viewed = await getVideo(victim, video.id)
    expect(viewed.webseedUrls).toEqual([`${victim.base}/static/webseed/${file}`])
    expect(viewed.streams[0]!.playlistUrls).toEqual([viewed.streams[0]!.playlistUrl])
    for (const fake of fakes) fake.stop()
  }, 30_000)

  test("a friend's copy is listed once its pieces are checked against the origin's torrent, which this pod then serves in place of the mirror's; it is unlisted at the first check it fails", async () => {
    const [origin, victim] = await Promise.all([netPod({ transcoding: { enabled: false } }), netPod({ redundancy: { recheckSeconds: 1 } })])
    await victim.running.pod.making.makeFriends([origin.base])
    const { video, bytes } = await upload(origin)
    await until(async () => (await getVideo(victim, video.id)).streams?.length === 1, 5000, 'the video at the friend')
    const fake = await fakePod()
    const file = `${video.id}.mp4`
    let honest = true
    // Its files are in a bucket: the web seed redirects, as a pod's on S3 does.
    webSeed(fake, file, () => (honest ? bytes : bytes.map((b, i) => (i % 1000 === 0 ? b ^ 1 : b))), true)
    await fake.befriend(victim)
    expect((await announce(fake, victim, video)).results).toEqual([{ ok: true }])

    const mirrorSeed = `${fake.url}/static/webseed/${file}`
    const listed = await until(async () => {
      const v = await getVideo(victim, video.id)
      return v.webseedUrls.includes(mirrorSeed) ? v : undefined
    }, 10_000, 'the mirror listed')
    expect(victim.logs.some((l) => l.event === 'mirror.proven' && l.pod === fake.url)).toBe(true)
    // Checked where the redirect pointed, as a viewer's browser would fetch it.
    expect(fake.hits.get(`/bucket/${file}`)).toBeGreaterThan(0)
    // The copy's web seed and playlist join the lists; its tracker and .torrent join nothing.
    const s = listed.streams[0]!
    expect(s.webseedUrls).toEqual([s.webseedUrl, mirrorSeed])
    expect(s.playlistUrls).toEqual([s.playlistUrl, `${fake.url}/static/hls/${video.id}/original.m3u8`])
    const here = `${victim.base}/static/torrents/${video.infoHash}.torrent`
    expect(s.torrentUrls).toEqual([s.torrentUrl, here])
    const magnet = new URLSearchParams(listed.magnetUri.slice('magnet:?'.length))
    expect(magnet.getAll('ws')).toEqual([`${origin.base}/static/webseed/${file}`, mirrorSeed])
    expect(magnet.getAll('xs')).toEqual([`${origin.base}/static/torrents/${video.infoHash}.torrent`, here])
    expect(magnet.getAll('tr').every((t) => new URL(t).host === new URL(origin.base).host)).toBe(true)
    // This pod serves the origin's .torrent as it is, with the origin stopped too.
    const theirs = new Uint8Array(await (await fetch(`${origin.base}/static/torrents/${video.infoHash}.torrent`)).arrayBuffer())
    await origin.stop()
    const served = await fetch(here)
    expect(served.status).toBe(200)
    expect(new Uint8Array(await served.arrayBuffer())).toEqual(theirs)

    // The mirror starts serving other bytes: its next check (a second later) unlists it, origin down or not.
    honest = false
    const unlisted = await until(() => victim.logs.find((l) => l.event === 'mirror.unlisted' && l.pod === fake.url), 10_000, 'the mirror unlisted')
    expect(String(unlisted.reason)).toMatch(/is not the torrent's/)
    const after = await getVideo(victim, video.id)
    expect(after.webseedUrls).not.toContain(mirrorSeed)
    expect(after.streams[0]!.playlistUrls).toEqual([after.streams[0]!.playlistUrl])
    fake.stop()
  }, 40_000)
})
