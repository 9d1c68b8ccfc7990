/**
 * The S3 test server (test/helpers/radosgw.ts): a real radosgw on a single-node Ceph cluster
 * on loopback, and, through Bun.S3Client and plain fetch, what videos in object storage will
 * rely on: objects, ranges, HEAD, presigned and public URLs, CORS, multipart uploads.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { createHash, randomBytes } from 'node:crypto'
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { startRadosgw, type Radosgw } from './helpers/radosgw'

// Real daemons on a shared machine: far more than they need, never a timing assertion.
setDefaultTimeout(60_000)

const BUCKET = 'seedpod-videos'
let gw: Radosgw
let s3: Bun.S3Client

beforeAll(async () => {
  gw = await startRadosgw({ bucket: BUCKET })
  s3 = gw.client()
}, 120_000)

afterAll(async () => {
  await gw?.stop()
})

const md5 = (b: Uint8Array) => createHash('md5').update(b).digest('hex')
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex')
const objectUrl = (key: string) => `${gw.endpoint}/${BUCKET}/${key}`

/** Processes (pid: command line) whose command line mentions `text`. */
function processesMentioning(text: string): string[] {
  const found: string[] = []
  for (const pid of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ')
      if (cmdline.includes(text)) found.push(`${pid}: ${cmdline}`)
    } catch {
      // gone meanwhile
    }
  }
  return found
}

describe('radosgw test cluster', () => {
  test('runs its three daemons on loopback, with a user whose keys sign requests', async () => {
    expect(gw.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    const names = gw.pids().map((pid) => readFileSync(`/proc/${pid}/comm`, 'utf8').trim())
    expect(names.sort()).toEqual(['ceph-mon', 'ceph-osd', 'radosgw'])
    // Signed ListBuckets shows the bucket; unsigned, it is refused to an anonymous user's view.
    const signed = await gw.request('GET', '/')
    expect(signed.status).toBe(200)
    expect(await signed.text()).toContain(`<Name>${BUCKET}</Name>`)
    const wrongKey = new Bun.S3Client({ endpoint: gw.endpoint, region: gw.region, bucket: BUCKET, accessKeyId: gw.accessKeyId, secretAccessKey: 'not-the-secret-key-at-all-0123456789abcd' })
    await expect(wrongKey.file('x').text()).rejects.toThrow()
  })

  test('put and get an object byte for byte, with its type', async () => {
    const body = new Uint8Array(70_000).map((_, i) => i % 256)
    await s3.write('videos/put.bin', body, { type: 'video/mp4' })
    const file = s3.file('videos/put.bin')
    expect(new Uint8Array(await file.arrayBuffer())).toEqual(body)
    const stat = await file.stat()
    expect(stat.type).toBe('video/mp4')
  })

  test('ranged get: S3File.slice and a Range header on a presigned URL (206, Content-Range)', async () => {
    const body = randomBytes(100_000)
    await s3.write('videos/range.bin', body)
    expect(new Uint8Array(await s3.file('videos/range.bin').slice(1000, 1100).arrayBuffer())).toEqual(new Uint8Array(body.subarray(1000, 1100)))
    // The open end too: from byte 99 990 to the end.
    expect(new Uint8Array(await s3.file('videos/range.bin').slice(99_990).arrayBuffer())).toEqual(new Uint8Array(body.subarray(99_990)))
    // What a browser seeking in a video does with a URL the pod hands out.
    const res = await fetch(s3.presign('videos/range.bin', { expiresIn: 300 }), { headers: { range: 'bytes=50000-50009' } })
    expect(res.status).toBe(206)
    expect(res.headers.get('content-range')).toBe('bytes 50000-50009/100000')
    expect(res.headers.get('accept-ranges')).toBe('bytes')
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(new Uint8Array(body.subarray(50_000, 50_010)))
  })

  test('HEAD: size and ETag (the MD5 of a single-part object)', async () => {
    const body = randomBytes(12_345)
    await s3.write('videos/head.bin', body)
    const stat = await s3.stat('videos/head.bin')
    expect(stat.size).toBe(12_345)
    expect(stat.etag).toBe(`"${md5(body)}"`)
    expect(await s3.size('videos/head.bin')).toBe(12_345)
    expect(await s3.exists('videos/head.bin')).toBe(true)
    expect(await s3.exists('videos/nothing-here.bin')).toBe(false)
  })

  test('presigned GET URL: plain fetch gets the object; an expired or altered one is refused', async () => {
    const body = randomBytes(5000)
    await s3.write('videos/presigned.bin', body)
    const url = s3.presign('videos/presigned.bin', { expiresIn: 300 })
    expect(url.startsWith(`${gw.endpoint}/${BUCKET}/videos/presigned.bin?`)).toBe(true)
    const res = await fetch(url)
    expect(res.status).toBe(200)
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(new Uint8Array(body))

    const altered = url.replace(/X-Amz-Signature=([0-9a-f])/, (_, c: string) => `X-Amz-Signature=${c === '0' ? '1' : '0'}`)
    const refusedAltered = await fetch(altered)
    expect(refusedAltered.status).toBe(403)
    await refusedAltered.arrayBuffer()

    const shortLived = s3.presign('videos/presigned.bin', { expiresIn: 1 })
    // X-Amz-Date has whole seconds: past 2 s the 1 s URL has expired whatever the rounding.
    await Bun.sleep(2500)
    const expired = await fetch(shortLived)
    expect(expired.status).toBe(403)
    expect(await expired.text()).toContain('AccessDenied')
  })

  test('public-read object: fetched without credentials; a private one is not', async () => {
    await s3.write('videos/public.bin', 'for everyone', { acl: 'public-read' })
    const res = await fetch(objectUrl('videos/public.bin'))
    expect(res.status).toBe(200)
    expect(await res.text()).toBe('for everyone')

    await s3.write('videos/private.bin', 'for the pod')
    const refused = await fetch(objectUrl('videos/private.bin'))
    expect(refused.status).toBe(403)
    await refused.arrayBuffer()
  })

  test('bucket CORS rules: set with PutBucketCors, a preflight answered, the GET carries them', async () => {
    const rules = `<CORSConfiguration>
  <CORSRule>
    <AllowedOrigin>http://pod.example</AllowedOrigin>
    <AllowedMethod>GET</AllowedMethod>
    <AllowedMethod>HEAD</AllowedMethod>
    <AllowedHeader>*</AllowedHeader>
    <ExposeHeader>Content-Range</ExposeHeader>
    <ExposeHeader>ETag</ExposeHeader>
    <MaxAgeSeconds>3000</MaxAgeSeconds>
  </CORSRule>
</CORSConfiguration>`
    const contentMd5 = createHash('md5').update(rules).digest('base64')
    const put = await gw.request('PUT', `/${BUCKET}`, { query: { cors: '' }, body: rules, headers: { 'content-md5': contentMd5, 'content-type': 'application/xml' } })
    expect(put.status).toBe(200)
    await put.arrayBuffer()
    const get = await gw.request('GET', `/${BUCKET}`, { query: { cors: '' } })
    expect(get.status).toBe(200)
    expect(await get.text()).toContain('<AllowedOrigin>http://pod.example</AllowedOrigin>')

    await s3.write('videos/cors.bin', 'cross-origin', { acl: 'public-read' })
    const preflight = await fetch(objectUrl('videos/cors.bin'), {
      method: 'OPTIONS',
      headers: { origin: 'http://pod.example', 'access-control-request-method': 'GET', 'access-control-request-headers': 'range' },
    })
    expect(preflight.status).toBe(200)
    await preflight.arrayBuffer()
    expect(preflight.headers.get('access-control-allow-origin')).toBe('http://pod.example')
    expect(preflight.headers.get('access-control-allow-methods')).toContain('GET')
    expect(preflight.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('range')
    expect(preflight.headers.get('access-control-max-age')).toBe('3000')

    const other = await fetch(objectUrl('videos/cors.bin'), { method: 'OPTIONS', headers: { origin: 'http://elsewhere.example', 'access-control-request-method': 'GET' } })
    expect(other.status).toBe(403)
    expect(other.headers.get('access-control-allow-origin')).toBeNull()
    await other.arrayBuffer()

    const res = await fetch(objectUrl('videos/cors.bin'), { headers: { origin: 'http://pod.example', range: 'bytes=0-4' } })
    expect(res.status).toBe(206)
    expect(await res.text()).toBe('cross')
    expect(res.headers.get('access-control-allow-origin')).toBe('http://pod.example')
    expect(res.headers.get('access-control-expose-headers')).toContain('Content-Range')
  })

  test('multipart upload of a 17 MiB object (writer, 5 MiB parts) reads back byte-identical', async () => {
    const size = 17 * 1024 * 1024 + 12_345
    const body = randomBytes(size)
    const writer = s3.file('videos/multipart.bin').writer({ partSize: 5 * 1024 * 1024, queueSize: 2, type: 'video/mp4' })
    for (let at = 0; at < size; at += 1024 * 1024) {
      await writer.write(body.subarray(at, Math.min(size, at + 1024 * 1024)))
    }
    await writer.end()

    const stat = await s3.stat('videos/multipart.bin')
    expect(stat.size).toBe(size)
    // A multipart ETag: MD5 of the parts' MD5s, dash, number of parts (4: 5+5+5+2 MiB).
    expect(stat.etag).toMatch(/^"[0-9a-f]{32}-4"$/)
    expect(stat.type).toBe('video/mp4')
    const back = new Uint8Array(await s3.file('videos/multipart.bin').arrayBuffer())
    expect(back.length).toBe(size)
    expect(sha256(back)).toBe(sha256(body))
    // A range across the boundary of parts 1 and 2.
    const boundary = 5 * 1024 * 1024
    expect(new Uint8Array(await s3.file('videos/multipart.bin').slice(boundary - 10, boundary + 10).arrayBuffer())).toEqual(new Uint8Array(body.subarray(boundary - 10, boundary + 10)))
  })

  test('delete: the object is gone (exists false, get fails, list without it)', async () => {
    await s3.write('videos/delete-me.bin', 'short-lived')
    expect(await s3.exists('videos/delete-me.bin')).toBe(true)
    await s3.delete('videos/delete-me.bin')
    expect(await s3.exists('videos/delete-me.bin')).toBe(false)
    await expect(s3.file('videos/delete-me.bin').text()).rejects.toThrow()
    const listed = await s3.list({ prefix: 'videos/' })
    const keys = (listed.contents ?? []).map((c) => c.key)
    expect(keys).toContain('videos/put.bin')
    expect(keys).not.toContain('videos/delete-me.bin')
  })

  test('a second cluster runs beside the first, on other ports, with its own objects', async () => {
    const second = await startRadosgw({ bucket: BUCKET })
    try {
      expect(second.endpoint).not.toBe(gw.endpoint)
      await second.client().write('only-here.txt', 'second')
      expect(await second.client().file('only-here.txt').text()).toBe('second')
      expect(await s3.exists('only-here.txt')).toBe(false)
      expect(await s3.exists('videos/put.bin')).toBe(true)
    } finally {
      await second.stop()
    }
    expect(processesMentioning(second.dir)).toEqual([])
    expect(existsSync(second.dir)).toBe(false)
    // The first is still up.
    expect(await s3.file('videos/public.bin').text()).toBe('for everyone')
  }, 120_000)

  test('a failed start names the daemon and the end of its log, and leaves nothing behind', async () => {
    // radosgw cannot bind a port that is taken: it exits once monitor and OSD are up.
    const taken = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } })
    let message = ''
    try {
      await startRadosgw({ port: taken.port })
    } catch (e) {
      message = String(e)
    } finally {
      taken.stop(true)
    }
    expect(message).toContain('radosgw exited')
    // Its own words when it logged them before exiting (not always), else its exit status's.
    expect(message).toMatch(new RegExp(`failed to bind address 127\\.0\\.0\\.1:${taken.port}: Address already in use|exited \\(98, EADDRINUSE`))
    const dir = message.match(/(\/\S+\/seedpod-radosgw-[^/\s]+)\//)?.[1]
    expect(dir).toBeDefined()
    expect(processesMentioning(dir!)).toEqual([])
    expect(existsSync(dir!)).toBe(false)
  }, 120_000)

  test('a test process killed before stop() takes its daemons with it (parent-death signal)', async () => {
    const helper = join(import.meta.dir, 'helpers', 'radosgw.ts')
    const script = `import { startRadosgw } from ${JSON.stringify(helper)}
const gw = await startRadosgw()
console.log(gw.dir)
await Bun.sleep(120_000)`
    const child = Bun.spawn([process.execPath, '-e', script], { stdin: 'ignore', stdout: 'pipe', stderr: 'pipe' })
    let dir: string | undefined
    try {
      const reader = child.stdout.getReader()
      let out = ''
      while (!out.includes('\n')) {
        const { value, done } = await reader.read()
        if (done) throw new Error(`the child exited before starting its cluster: ${await new Response(child.stderr).text()}`)
        out += new TextDecoder().decode(value)
      }
      dir = out.trim()
      expect(processesMentioning(dir).length).toBe(3)
      child.kill('SIGKILL')
      await child.exited
      // The kernel sends the daemons SIGKILL as the killed process is torn down.
      const deadline = Date.now() + 15_000
      while (processesMentioning(dir).length > 0 && Date.now() < deadline) await Bun.sleep(50)
      expect(processesMentioning(dir)).toEqual([])
    } finally {
      child.kill('SIGKILL')
      // Nobody was left to remove its folder.
      if (dir?.includes('seedpod-radosgw-')) rmSync(dir, { recursive: true, force: true })
    }
  }, 120_000)

  test('stop() ends every daemon (none left in /proc) and removes the folder', async () => {
    const pids = gw.pids()
    expect(pids.length).toBe(3)
    const dir = gw.dir
    await gw.stop()
    for (const pid of pids) expect(existsSync(`/proc/${pid}`) ? `${pid} still in /proc` : 'gone').toBe('gone')
    expect(processesMentioning(dir)).toEqual([])
    expect(existsSync(dir)).toBe(false)
    // And stop() again is harmless (afterAll calls it too).
    await gw.stop()
  })
})
