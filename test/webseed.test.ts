/**
 * The .torrent files and the web seed (src/torrents/torrent-file.ts, webseed.ts): a real
 * clip's .torrent checked with the reference parser (parse-torrent), the web seed served by a
 * real Bun.serve (ranges, validators, conditional requests, CORS), and real WebTorrent clients
 * downloading through the web seed alone. (Probing and remuxing the clips are
 * test/media.test.ts; piece lengths and Range parsing, test/unit/torrents.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { createHash, randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
// webtorrent ships no TypeScript types (the project may declare some of its API elsewhere);
// ts-ignore, not expect-error, so this compiles either way. What the test reads is cast below.
// @ts-ignore -- possibly untyped module
import WebTorrent from 'webtorrent'
// @ts-ignore -- untyped module
import parseTorrent from 'parse-torrent'
import { makeTorrent } from '../src/torrents/torrent-file'
import { serveFile } from '../src/torrents/webseed'
import { fastStartClip, mediaDir } from './helpers/media-files'

const dir = mediaDir()
/** 2 s 320x240 H.264 + AAC with -movflags +faststart: a real video to make torrents of and download. */
const fastStart = join(dir, 'fast-start.mp4')
/** 1 MiB of random bytes, for exact byte-range checks and the WebTorrent download. */
const blob = join(dir, 'blob.bin')
const blobBytes = new Uint8Array(randomBytes(1024 * 1024))

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex')

beforeAll(async () => {
  await fastStartClip(fastStart)
  writeFileSync(blob, blobBytes)
})

describe('makeTorrent', () => {
  const announce = ['wss://pod.example/tracker/socket', 'https://pod.example/tracker/announce']
  const urlList = ['https://pod.example/static/webseed/fast-start.mp4']
  test('same file, same info hash; the .torrent carries the trackers and web seeds', async () => {
    const a = await makeTorrent({ file: fastStart, name: 'fast-start.mp4', announce, urlList })
    const b = await makeTorrent({ file: fastStart, name: 'fast-start.mp4', announce, urlList, creationDate: new Date(0) })
    expect(a.infoHash).toMatch(/^[0-9a-f]{40}$/)
    expect(b.infoHash).toBe(a.infoHash)
    expect(a.length).toBe(statSync(fastStart).size)
    expect(a.pieceLength).toBe(256 * 1024)

    // The .torrent itself, read back by the reference parser.
    const parsed = await parseTorrent(a.torrent)
    expect(parsed.infoHash).toBe(a.infoHash)
    expect(parsed.announce).toEqual(announce)
    expect(parsed.urlList).toEqual(urlList)
    expect(parsed.name).toBe('fast-start.mp4')
    expect(parsed.length).toBe(a.length)
  })
})

describe('serveFile over HTTP', () => {
  let server: ReturnType<typeof Bun.serve>
  let base: string
  /** Range requests seen per file name: proves where a download's bytes came from. */
  const rangeRequests = new Map<string, number>()

  beforeAll(() => {
    server = Bun.serve({
      port: 0,
      hostname: '127.0.0.1',
      fetch(req) {
        const name = basename(new URL(req.url).pathname) // test server: no paths outside dir
        if (req.headers.has('range')) rangeRequests.set(name, (rangeRequests.get(name) ?? 0) + 1)
        return serveFile(req, join(dir, name), { contentType: 'application/octet-stream', cacheControl: 'public, max-age=3600' })
      },
    })
    base = `http://127.0.0.1:${server.port}/static/webseed`
  })
  afterAll(() => server.stop(true))

  const size = 1024 * 1024
  const get = (headers: Record<string, string> = {}, method = 'GET', name = 'blob.bin') =>
    fetch(`${base}/${name}`, { method, headers })
  const body = async (r: Response): Promise<Uint8Array> => new Uint8Array(await r.arrayBuffer())

  test('GET without Range: 200, whole file, validators, CORS', async () => {
    const r = await get()
    expect(r.status).toBe(200)
    expect(r.headers.get('content-length')).toBe(String(size))
    expect(r.headers.get('content-type')).toBe('application/octet-stream')
    expect(r.headers.get('accept-ranges')).toBe('bytes')
    expect(r.headers.get('cache-control')).toBe('public, max-age=3600')
    expect(r.headers.get('etag')).toMatch(/^"[0-9a-f]+-[0-9a-f]+"$/)
    expect(new Date(r.headers.get('last-modified')!).getTime()).toBe(Math.floor(statSync(blob).mtimeMs / 1000) * 1000)
    expect(r.headers.get('access-control-allow-origin')).toBe('*')
    const expose = (r.headers.get('access-control-expose-headers') ?? '').toLowerCase()
    for (const h of ['content-range', 'content-length', 'accept-ranges']) expect(expose).toContain(h)
    expect(sha256(await body(r))).toBe(sha256(blobBytes))
  })

  test('single ranges: first byte, middle, suffix, open-ended, clamped', async () => {
    const cases: [string, number, number][] = [
      ['bytes=0-0', 0, 0],
      ['bytes=1000-1999', 1000, 1999],
      ['bytes=-500', size - 500, size - 1],
      [`bytes=${size - 100}-`, size - 100, size - 1],
      [`bytes=${size - 10}-${size * 10}`, size - 10, size - 1],
      ['bytes=0-', 0, size - 1],
    ]
    for (const [range, start, end] of cases) {
      const r = await get({ Range: range })
      expect(r.status).toBe(206)
      expect(r.headers.get('content-range')).toBe(`bytes ${start}-${end}/${size}`)
      expect(r.headers.get('content-length')).toBe(String(end - start + 1))
      expect(r.headers.get('access-control-allow-origin')).toBe('*')
      expect(await body(r)).toEqual(blobBytes.subarray(start, end + 1))
    }
  })

  test('several ranges get the first; malformed Range gets the whole file', async () => {
    const multi = await get({ Range: 'bytes=10-19,100-199' })
    expect(multi.status).toBe(206)
    expect(multi.headers.get('content-range')).toBe(`bytes 10-19/${size}`)
    expect(await body(multi)).toEqual(blobBytes.subarray(10, 20))
    const bad = await get({ Range: 'bytes=oops' })
    expect(bad.status).toBe(200)
    expect((await body(bad)).length).toBe(size)
  })

  test('unsatisfiable range: 416 with bytes */size', async () => {
    for (const range of [`bytes=${size}-`, `bytes=${size + 5}-${size + 10}`, 'bytes=-0']) {
      const r = await get({ Range: range })
      expect(r.status).toBe(416)
      expect(r.headers.get('content-range')).toBe(`bytes */${size}`)
      expect(r.headers.get('access-control-allow-origin')).toBe('*')
      await r.arrayBuffer()
    }
  })

  test('HEAD: the headers of GET, no body', async () => {
    const r = await get({}, 'HEAD')
    expect(r.status).toBe(200)
    expect(r.headers.get('content-length')).toBe(String(size))
    expect(r.headers.get('accept-ranges')).toBe('bytes')
    expect((await body(r)).length).toBe(0)
    const ranged = await get({ Range: 'bytes=0-99' }, 'HEAD')
    expect(ranged.status).toBe(206)
    expect(ranged.headers.get('content-range')).toBe(`bytes 0-99/${size}`)
    expect(ranged.headers.get('content-length')).toBe('100')
    expect((await body(ranged)).length).toBe(0)
  })

  test('conditional requests: If-None-Match, If-Modified-Since, If-Range, If-Match', async () => {
    const first = await get()
    await first.arrayBuffer()
    const etag = first.headers.get('etag')!
    const lastModified = first.headers.get('last-modified')!

    const notModified = await get({ 'If-None-Match': etag })
    expect(notModified.status).toBe(304)
    expect(notModified.headers.get('etag')).toBe(etag)
    expect((await body(notModified)).length).toBe(0)
    expect((await get({ 'If-None-Match': `"other", W/${etag}` })).status).toBe(304) // weak comparison
    expect((await get({ 'If-None-Match': `W/${etag}`, Range: 'bytes=0-1' })).status).toBe(304) // before Range
    const changed = await get({ 'If-None-Match': '"something-else"' })
    expect(changed.status).toBe(200)
    await changed.arrayBuffer()
    expect((await get({ 'If-Modified-Since': lastModified })).status).toBe(304)

    const resumed = await get({ Range: 'bytes=100-199', 'If-Range': etag })
    expect(resumed.status).toBe(206)
    expect(await body(resumed)).toEqual(blobBytes.subarray(100, 200))
    const byDate = await get({ Range: 'bytes=100-199', 'If-Range': lastModified })
    expect(byDate.status).toBe(206)
    await byDate.arrayBuffer()
    const stale = await get({ Range: 'bytes=100-199', 'If-Range': '"stale"' })
    expect(stale.status).toBe(200)
    expect((await body(stale)).length).toBe(size)

    const mismatch = await get({ 'If-Match': '"stale"' })
    expect(mismatch.status).toBe(412)
    await mismatch.arrayBuffer()
  })

  test('CORS preflight, other methods, missing file', async () => {
    const pre = await get({ Origin: 'https://other.example', 'Access-Control-Request-Headers': 'range' }, 'OPTIONS')
    expect(pre.status).toBe(204)
    expect(pre.headers.get('access-control-allow-origin')).toBe('*')
    // Every header WebTorrent's web seed and browser caches send.
    for (const h of ['Range', 'Cache-Control', 'User-Agent', 'If-None-Match', 'If-Modified-Since', 'If-Range']) expect(pre.headers.get('access-control-allow-headers')).toContain(h)
    const post = await get({}, 'POST')
    expect(post.status).toBe(405)
    expect(post.headers.get('allow')).toBe('GET, HEAD, OPTIONS')
    await post.arrayBuffer()
    const missing = await get({}, 'GET', 'missing.mp4')
    expect(missing.status).toBe(404)
    expect(missing.headers.get('content-type')).toContain('application/json')
    const json = (await missing.json()) as { error: { code: string; message: string } }
    expect(json.error.code).toBe('not_found')
    expect(typeof json.error.message).toBe('string')
  })

  test('a WebTorrent client downloads the file through the web seed alone, byte-identical', async () => {
    // 32 KiB pieces: 32 web-seed range requests for the 1 MiB file, so the pieces
    // (and their hashes) really come from separate ranges, not one lucky full GET.
    const made = await makeTorrent({ file: blob, name: 'blob.bin', announce: [], urlList: [`${base}/blob.bin`], pieceLength: 32 * 1024 })
    const downloadDir = mkdtempSync(join(tmpdir(), 'seedpod-wt-'))
    const client = new WebTorrent({ dht: false, lsd: false, utp: false, tracker: false, natUpnp: false, natPmp: false })
    // wires (the connections, web seeds included) is not in any declared API: read it via a cast.
    let torrent!: { infoHash: string; wires: { type: string }[]; on: (ev: string, fn: (e: Error) => void) => void }
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('web seed download timed out')), 8000)
        client.on('error', (e: Error) => { clearTimeout(timer); reject(e) })
        torrent = client.add(made.torrent, { path: downloadDir, announce: [] }) as unknown as typeof torrent
        torrent.on('error', (e: Error) => { clearTimeout(timer); reject(e) })
        torrent.on('done', () => { clearTimeout(timer); resolve() })
      })
      expect(torrent.infoHash).toBe(made.infoHash)
      // The only "peer" it ever had is the web seed, and it was asked for at least one range
      // per 32 KiB piece (WebTorrent asks per 16 KiB block).
      expect(torrent.wires.length).toBeGreaterThan(0)
      expect(torrent.wires.every((w) => w.type === 'webSeed')).toBe(true)
      expect(rangeRequests.get('blob.bin') ?? 0).toBeGreaterThanOrEqual(32)
      const downloaded = readFileSync(join(downloadDir, 'blob.bin'))
      expect(sha256(downloaded)).toBe(sha256(blobBytes))
    } finally {
      await new Promise<void>((resolve) => client.destroy(() => resolve()))
      rmSync(downloadDir, { recursive: true, force: true })
    }
  }, 10_000)

  test('a WebTorrent client downloads the video through the web seed', async () => {
    const made = await makeTorrent({ file: fastStart, name: 'fast-start.mp4', announce: [], urlList: [`${base}/fast-start.mp4`], pieceLength: 16 * 1024 })
    const downloadDir = mkdtempSync(join(tmpdir(), 'seedpod-wt-'))
    const client = new WebTorrent({ dht: false, lsd: false, utp: false, tracker: false, natUpnp: false, natPmp: false })
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('web seed download timed out')), 8000)
        const torrent = client.add(made.torrent, { path: downloadDir, announce: [] })
        torrent.on('error', (e: Error) => { clearTimeout(timer); reject(e) })
        torrent.on('done', () => { clearTimeout(timer); resolve() })
      })
      expect(sha256(readFileSync(join(downloadDir, 'fast-start.mp4')))).toBe(sha256(readFileSync(fastStart)))
    } finally {
      await new Promise<void>((resolve) => client.destroy(() => resolve()))
      rmSync(downloadDir, { recursive: true, force: true })
    }
  }, 10_000)
})
