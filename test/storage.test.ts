/**
 * Videos in object storage, against a real S3 server (radosgw, test/helpers/radosgw.ts): a
 * pod with `storage.kind = "s3"` keeps every file of an upload (and of its rendition) in the
 * bucket and none in its data folder; viewers' web seeds, the torrent's url-list and the
 * playlists point at the bucket; aria2c downloads the video byte-identical, also from the
 * pod's TCP seeding alone (ranged reads of the bucket); the start checks the bucket and sets
 * its CORS rules; the start's sweep repairs what a crash leaves; with radosgw stopped uploads
 * answer 503 and change nothing, the admin API says so, and all works again once it is back.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
// @ts-ignore -- untyped module
import parseTorrent from 'parse-torrent'
import { openDatabase, SCHEMA_VERSION } from '../src/shared/db'
import { withUrlList } from '../src/torrents/torrent-file'
import type { Video } from '../src/videos/model'
import type { Stream } from '../src/videos/streams'
import { makeClip, sha256 } from './helpers/clips'
import { adminToken, netPod, restart, stopPods, until } from './helpers/network'
import { childEnv, listTree, removeTempDirs, runCli, tempDir, type TestPod } from './helpers/pods'
import { freePort } from './helpers/ports'
import { startRadosgw, type Radosgw } from './helpers/radosgw'
import { movedToBucket, uploadVideo, userToken } from './helpers/videos'

setDefaultTimeout(60_000)
afterAll(stopPods)
afterAll(removeTempDirs)

const BUCKET = 'seedpod-storage'
const PREFIX = 'pods/one/'
let gw: Radosgw
let s3: Bun.S3Client
let pod: TestPod
let work: string
let clip: string
let token: string
type Viewed = Omit<Video, 'streams'> & { streams: Stream[] }
let video: Viewed

const storage = () => gw.settings(BUCKET, { prefix: PREFIX })
const keys = async () => ((await s3.list({ prefix: PREFIX })).contents ?? []).map((c) => c.key.slice(PREFIX.length)).sort()
/** Video files anywhere in a data folder (a pod on S3 keeps none). */
const videoFiles = (dir: string) => listTree(dir).filter((f) => /\.(mp4|webm|m3u8)$/.test(f))
const clipBlob = () => Bun.file(clip)
const api = (path: string) => fetch(`${pod.base}${path}`).then((r) => r.json())

beforeAll(async () => {
  work = tempDir()
  ;[gw, clip] = await Promise.all([startRadosgw({ bucket: BUCKET }), makeClip(work, { seconds: 3 })])
  s3 = gw.client()
  pod = await netPod({ storage: { ...storage(), partSizeBytes: 5 * 1024 * 1024 }, transcoding: { resolutions: [144] } })
  token = await userToken(pod, 'alice')
  const res = await uploadVideo(pod.base, token, { file: clipBlob(), name: 'In the bucket', description: 'stored in radosgw' })
  if (res.status !== 201) throw new Error(`upload: ${res.status} ${await res.text()}`)
  const created = (await res.json()) as Video
  // Its rendition is made (and stored) by the transcoder.
  video = await until(async () => {
    const v = (await api(`/api/v1/videos/${created.id}`)) as Viewed
    return v.streams?.length === 2 ? v : undefined
  }, 30_000, 'the 144p rendition')
  await movedToBucket(pod)
}, 120_000)

afterAll(async () => {
  await stopPods()
  await gw?.stop()
})

describe('a pod with S3 storage', () => {
  test('keeps the original, rendition, playlists, thumbnail and torrents in the bucket, and no video file on its disk', async () => {
    const id = video.id
    const rendition = video.streams.find((s) => s.rendition === 144)!
    expect(await keys()).toEqual(
      [`videos/${id}.mp4`, `videos/${id}.m3u8`, `videos/${id}.144.mp4`, `videos/${id}.144.m3u8`, `thumbnails/${id}.jpg`, `torrents/${video.infoHash}.torrent`, `torrents/${rendition.infoHash}.torrent`].sort(),
    )
    expect(videoFiles(pod.config.dataDir)).toEqual([])
    expect(listTree(join(pod.config.dataDir, 'tmp'))).toEqual([])
    // The bucket's object is the file the torrent describes.
    const torrent = await parseTorrent(new Uint8Array(await s3.file(`${PREFIX}torrents/${video.infoHash}.torrent`).arrayBuffer()))
    expect(torrent.length).toBe(await s3.size(`${PREFIX}videos/${id}.mp4`))
  })

  test('web seeds, the torrent url-list and the playlists point at the bucket (presigned), and their bytes come from there', async () => {
    const bucketUrl = `${gw.endpoint}/${BUCKET}/${PREFIX}videos/${video.id}.mp4?`
    expect(video.webseedUrls[0]!.startsWith(bucketUrl)).toBe(true)
    expect(video.streams.find((s) => s.rendition === 0)!.webseedUrl.startsWith(bucketUrl)).toBe(true)
    const torrent = await parseTorrent(new Uint8Array(await (await fetch(video.torrentUrl!)).arrayBuffer()))
    expect(torrent.infoHash).toBe(video.infoHash)
    expect(torrent.urlList).toHaveLength(1)
    expect(torrent.urlList[0].startsWith(bucketUrl)).toBe(true)
    // A browser's range request, straight to the bucket, with CORS (the pod set the bucket's rules).
    const res = await fetch(video.webseedUrls[0]!, { headers: { range: 'bytes=0-99', origin: 'http://elsewhere.example' } })
    expect(res.status).toBe(206)
    expect(res.headers.get('access-control-allow-origin')).toBeTruthy()
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(new Uint8Array(await s3.file(`${PREFIX}videos/${video.id}.mp4`).slice(0, 100).arrayBuffer()))
    // The media playlist names the bucket's URL for its segments.
    const playlist = await (await fetch(video.streams.find((s) => s.rendition === 144)!.playlistUrl)).text()
    expect(playlist).toContain('#EXT-X-BYTERANGE')
    expect(playlist).toContain(`${gw.endpoint}/${BUCKET}/${PREFIX}videos/${video.id}.144.mp4?`)
    // The pod's own web seed URL (what friends know) redirects there; its ?head= is read through.
    const redirect = await fetch(`${pod.base}/static/webseed/${video.id}.mp4`, { redirect: 'manual' })
    expect(redirect.status).toBe(302)
    expect(redirect.headers.get('location')!.startsWith(bucketUrl)).toBe(true)
    const head = await fetch(`${pod.base}/static/webseed/${video.id}.mp4?head=1000`)
    expect(head.status).toBe(200)
    expect((await head.arrayBuffer()).byteLength).toBe(1000)
    const thumb = await fetch(video.thumbnailUrl!)
    expect(thumb.status).toBe(200)
    expect(thumb.headers.get('content-type')).toBe('image/jpeg')
  })

  test('aria2c downloads it byte-identical from the torrent; and from the pod TCP-seeding the bucket alone', async () => {
    const original = new Uint8Array(await s3.file(`${PREFIX}videos/${video.id}.mp4`).arrayBuffer())
    const expected = new Bun.CryptoHasher('sha256').update(original).digest('hex')
    const served = new Uint8Array(await (await fetch(video.torrentUrl!)).arrayBuffer())
    // With no web seed, the bytes can only come from the pod's BitTorrent seeding.
    for (const [name, file] of [['with-webseed', served], ['tcp-only', await withUrlList(served, [])]] as const) {
      const torrent = join(work, `${name}.torrent`)
      writeFileSync(torrent, file)
      const out = join(work, name)
      const p = Bun.spawn(
        ['aria2c', '--no-conf', '--enable-dht=false', '--enable-dht6=false', '--bt-enable-lpd=false', '--enable-peer-exchange=false', '--seed-time=0', '--summary-interval=0', '--bt-stop-timeout=30', '--dir', out, torrent],
        { stdout: 'pipe', stderr: 'pipe' },
      )
      expect(await p.exited).toBe(0)
      expect(await sha256(join(out, `${video.id}.mp4`))).toBe(expected)
    }
  })

  test('a file larger than a part goes up as a multipart upload, byte-identical, and leaves the data folder', async () => {
    const storage = pod.running.pod.videos.files.storage
    const big = join(work, 'big.bin')
    const bytes = new Uint8Array(12 * 1024 * 1024 + 4321).map((_, i) => (i * 7) % 251)
    writeFileSync(big, bytes)
    await storage.keep('videos/multipart-check.mp4', big, 'video/mp4')
    expect(existsSync(big)).toBe(false)
    // 5 MiB parts: three of them (a multipart ETag counts them).
    expect((await s3.stat(`${PREFIX}videos/multipart-check.mp4`)).etag).toMatch(/-3"$/)
    expect(new Bun.CryptoHasher('sha256').update(new Uint8Array(await s3.file(`${PREFIX}videos/multipart-check.mp4`).arrayBuffer())).digest('hex')).toBe(new Bun.CryptoHasher('sha256').update(bytes).digest('hex'))
    await storage.drop(['videos/multipart-check.mp4'])
    expect(await s3.exists(`${PREFIX}videos/multipart-check.mp4`)).toBe(false)
  })

  test('the admin API shows the storage, never its credentials', async () => {
    const res = await fetch(`${pod.base}/api/v1/storage`, { headers: { authorization: `Bearer ${await adminToken(pod)}` } })
    expect(res.status).toBe(200)
    const text = await res.text()
    expect(JSON.parse(text)).toMatchObject({ kind: 's3', endpoint: gw.endpoint, bucket: BUCKET, prefix: PREFIX, health: { state: 'ok' } })
    expect(text).not.toContain(gw.secretAccessKey)
    expect(text).not.toContain(gw.accessKeyId)
    expect(JSON.stringify(pod.config)).not.toContain(gw.secretAccessKey)
    expect((await fetch(`${pod.base}/api/v1/storage`)).status).toBe(401)
  })

  test("rules that would keep other pages' players out are replaced at start by ones that let any page read ranges", async () => {
    const narrow = '<CORSConfiguration><CORSRule><AllowedOrigin>http://only.example</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>'
    const put = await gw.request('PUT', `/${BUCKET}`, { query: { cors: '' }, body: narrow, headers: { 'content-md5': new Bun.CryptoHasher('md5').update(narrow).digest('base64'), 'content-type': 'application/xml' } })
    expect(put.status).toBe(200)
    await put.arrayBuffer()
    const p = await netPod({ storage: { ...storage(), prefix: 'pods/cors/' } })
    await p.stop()
    const cors = await gw.request('GET', `/${BUCKET}`, { query: { cors: '' } })
    expect(cors.status).toBe(200)
    const rules = await cors.text()
    expect(rules).toContain('<AllowedOrigin>*</AllowedOrigin>')
    expect(rules).not.toContain('only.example')
    // A browser's preflight for WebTorrent's range request, from any page, is answered.
    const preflight = await fetch(`${gw.endpoint}/${BUCKET}/${PREFIX}videos/${video.id}.mp4`, {
      method: 'OPTIONS',
      headers: { origin: 'http://some-pod.example', 'access-control-request-method': 'GET', 'access-control-request-headers': 'range,cache-control,user-agent' },
    })
    expect(preflight.status).toBe(200)
    await preflight.arrayBuffer()
    expect(preflight.headers.get('access-control-allow-origin')).toBeTruthy()
  })

  test('radosgw stopped: uploads answer 503 and change nothing, the admin API says so; back: uploads work again', async () => {
    const admin = await adminToken(pod)
    const health = async () => ((await (await fetch(`${pod.base}/api/v1/storage`, { headers: { authorization: `Bearer ${admin}` } })).json()) as { health: { state: string; error?: string } }).health
    const rows = () => (pod.running.pod.db.query('SELECT count(*) AS n FROM videos').get() as { n: number }).n
    const before = rows()
    await gw.stopGateway()
    try {
      // Before the pod has noticed (the upload itself finds out) and after.
      for (let i = 0; i < 2; i++) {
        const res = await uploadVideo(pod.base, token, { file: clipBlob(), name: `While down ${i}` })
        expect(res.status).toBe(503)
        expect(((await res.json()) as { error: { code: string } }).error.code).toBe('storage_unavailable')
      }
      expect(rows()).toBe(before)
      expect(listTree(join(pod.config.dataDir, 'tmp'))).toEqual([])
      const down = await until(async () => {
        const h = await health()
        return h.state === 'unavailable' ? h : undefined
      }, 15_000, 'the storage shown unavailable')
      expect(down.error).toContain(gw.endpoint)
      // What the pod has cached still answers: the playlist and the torrent; the web seed says why it cannot.
      expect((await fetch(video.streams[0]!.playlistUrl)).status).toBe(200)
      expect((await fetch(video.torrentUrl!)).status).toBe(200)
      const seed = await fetch(`${pod.base}/static/webseed/${video.id}.mp4`, { redirect: 'manual' })
      expect(seed.status).toBe(503)
      expect(((await seed.json()) as { error: { code: string } }).error.code).toBe('storage_unavailable')
    } finally {
      await gw.startGateway()
    }
    await until(async () => (await health()).state === 'ok', 15_000, 'the storage back')
    const res = await uploadVideo(pod.base, token, { file: clipBlob(), name: 'After the outage' })
    expect(res.status).toBe(201)
    const id = ((await res.json()) as Video).id
    await movedToBucket(pod)
    expect(await s3.exists(`${PREFIX}videos/${id}.mp4`)).toBe(true)
    expect(rows()).toBe(before + 1)
  })

  test('the start sweeps orphan objects and forgets a video whose original is gone, and a rendition whose file is', async () => {
    const res = await uploadVideo(pod.base, token, { file: clipBlob(), name: 'Lost behind the pod', description: '' })
    const lost = (await res.json()) as Video
    await movedToBucket(pod)
    // An id of this pod's that no row names.
    const orphan = `videos/${pod.running.pod.identity.fingerprint.slice(0, 16)}NoRowNamesMe.mp4`
    await pod.stop()
    // A crash between putting objects and writing rows; an object deleted behind the pod's back.
    await s3.write(`${PREFIX}${orphan}`, 'no row names me')
    await s3.write(`${PREFIX}torrents/${'0'.repeat(40)}.torrent`, 'nor me')
    await s3.write('not-the-pods/keep.txt', 'outside the prefix')
    await s3.delete(`${PREFIX}videos/${lost.id}.mp4`)
    await s3.delete(`${PREFIX}videos/${video.id}.144.mp4`)
    pod = await restart(pod, { storage: storage(), transcoding: { enabled: false } })
    const now = await keys()
    expect(now).not.toContain(orphan)
    expect(now).not.toContain(`torrents/${'0'.repeat(40)}.torrent`)
    expect(now.filter((k) => k.includes(lost.id))).toEqual([])
    expect(await s3.exists('not-the-pods/keep.txt')).toBe(true)
    expect((await fetch(`${pod.base}/api/v1/videos/${lost.id}`)).status).toBe(404)
    // The first video lost its rendition only: the rendition is forgotten, the video still served.
    expect(now).toContain(`videos/${video.id}.mp4`)
    expect(now.filter((k) => k.includes(`${video.id}.144`))).toEqual([])
    const rendition = video.streams.find((s) => s.rendition === 144)!
    expect(now).not.toContain(`torrents/${rendition.infoHash}.torrent`)
    const after = (await (await fetch(`${pod.base}/api/v1/videos/${video.id}`)).json()) as Viewed
    expect(after.streams.map((s) => s.rendition)).toEqual([0])
    expect(after.files).toEqual([])
    expect((pod.running.pod.db.query('PRAGMA user_version').get() as { user_version: number }).user_version).toBe(SCHEMA_VERSION)
  })

  test("a wrong prefix, or one another pod's files are under, stops the start before anything is deleted or forgotten", async () => {
    const before = await keys()
    await pod.stop()
    await expect(restart(pod, { storage: gw.settings(BUCKET, { prefix: 'pods/typo/' }) })).rejects.toThrow(/holds none of this pod's files .*storage.prefix wrong\? Nothing was changed/)
    // Another pod's video under this pod's prefix (a shared prefix): not an orphan to delete.
    const theirs = `${PREFIX}videos/${'x'.repeat(16)}AnotherPods.mp4`
    await s3.write(theirs, 'another pod')
    await expect(restart(pod, { storage: storage(), transcoding: { enabled: false } })).rejects.toThrow(/holds files of another pod .*own storage.prefix/)
    expect(await keys()).toEqual([...before, theirs.slice(PREFIX.length)].sort())
    await s3.delete(theirs)
    pod = await restart(pod, { storage: storage(), transcoding: { enabled: false } })
    expect(await keys()).toEqual(before)
    expect((await fetch(`${pod.base}/api/v1/videos/${video.id}`)).status).toBe(200)
  })

  test('a file still waiting for the bucket when the pod stopped is served from the data folder, and moved at the next start', async () => {
    const res = await uploadVideo(pod.base, token, { file: clipBlob(), name: 'Cut short' })
    const up = (await res.json()) as Video
    await movedToBucket(pod)
    const key = `videos/${up.id}.mp4`
    const bytes = await s3.file(`${PREFIX}${key}`).arrayBuffer()
    await pod.stop()
    // As a crash leaves it: the rows written, the file in the data folder, its move queued.
    const local = join(pod.config.dataDir, key)
    writeFileSync(local, new Uint8Array(bytes))
    await s3.delete(`${PREFIX}${key}`)
    const db = openDatabase(join(pod.config.dataDir, 'seedpod.db'))
    db.query('INSERT INTO storage_moves (key, queued_at) VALUES (?, ?)').run(key, Date.now())
    db.close()
    pod = await restart(pod, { storage: storage(), transcoding: { enabled: false } })
    // The sweep did not forget it (its file is in the data folder); then it goes to the bucket.
    await movedToBucket(pod)
    expect(existsSync(local)).toBe(false)
    expect(Buffer.from(await s3.file(`${PREFIX}${key}`).arrayBuffer()).equals(Buffer.from(bytes))).toBe(true)
    const viewed = (await (await fetch(`${pod.base}/api/v1/videos/${up.id}`)).json()) as Viewed
    expect(viewed.webseedUrls[0]).toContain(`${PREFIX}${key}`)
    const seed = await fetch(viewed.webseedUrls[0]!, { headers: { range: 'bytes=0-99' } })
    expect(seed.status).toBe(206)
    expect(new Uint8Array(await seed.arrayBuffer())).toEqual(new Uint8Array(bytes.slice(0, 100)))
  })
})

describe('a public bucket', () => {
  test('with publicBaseUrl, objects are public-read and viewers get plain URLs under it', async () => {
    const prefix = 'pods/three/'
    const publicPod = await netPod({ storage: { ...storage(), prefix, publicBaseUrl: `${gw.endpoint}/${BUCKET}` }, transcoding: { enabled: false } })
    const up = (await (await uploadVideo(publicPod.base, await userToken(publicPod), { file: clipBlob(), name: 'For everyone' })).json()) as Video
    await movedToBucket(publicPod)
    const viewed = (await (await fetch(`${publicPod.base}/api/v1/videos/${up.id}`)).json()) as Viewed
    const url = `${gw.endpoint}/${BUCKET}/${prefix}videos/${up.id}.mp4`
    expect(viewed.webseedUrls[0]).toBe(url)
    // No signature, no credentials: the object is public.
    const res = await fetch(url, { headers: { range: 'bytes=0-9' } })
    expect(res.status).toBe(206)
    await res.arrayBuffer()
    const torrent = await parseTorrent(new Uint8Array(await (await fetch(viewed.torrentUrl!)).arrayBuffer()))
    expect(torrent.urlList).toEqual([url])
    expect(await (await fetch(viewed.streams[0]!.playlistUrl)).text()).toContain(url)
    await publicPod.stop()
  })
})

describe('redundancy with S3 storage', () => {
  test("a friend's video is copied into the bucket within the budget, served from there, and dropped from there", async () => {
    const prefix = 'pods/two/'
    const [origin, first] = await Promise.all([netPod({ transcoding: { enabled: false } }), netPod({ storage: { ...storage(), prefix }, redundancy: { enabled: true, budgetBytes: 50_000_000 } })])
    let mirror = first
    await mirror.running.pod.making.makeFriends([origin.base])
    const up = (await (await uploadVideo(origin.base, await userToken(origin), { file: clipBlob(), name: 'Worth a copy' })).json()) as Video
    const status = async () => (await (await fetch(`${mirror.base}/api/v1/videos/mirrors`, { headers: { authorization: `Bearer ${await adminToken(mirror)}` } })).json()) as { usedBytes: number; mirrors: { infoHash: string; file: string; state: string; size: number }[] }
    const copy = await until(async () => (await status()).mirrors.find((m) => m.state === 'ready'), 30_000, 'a ready copy')
    const key = `${prefix}mirrors/${copy.file}`
    await until(() => s3.exists(key), 10_000, 'the copy in the bucket')
    expect(await s3.size(key)).toBe(copy.size)
    expect((await status()).usedBytes).toBe(copy.size)
    expect(await s3.exists(`${prefix}torrents/${copy.infoHash}.torrent`)).toBe(true)
    expect(videoFiles(mirror.config.dataDir)).toEqual([])
    // The mirror's web seed (what the network knows) leads to the bucket's bytes.
    const res = await fetch(`${mirror.base}/static/webseed/${up.id}.mp4`, { headers: { range: 'bytes=0-99' } })
    expect(res.status).toBe(206)
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(new Uint8Array(readFileSync(join(origin.config.dataDir, 'videos', `${up.id}.mp4`)).subarray(0, 100)))
    // Its media playlist is in the bucket too, and served naming the bucket's URL of the file;
    // the start's sweep keeps it (a restart in between).
    const playlistKey = `${prefix}mirrors/${copy.infoHash}/${up.id}.m3u8`
    expect(await s3.exists(playlistKey)).toBe(true)
    await mirror.stop()
    mirror = await restart(mirror, { storage: { ...storage(), prefix }, redundancy: { enabled: true, budgetBytes: 50_000_000 } })
    expect(await s3.exists(playlistKey)).toBe(true)
    const stored = readFileSync(join(origin.config.dataDir, 'videos', `${up.id}.m3u8`), 'utf8')
    const served = await (await fetch(`${mirror.base}/static/hls/${up.id}/original.m3u8`)).text()
    const seed = served.split('\n').find((l) => l.startsWith('http'))!
    expect(served).toBe(stored.replaceAll(`../../webseed/${up.id}.mp4`, seed))
    expect(seed).toContain(`/mirrors/${copy.infoHash}/${up.id}.mp4`)
    // The friend's thumbnail, fetched through this pod, is cached in the bucket, not on its disk.
    const thumbKey = `${prefix}thumbnails/${up.id}.jpg`
    const thumb = await fetch(`${mirror.base}/static/thumbnails/${up.id}.jpg`, { redirect: 'manual' })
    expect(thumb.status).toBe(302)
    const cached = new Uint8Array(await (await fetch(thumb.headers.get('location')!)).arrayBuffer())
    expect(cached).toEqual(new Uint8Array(readFileSync(join(origin.config.dataDir, 'thumbnails', `${up.id}.jpg`))))
    expect(await s3.exists(thumbKey)).toBe(true)
    expect(existsSync(join(mirror.config.dataDir, 'thumbnails', `${up.id}.jpg`))).toBe(false)
    // The origin removes it: the copy goes from the bucket, and its thumbnail at the next start.
    expect((await fetch(`${origin.base}/api/v1/videos/${up.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${await adminToken(origin)}` } })).status).toBe(204)
    await until(async () => !(await s3.exists(key)) && !(await s3.exists(`${prefix}torrents/${copy.infoHash}.torrent`)) && !(await s3.exists(playlistKey)), 15_000, 'the copy gone from the bucket')
    expect((await status()).usedBytes).toBe(0)
    await mirror.stop()
    const again = await restart(mirror, { storage: { ...storage(), prefix } })
    expect(await s3.exists(thumbKey)).toBe(false)
    await again.stop()
  })
})

describe('the start check', () => {
  const serve = async (extra: Record<string, string>) =>
    runCli(['serve', '--port', String(await freePort()), '--data-dir', join(tempDir(), 'data')], {
      cwd: work,
      env: childEnv({
        SEEDPOD_STORAGE_KIND: 's3',
        SEEDPOD_STORAGE_ENDPOINT: gw.endpoint,
        SEEDPOD_STORAGE_BUCKET: BUCKET,
        AWS_ACCESS_KEY_ID: gw.accessKeyId,
        AWS_SECRET_ACCESS_KEY: gw.secretAccessKey,
        SEEDPOD_LOG_FORMAT: 'json',
        ...extra,
      }),
    })

  test('an unreachable endpoint, wrong keys or no bucket: exit 1 naming the endpoint and what failed, no stack, no secret', async () => {
    const cases: [Record<string, string>, string][] = [
      [{ SEEDPOD_STORAGE_ENDPOINT: 'http://127.0.0.1:9' }, 'http://127.0.0.1:9'],
      [{ AWS_SECRET_ACCESS_KEY: 'wrong-secret-wrong-secret-wrong-secret00' }, 'wrong secret key'],
      [{ AWS_ACCESS_KEY_ID: 'NOSUCHKEYNOSUCHKEY00' }, 'does not know the access key'],
      [{ SEEDPOD_STORAGE_BUCKET: 'no-such-bucket' }, 'has no such bucket'],
    ]
    for (const [extra, words] of cases) {
      const run = await serve(extra)
      expect(run.code).toBe(1)
      expect(run.stderr).toContain('storage: the S3 endpoint')
      expect(run.stderr).toContain(words)
      expect(run.stderr).not.toMatch(/\n\s+at /)
      expect(run.stderr + run.stdout).not.toContain(gw.secretAccessKey)
    }
  }, 120_000)

  test('missing credentials are a configuration error (78) that names the variables', async () => {
    const run = await serve({ AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '' })
    expect(run.code).toBe(78)
    expect(run.stderr).toContain('storage.secretAccessKey is not set')
    expect(run.stderr).toContain('AWS_SECRET_ACCESS_KEY')
  })
})
