/**
 * The pages' server side (src/pages/routes.ts, src/app/build.ts): the HTML shell at every page
 * route with its boot JSON, the bundled assets, WebTorrent's files, the score history of the
 * admin chart, and the pages (and icons) embedded in the compiled executable run from a bare folder.
 * What the pages do in a browser is test/e2e/browser.test.ts.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { chmodSync, copyFileSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { PAGE_ROUTES } from '../src/pages/routes'
import type { Boot } from '../src/pages/shell'
import { SCORE_HISTORY_MAX } from '../src/friends/store'
import { VideoStore } from '../src/videos/store'
import { thumbnailKey } from '../src/storage/keys'
import { adminToken, netPod, publish, stopPods } from './helpers/network'
import { BUN, Child, removeTempDirs, ROOT, tempDir, waitForPod, type TestPod } from './helpers/pods'
import { freePort } from './helpers/ports'
import { userToken } from './helpers/videos'

afterAll(stopPods)

afterAll(removeTempDirs)

/** The boot JSON of an HTML page. */
function bootOf(html: string): Boot {
  const m = /<script id="seedpod-boot" type="application\/json">(.*?)<\/script>/s.exec(html)
  if (!m) throw new Error('no boot JSON in the page')
  return JSON.parse(m[1]!) as Boot
}

/** URLs of the page's script and style sheets. */
function assetsOf(html: string): string[] {
  return [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]!)
}

let pod: TestPod

beforeAll(async () => {
  pod = await netPod({ registrations: 'open', name: 'Pages pod' })
})

describe('page routes', () => {
  test('every page route answers the app shell: HTML, CSP, no caching, boot JSON with the pod settings', async () => {
    // A watch or embed page of a video that is not there is a 404 (previews.test.ts).
    for (const route of PAGE_ROUTES.filter((r) => !r.includes(':id'))) {
      const res = await fetch(pod.base + route)
      expect(res.status).toBe(200)
      expect(res.headers.get('content-type')).toBe('text/html;charset=utf-8')
      expect(res.headers.get('cache-control')).toBe('no-cache')
      expect(res.headers.get('content-security-policy')).toContain("script-src 'self'")
      const html = await res.text()
      const boot = bootOf(html)
      expect(boot.pod).toEqual({
        name: 'Pages pod',
        url: pod.base,
        version: pod.running.pod.version,
        registrations: 'open',
        requireLoginToWatch: false,
        maxUploadBytes: pod.config.maxUploadBytes,
        iceServers: [],
        player: { bufferSeconds: 30, cacheBytes: 64 * 1024 * 1024 },
      })
      expect(Object.keys(boot.assets).sort()).toEqual(['hls', 'webtorrent'])
      expect(boot.assets.webtorrent).toMatch(/^\/vendor\/webtorrent\.min\.js\?v=\w+$/)
      expect(boot.assets.hls).toMatch(/^\/vendor\/hls\.light\.min\.mjs\?v=\w+$/)
      expect(boot.video).toBeUndefined()
      expect(html).toContain('<div id="app">')
    }
  })

  test('the bundle: hashed script and style sheet, cached for good, gzipped when asked; unknown assets 404', async () => {
    const html = await (await fetch(pod.base + '/')).text()
    const assets = assetsOf(html)
    expect(assets.some((a) => /^\/assets\/app-\w+\.js$/.test(a))).toBe(true)
    expect(assets.some((a) => /^\/assets\/app-\w+\.css$/.test(a))).toBe(true)
    for (const a of assets) {
      const plain = await fetch(pod.base + a, { headers: { 'accept-encoding': 'identity' } })
      expect(plain.status).toBe(200)
      expect(plain.headers.get('content-type')).toMatch(a.endsWith('.js') ? /^text\/javascript/ : /^text\/css/)
      expect(plain.headers.get('cache-control')).toBe('public, max-age=31536000, immutable')
      const body = await plain.text()
      expect(body.length).toBeGreaterThan(100)
      const gz = await fetch(pod.base + a, { headers: { 'accept-encoding': 'gzip' }, decompress: false } as RequestInit)
      expect(gz.headers.get('content-encoding')).toBe('gzip')
      expect(new TextDecoder().decode(Bun.gunzipSync(new Uint8Array(await gz.arrayBuffer())))).toBe(body)
    }
    expect((await fetch(pod.base + '/assets/app-nothere.js')).status).toBe(404)
  })

  test("WebTorrent's browser build and hls.js come from the pod, as shipped; no service worker any more", async () => {
    // The whole-file player's service worker is gone: nothing registers it, nothing serves it.
    expect((await fetch(pod.base + '/sw.min.js')).status).toBe(404)

    const { assets } = bootOf(await (await fetch(pod.base + '/')).text())
    const wt = await fetch(pod.base + assets.webtorrent, { headers: { 'accept-encoding': 'identity' } })
    expect(wt.headers.get('cache-control')).toBe('public, max-age=31536000, immutable')
    expect(await wt.text()).toBe(readFileSync(join(ROOT, 'node_modules/webtorrent/dist/webtorrent.min.js'), 'utf8'))
    // Without the current version tag it may change: revalidate.
    expect((await fetch(pod.base + '/vendor/webtorrent.min.js')).headers.get('cache-control')).toBe('no-cache')
    // hls.js, the stream player's, likewise.
    const hls = await fetch(pod.base + assets.hls, { headers: { 'accept-encoding': 'identity' } })
    expect(hls.headers.get('cache-control')).toBe('public, max-age=31536000, immutable')
    expect(await hls.text()).toBe(readFileSync(join(ROOT, 'node_modules/hls.js/dist/hls.light.min.mjs'), 'utf8'))
  })

  test('a watch page carries its video (no round trip before playback); a video without streams preloads no player library', async () => {
    const v = publish(pod, { name: 'Sunset </script><script>alert(1)</script> & co' })
    const html = await (await fetch(`${pod.base}/videos/${v.id}`)).text()
    const boot = bootOf(html)
    expect(boot.video).toEqual((await (await fetch(`${pod.base}/api/v1/videos/${v.id}`)).json()) as never)
    // It plays its file by a plain <video src> until its streams are there: no hls.js, no WebTorrent.
    expect(html).not.toContain(`<link rel="modulepreload" href="${boot.assets.webtorrent}">`)
    expect(html).not.toContain(`<link rel="modulepreload" href="${boot.assets.hls}">`)
    // The name is in the title, escaped; the JSON cannot close its script element.
    expect(html).toContain('<title>Sunset &#60;/script&#62;&#60;script&#62;alert(1)&#60;/script&#62; &#38; co · Pages pod</title>')
    expect(html.match(/<\/script>/g)?.length).toBe(2)
    // Every page preloads the app's own chunk.
    const home = await (await fetch(pod.base + '/')).text()
    expect(home).toMatch(/<link rel="modulepreload" href="\/assets\/main-[a-z0-9]+\.js">/)
  })

  test('a watch page of a long video carries its quick start: a <video> of its first five seconds from the web seed; a short one does not', async () => {
    const long = publish(pod, { name: 'Long "take" <one>', size: 8_000_000, duration: 40 })
    const html = await (await fetch(`${pod.base}/videos/${long.id}`)).text()
    const tag = /<video id="seedpod-quick"[^>]*>/.exec(html)?.[0]
    expect(tag).toBeDefined()
    // 5 s of 40 s at its average bit rate: 1,000,000 bytes, asked of its web seed.
    expect(tag).toContain(`data-bytes="1000000"`)
    const webseed = bootOf(html).video!.webseedUrls[0]!
    expect(webseed).toEndWith(`/static/webseed/${long.id}.mp4`)
    expect(tag).toContain(`src="${webseed}?head=1000000"`)
    expect(tag).toContain('aria-label="Video: Long &#34;take&#34; &#60;one&#62;"')
    expect(tag).toContain(' autoplay ')
    // Nothing is preloaded that would hold the first frame up: the app and the player come after it.
    expect(html).not.toContain('modulepreload')
    // Five seconds of a 20 s video are a quarter of it: peers may well have it, so no head start.
    for (const fields of [{ size: 8_000_000, duration: 20 }, { size: 8_000_000, duration: null }]) {
      const short = publish(pod, fields)
      expect(await (await fetch(`${pod.base}/videos/${short.id}`)).text()).not.toContain('seedpod-quick')
    }
  })

  test("a streamed video's quick start plays its lowest stream of 240 lines or more; a short one's page preloads hls.js and WebTorrent instead", async () => {
    const stream = (rendition: number, height: number, size: number) => ({ rendition, infoHash: 'ab'.repeat(20), size, width: Math.round((height * 16) / 9), height, bandwidth: size, codecs: 'avc1.64001f,mp4a.40.2' })
    const streams = [stream(144, 144, 500_000), stream(240, 240, 1_000_000), stream(0, 480, 8_000_000)]
    const long = publish(pod, { size: 8_000_000, duration: 40 })
    new VideoStore(pod.running.pod.db).saveStreams(long.id, streams)
    const html = await (await fetch(`${pod.base}/videos/${long.id}`)).text()
    // 5 s of 40 s of the 240p stream: 125,000 bytes of its file.
    expect(/<video id="seedpod-quick"[^>]*>/.exec(html)?.[0]).toContain(`src="${pod.base}/static/webseed/${long.id}.240.mp4?head=125000"`)
    const short = publish(pod, { size: 8_000_000, duration: 10 })
    new VideoStore(pod.running.pod.db).saveStreams(short.id, streams)
    const page = await (await fetch(`${pod.base}/videos/${short.id}`)).text()
    expect(page).not.toContain('seedpod-quick')
    expect(page).toContain(`<link rel="modulepreload" href="${bootOf(page).assets.hls}">`)
    expect(page).toContain(`<link rel="modulepreload" href="${bootOf(page).assets.webtorrent}">`)
  })

  test('the ICE servers of webrtc.iceServers reach the pages: in GET /api/v1/pod and in the boot JSON (none by default)', async () => {
    const info = (await (await fetch(`${pod.base}/api/v1/pod`)).json()) as { webrtc: { iceServers: string[] } }
    expect(info.webrtc).toEqual({ iceServers: [] })
    const servers = ['stun:stun.example.org:3478', 'turn:turn.example.org:3478?transport=udp']
    const withIce = await netPod({ webrtc: { iceServers: servers } })
    const withInfo = (await (await fetch(`${withIce.base}/api/v1/pod`)).json()) as { webrtc: { iceServers: string[] } }
    expect(withInfo.webrtc).toEqual({ iceServers: servers })
    expect(bootOf(await (await fetch(`${withIce.base}/`)).text()).pod.iceServers).toEqual(servers)
  })

  test('with requireLoginToWatch the watch page does not give the video away', async () => {
    const gated = await netPod({ requireLoginToWatch: true })
    const v = publish(gated)
    const boot = bootOf(await (await fetch(`${gated.base}/videos/${v.id}`)).text())
    expect(boot.pod.requireLoginToWatch).toBe(true)
    expect(boot.video).toBeUndefined()
    // Every route that shows a video asks for the login, thumbnails included; with it, they answer.
    writeFileSync(gated.running.pod.videos.files.path(thumbnailKey(v.id)), new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3]))
    const token = await userToken(gated)
    const routes = [`/api/v1/videos`, `/api/v1/videos/${v.id}`, `/api/v1/videos/${v.id}/details`, `/static/thumbnails/${v.id}.jpg`]
    for (const path of routes) {
      const anonymous = await fetch(gated.base + path)
      expect([path, anonymous.status, anonymous.headers.get('www-authenticate')]).toEqual([path, 401, 'Bearer realm="seedpod"'])
      const member = await fetch(gated.base + path, { headers: { authorization: `Bearer ${token}` } })
      expect([path, member.status]).toEqual([path, 200])
    }
    const views = await fetch(`${gated.base}/api/v1/videos/${v.id}/views`, { method: 'POST' })
    expect(views.status).toBe(401)
  })
})

describe("a friend's score history", () => {
  test('is recorded when the score changes, bounded, and shown to admins only', async () => {
    const store = pod.running.pod.friends.store
    const friend = { fingerprint: `fp-${crypto.randomUUID()}`, url: 'http://127.0.0.1:1', publicKey: { kty: 'RSA' }, name: 'Far pod' }
    store.upsert(friend, 100, 1000)
    const base = { state: 'active' as const, attempts: 0, nextRetryAt: null, lastError: null }
    const url = `${pod.base}/api/v1/friends/${friend.fingerprint}/scores`
    const admin = { authorization: `Bearer ${await adminToken(pod)}` }

    // Never changed: the current score at the friendship's start.
    expect(await (await fetch(url, { headers: admin })).json()).toEqual({ fingerprint: friend.fingerprint, scores: [{ at: new Date(1000).toISOString(), score: 100 }] })

    store.saveRecord(friend.fingerprint, { ...base, score: 110 }, 2000)
    store.saveRecord(friend.fingerprint, { ...base, score: 110, attempts: 1 }, 3000) // same score: no point
    store.saveRecord(friend.fingerprint, { ...base, score: 100 }, 4000)
    expect(((await (await fetch(url, { headers: admin })).json()) as { scores: unknown }).scores).toEqual([
      { at: new Date(2000).toISOString(), score: 110 },
      { at: new Date(4000).toISOString(), score: 100 },
    ])

    for (let i = 0; i < SCORE_HISTORY_MAX + 20; i++) store.saveRecord(friend.fingerprint, { ...base, score: i % 2 ? 200 : 190 }, 10_000 + i)
    const history = store.scoreHistory(friend.fingerprint)
    expect(history.length).toBe(SCORE_HISTORY_MAX)
    expect(history.at(-1)).toEqual({ at: 10_000 + SCORE_HISTORY_MAX + 19, score: 200 })
    expect(history[0]!.at).toBe(10_020)

    expect((await fetch(url)).status).toBe(401)
    expect((await fetch(url, { headers: { authorization: `Bearer ${await userToken(pod)}` } })).status).toBe(403)
    expect((await fetch(`${pod.base}/api/v1/friends/unknown/scores`, { headers: admin })).status).toBe(404)

    // The history goes with the friend.
    store.remove(friend.fingerprint)
    expect(store.scoreHistory(friend.fingerprint)).toEqual([])
  })
})

describe('the compiled executable', () => {
  test('serves the pages, the bundle, WebTorrent and hls.js from its embedded files, in a bare folder', async () => {
    const built = join(tempDir('seedpod-build-'), 'seedpod')
    const build = Bun.spawn([BUN, join(ROOT, 'src', 'app', 'build.ts'), '--outfile', built], { cwd: ROOT, stdout: 'pipe', stderr: 'pipe' })
    const [code, stderr] = await Promise.all([build.exited, new Response(build.stderr).text()])
    if (code !== 0) throw new Error(`build failed (${code}):\n${stderr}`)
    const dir = tempDir('seedpod-bare-')
    const exe = join(dir, 'seedpod')
    copyFileSync(built, exe)
    chmodSync(exe, 0o755)
    const port = await freePort()
    const child = new Child([exe, 'serve', '--host', '127.0.0.1', '--port', String(port), '--log-format', 'json'], {
      cwd: dir,
      env: { PATH: '/usr/bin:/bin', HOME: dir },
    })
    try {
      const base = `http://127.0.0.1:${port}`
      await waitForPod(base, child)
      const html = await (await fetch(`${base}/upload`)).text()
      expect(bootOf(html).pod.url).toBe(`http://localhost:${port}`)
      const assets = assetsOf(html)
      // The app's entry point, its chunk (main.tsx) and its style sheet.
      expect(assets.length).toBe(3)
      for (const a of assets) {
        const res = await fetch(base + a)
        expect(res.status).toBe(200)
        expect((await res.text()).length).toBeGreaterThan(100)
      }
      expect((await (await fetch(base + bootOf(html).assets.webtorrent)).arrayBuffer()).byteLength).toBe(readFileSync(join(ROOT, 'node_modules/webtorrent/dist/webtorrent.min.js')).length)
      expect((await (await fetch(base + bootOf(html).assets.hls)).arrayBuffer()).byteLength).toBe(readFileSync(join(ROOT, 'node_modules/hls.js/dist/hls.light.min.mjs')).length)
      // The icons too.
      for (const icon of ['favicon.ico', 'icon.svg', 'icon-192.png', 'icon-512.png']) {
        expect(new Uint8Array(await (await fetch(`${base}/${icon}`)).arrayBuffer())).toEqual(new Uint8Array(readFileSync(join(ROOT, 'src/pages/icons', icon))))
      }
    } finally {
      child.kill()
      await child.exit()
    }
  }, 60_000)
})
