/**
 * Videos end to end with real parts: uploads to a real pod, ffmpeg/ffprobe, the index of a
 * friend, search, a real BitTorrent client (aria2c) and a WebTorrent client fetching the
 * video, the tracker, and every refusal leaving nothing behind.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import WebTorrent from 'webtorrent'
import { mp4MoovAtEnd } from '../src/media/probe'
import type { Video } from '../src/videos/model'
import { makeClip, sha256 } from './helpers/clips'
import { adminToken, indexIds, netPod, restart, stopPods, until } from './helpers/network'
import { footprint, seedVideos, uploadVideo, userToken } from './helpers/videos'
import { removeTempDirs, tempDir, type TestPod } from './helpers/pods'

afterAll(stopPods)
afterAll(removeTempDirs)

let clip: string
let work: string

beforeAll(async () => {
  work = tempDir()
  clip = await makeClip(work, { seconds: 2 })
})

const upload = (p: TestPod, token: string | undefined, fields: Record<string, string | Blob>) => uploadVideo(p.base, token, fields)

const clipBlob = () => Bun.file(clip)


describe('upload', () => {
  test('an uploaded clip is stored playable-while-downloading, indexed, searchable and at a friend within a second', async () => {
    const [a, b] = await Promise.all([netPod(), netPod()])
    await b.running.pod.making.makeFriends([a.base])
    const res = await upload(a, await userToken(a, 'alice'), { file: clipBlob(), name: 'Harbour at dusk', description: 'Gulls circling the lighthouse' })
    expect(res.status).toBe(201)
    const video = (await res.json()) as Video
    expect(video).toMatchObject({ name: 'Harbour at dusk', uploader: 'alice', podUrl: a.config.url })
    expect(video.duration!).toBeCloseTo(2, 0)
    expect(video.magnetUri).toContain(`xt=urn:btih:${video.infoHash}`)
    expect(decodeURIComponent(video.magnetUri)).toContain(`ws=${a.config.url}/static/webseed/${video.id}.mp4`)
    expect(decodeURIComponent(video.magnetUri)).toContain(`xs=${video.torrentUrl}`)
    expect(decodeURIComponent(video.magnetUri)).toContain(`tr=${a.config.url.replace('http', 'ws')}/tracker/socket`)

    // ffmpeg wrote the index at the end; the stored file has it first (remuxed, not re-encoded).
    expect(await mp4MoovAtEnd(clip)).toBe(true)
    const stored = join(a.config.dataDir, 'videos', `${video.id}.mp4`)
    expect(await mp4MoovAtEnd(stored)).toBe(false)

    // In its own index at once, in the friend's within a second.
    expect(indexIds(a)).toContain(video.id)
    await until(() => indexIds(b).includes(video.id), 1000, 'video at the friend')

    // Search: a word of the description, and a prefix, on both pods.
    for (const p of [a, b]) {
      for (const q of ['lighthouse', 'harb', 'gulls circ']) {
        const found = (await (await fetch(`${p.base}/api/v1/videos?search=${encodeURIComponent(q)}`)).json()) as { total: number; data: Video[] }
        expect(found.data.map((v) => v.id)).toEqual([video.id])
      }
    }
    const none = (await (await fetch(`${a.base}/api/v1/videos?search=volcano`)).json()) as { total: number }
    expect(none.total).toBe(0)

    // The thumbnail: served by the origin, and by the friend from its cache after first use.
    const own = await fetch(`${a.base}/static/thumbnails/${video.id}.jpg`)
    expect(own.headers.get('content-type')).toBe('image/jpeg')
    const ownBytes = new Uint8Array(await own.arrayBuffer())
    expect([ownBytes[0], ownBytes[1]]).toEqual([0xff, 0xd8])
    const atFriend = (await (await fetch(`${b.base}/api/v1/videos/${video.id}`)).json()) as Video
    expect(atFriend.thumbnailUrl).toBe(`${b.config.url}/static/thumbnails/${video.id}.jpg`)
    const viaFriend = new Uint8Array(await (await fetch(atFriend.thumbnailUrl!)).arrayBuffer())
    expect(viaFriend).toEqual(ownBytes)
    await a.stop()
    const cached = await fetch(atFriend.thumbnailUrl!)
    expect(cached.status).toBe(200)
    // The friendship ends: the friend's next start drops the cached copy with the video.
    await b.running.pod.friends.unfriend(a.running.pod.identity.fingerprint)
    expect(indexIds(b)).not.toContain(video.id)
    await b.stop()
    await restart(b)
    expect(readdirSync(join(b.config.dataDir, 'thumbnails'))).toEqual([])
  })

  test('junk bytes named .mp4 get 415 and leave nothing; so do a missing file and bad fields', async () => {
    const a = await netPod()
    const token = await userToken(a)
    const before = footprint(a)
    const junk = await upload(a, token, { file: new File([crypto.getRandomValues(new Uint8Array(50_000))], 'movie.mp4', { type: 'video/mp4' }), name: 'junk' })
    expect(junk.status).toBe(415)
    expect(((await junk.json()) as { error: { code: string; message: string } }).error).toMatchObject({ code: 'not_a_video' })
    const noName = await upload(a, token, { file: clipBlob(), description: 'no name' })
    expect(noName.status).toBe(400)
    const longName = await upload(a, token, { file: clipBlob(), name: 'x'.repeat(121) })
    expect(longName.status).toBe(400)
    expect(((await longName.json()) as { error: { message: string } }).error.message).toContain('120')
    const noFile = await upload(a, token, { name: 'nothing' })
    expect(noFile.status).toBe(400)
    const notMultipart = await fetch(`${a.base}/api/v1/videos`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{}' })
    expect(notMultipart.status).toBe(415)
    const anonymous = await upload(a, undefined, { file: clipBlob(), name: 'anon' })
    expect(anonymous.status).toBe(401)
    expect(footprint(a)).toBe(before)
  })

  test('an upload over maxUploadBytes gets 413 and leaves nothing', async () => {
    const a = await netPod({ maxUploadBytes: 20_000 })
    const token = await userToken(a)
    const before = footprint(a)
    const res = await upload(a, token, { file: clipBlob(), name: 'too big' })
    expect(res.status).toBe(413)
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('too_large')
    // Streamed without a declared length: the limit is enforced while reading.
    const big = new Uint8Array(200_000)
    const boundary = 'seedpodboundary'
    const head = `--${boundary}\r\nContent-Disposition: form-data; name="name"\r\n\r\nbig\r\n--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.mp4"\r\nContent-Type: video/mp4\r\n\r\n`
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new TextEncoder().encode(head))
        for (let i = 0; i < big.length; i += 10_000) c.enqueue(big.subarray(i, i + 10_000))
        c.enqueue(new TextEncoder().encode(`\r\n--${boundary}--\r\n`))
        c.close()
      },
    })
    const chunked = await fetch(`${a.base}/api/v1/videos`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': `multipart/form-data; boundary=${boundary}` },
      body,
    })
    expect(chunked.status).toBe(413)
    await until(() => footprint(a) === before, 2000, 'nothing left behind')
  })
})

describe('getting the video', () => {
  let pod: TestPod
  let video: Video
  let dir: string

  beforeAll(async () => {
    pod = await netPod()
    dir = tempDir()
    const res = await upload(pod, await userToken(pod), { file: clipBlob(), name: 'Fetch me', description: 'by BitTorrent' })
    video = (await res.json()) as Video
  })

  test('aria2c, a real BitTorrent client, downloads it byte-identical from the torrent file, from the pod alone', async () => {
    const torrent = join(dir, 'video.torrent')
    writeFileSync(torrent, new Uint8Array(await (await fetch(video.torrentUrl!)).arrayBuffer()))
    const out = join(dir, 'aria2')
    const p = Bun.spawn(
      ['aria2c', '--no-conf', '--enable-dht=false', '--enable-dht6=false', '--bt-enable-lpd=false', '--enable-peer-exchange=false', '--seed-time=0', '--summary-interval=0', '--dir', out, torrent],
      { stdout: 'pipe', stderr: 'pipe' },
    )
    const code = await p.exited
    expect(code).toBe(0)
    const stored = join(pod.config.dataDir, 'videos', `${video.id}.mp4`)
    expect(await sha256(join(out, `${video.id}.mp4`))).toBe(await sha256(stored))
  })

  test('a WebTorrent client downloads it through the web seed alone', async () => {
    const client = new WebTorrent({ dht: false, lsd: false, utp: false, natUpnp: false, natPmp: false, tracker: false })
    try {
      const torrentFile = new Uint8Array(await (await fetch(video.torrentUrl!)).arrayBuffer())
      const path = join(dir, 'webtorrent')
      const done = await new Promise<{ hash: string; wires: string[] }>((resolve, reject) => {
        client.on('error', reject)
        client.add(torrentFile, { path }, (t) => {
          t.on('done', async () => resolve({ hash: await sha256(join(path, t.files[0]!.path)), wires: [...new Set(t.wires.map((w) => w.type))] }))
        })
      })
      expect(done.wires).toEqual(['webSeed'])
      expect(done.hash).toBe(await sha256(join(pod.config.dataDir, 'videos', `${video.id}.mp4`)))
    } finally {
      await new Promise<void>((r) => client.destroy(() => r()))
    }
  })

  test("a page of another pod may fetch its web seed and torrent: the CORS preflight of WebTorrent's range requests is answered", async () => {
    // What Chromium sends before WebTorrent's range request from another pod's page.
    const preflight = (path: string) =>
      fetch(`${pod.base}${path}`, {
        method: 'OPTIONS',
        headers: { Origin: 'https://other-pod.example', 'Access-Control-Request-Method': 'GET', 'Access-Control-Request-Headers': 'cache-control,range,user-agent' },
      })
    for (const path of [`/static/webseed/${video.id}.mp4`, `/static/torrents/${video.infoHash}.torrent`]) {
      const res = await preflight(path)
      expect({ path, status: res.status }).toEqual({ path, status: 204 })
      expect(res.headers.get('access-control-allow-origin')).toBe('*')
      expect(res.headers.get('access-control-allow-methods')).toContain('GET')
      const allowed = res.headers.get('access-control-allow-headers')!.toLowerCase().split(/\s*,\s*/)
      for (const h of ['range', 'cache-control', 'user-agent', 'if-none-match', 'if-modified-since', 'if-range']) expect(allowed).toContain(h)
    }
    // The GET that follows: the bytes, readable by the other page.
    const range = await fetch(`${pod.base}/static/webseed/${video.id}.mp4`, { headers: { Origin: 'https://other-pod.example', Range: 'bytes=0-15', 'Cache-Control': 'no-store' } })
    expect(range.status).toBe(206)
    expect(range.headers.get('access-control-allow-origin')).toBe('*')
    expect((await range.arrayBuffer()).byteLength).toBe(16)
  })

  test("?head=N serves the file's first N bytes as a resource of their own (the watch page's quick start)", async () => {
    const url = `${pod.base}/static/webseed/${video.id}.mp4`
    const whole = new Uint8Array(await (await fetch(url)).arrayBuffer())
    const head = await fetch(`${url}?head=1000`)
    expect(head.status).toBe(200)
    expect(head.headers.get('content-length')).toBe('1000')
    expect(new Uint8Array(await head.arrayBuffer())).toEqual(whole.subarray(0, 1000))
    // What a <video> asks: from 0 on. It gets the head, told that the resource ends there.
    const media = await fetch(`${url}?head=1000`, { headers: { Range: 'bytes=0-' } })
    expect(media.status).toBe(206)
    expect(media.headers.get('content-range')).toBe('bytes 0-999/1000')
    // Another resource than the whole file: another validator (caches must not mix them up).
    const headTag = head.headers.get('etag')
    expect(headTag).toBeTruthy()
    expect(headTag).not.toBe((await fetch(url, { method: 'HEAD' })).headers.get('etag'))
    expect((await fetch(`${url}?head=1000`, { headers: { Range: 'bytes=1000-' } })).status).toBe(416)
    // More than the file: the whole file.
    expect((await (await fetch(`${url}?head=${whole.length * 2}`)).arrayBuffer()).byteLength).toBe(whole.length)
    for (const bad of ['0', '-5', 'abc', '1e3', '']) {
      const res = await fetch(`${url}?head=${bad}`)
      expect({ bad, status: res.status, code: ((await res.json()) as { error: { code: string } }).error.code }).toEqual({ bad, status: 400, code: 'invalid_request' })
    }
  })

  test('the tracker accepts the video and refuses an unknown infohash', async () => {
    const announce = (hash: string) => {
      const infoHash = Array.from(Buffer.from(hash, 'hex'), (b) => `%${b.toString(16).padStart(2, '0')}`).join('')
      return fetch(`${pod.base}/tracker/announce?info_hash=${infoHash}&peer_id=-SP0001-abcdefghijkl&port=6881&uploaded=0&downloaded=0&left=0&compact=1&event=started`)
    }
    const known = Buffer.from(await (await announce(video.infoHash!)).arrayBuffer()).toString('latin1')
    expect(known).toContain('8:interval')
    const unknown = Buffer.from(await (await announce('ab'.repeat(20))).arrayBuffer()).toString('latin1')
    expect(unknown).toContain('failure reason')
    // Its stats count the video's swarm and the peer that announced.
    const stats = (await (await fetch(`${pod.base}/api/v1/tracker`)).json()) as { torrents: number; peers: number }
    expect(stats.torrents).toBeGreaterThanOrEqual(1)
    expect(stats.peers).toBeGreaterThanOrEqual(1)
  })
})

describe('changing and deleting', () => {
  test('bad queries and ids are clear 4xx', async () => {
    const a = await netPod()
    const get = async (path: string) => {
      const r = await fetch(`${a.base}${path}`)
      return [r.status, ((await r.json()) as { error?: { code: string } }).error?.code]
    }
    expect(await get('/api/v1/videos?sort=views')).toEqual([400, 'invalid_request'])
    expect(await get('/api/v1/videos?count=101')).toEqual([400, 'invalid_request'])
    expect(await get('/api/v1/videos?start=-1')).toEqual([400, 'invalid_request'])
    expect(await get('/api/v1/videos/doesnotexist')).toEqual([404, 'not_found'])
    expect(await get('/static/webseed/doesnotexist.mp4')).toEqual([404, 'not_found'])
    expect(await get('/static/webseed/..%2Fkeys%2Fpod.key')).toEqual([404, 'not_found'])
  })

  test('an edit and a delete reach every friend; only the owner or an admin may', async () => {
    const [a, b] = await Promise.all([netPod(), netPod()])
    await b.running.pod.making.makeFriends([a.base])
    const owner = await userToken(a, 'carol')
    const video = (await (await upload(a, owner, { file: clipBlob(), name: 'Old name' })).json()) as Video
    await until(() => indexIds(b).includes(video.id), 1000, 'video at friend')

    const stranger = await userToken(a)
    const patch = (token: string, body: unknown) =>
      fetch(`${a.base}/api/v1/videos/${video.id}`, { method: 'PATCH', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })
    expect((await patch(stranger, { name: 'Hijacked' })).status).toBe(403)
    expect((await patch(owner, { name: '' })).status).toBe(400)
    const edited = await patch(owner, { name: 'New name' })
    expect(edited.status).toBe(200)
    await until(async () => ((await (await fetch(`${b.base}/api/v1/videos/${video.id}`)).json()) as Video).name === 'New name', 1000, 'edit at friend')

    // The friend cannot delete a video of another pod.
    const atFriend = await fetch(`${b.base}/api/v1/videos/${video.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${await adminToken(b)}` } })
    expect(atFriend.status).toBe(403)

    const del = await fetch(`${a.base}/api/v1/videos/${video.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${await adminToken(a)}` } })
    expect(del.status).toBe(204)
    expect((await fetch(`${a.base}/api/v1/videos/${video.id}`)).status).toBe(404)
    expect((await fetch(`${a.base}/static/webseed/${video.id}.mp4`)).status).toBe(404)
    expect(readdirSync(join(a.config.dataDir, 'videos'))).toEqual([])
    expect(readdirSync(join(a.config.dataDir, 'torrents'))).toEqual([])
    await until(() => !indexIds(b).includes(video.id), 1000, 'deletion at friend')
  })
})

describe('restart', () => {
  test('a pod restarted with 1,000 videos serves every web seed at once, and seeds over TCP on demand without re-hashing', async () => {
    // No transcoding: a rendition finished after the restart would be seeded as it is made, which is not what this measures.
    let a = await netPod({ log: { level: 'debug' }, transcoding: { enabled: false } })
    const videos = await seedVideos({ pod: a.running.pod, base: a.base }, clip, 1000)
    await a.stop()
    const t0 = performance.now()
    a = await restart(a)
    // Serving: a range of the last video's web seed.
    const last = videos.at(-1)!
    const range = await fetch(`${a.base}/static/webseed/${last.id}.mp4`, { headers: { range: 'bytes=0-99' } })
    expect(range.status).toBe(206)
    console.log(`restart with 1000 videos: serving after ${(performance.now() - t0).toFixed(0)} ms`)
    for (const v of videos) expect((await fetch(`${a.base}/static/webseed/${v.id}.mp4`, { method: 'HEAD' })).status).toBe(200)
    const page = (await (await fetch(`${a.base}/api/v1/videos?scope=local&count=100`)).json()) as { total: number }
    expect(page.total).toBe(1000)
    // Nothing is seeded over TCP until asked: a watch page asks for one video, a tracker announce for another.
    const seeding = () => a.logs.filter((l) => l.event === 'seeder.seeding').map((l) => l.infoHash)
    expect(seeding()).toEqual([])
    await fetch(`${a.base}/api/v1/videos/${videos[3]!.id}`)
    await until(() => seeding().includes(videos[3]!.infoHash), 5000, 'seeding the watched video')
    const hash = Array.from(Buffer.from(videos[7]!.infoHash!, 'hex'), (b) => `%${b.toString(16).padStart(2, '0')}`).join('')
    await fetch(`${a.base}/tracker/announce?info_hash=${hash}&peer_id=-SP0001-abcdefghijkl&port=6881&uploaded=0&downloaded=0&left=100&compact=1&event=started`)
    await until(() => seeding().includes(videos[7]!.infoHash), 5000, 'seeding the announced video')
    expect(seeding().sort()).toEqual([videos[3]!.infoHash, videos[7]!.infoHash].sort())
  })
})
