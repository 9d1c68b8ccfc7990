/**
 * What browsers and other sites get around a video (src/pages/): HTML 404 and 500 pages in
 * the site's frame where the API keeps its JSON, a 404 for the watch page of a missing video,
 * the icons and the web app manifest, the embed page's framing rules, the preview tags of a
 * watch page as a real OpenGraph reader (npm open-graph-scraper) finds them, and oEmbed.
 * The embed page playing inside another site's frame is test/e2e/embed.test.ts.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { Elysia } from 'elysia'
import ogs from 'open-graph-scraper'
import { errors } from '../src/app/errors'
import { DomainError } from '../src/shared/errors'
import { watchHead } from '../src/pages/previews'
import { makeSite, type Boot } from '../src/pages/shell'
import type { Video } from '../src/videos/model'
import { makeClip } from './helpers/clips'
import { netPod, stopPods } from './helpers/network'
import { removeTempDirs, tempDir, type TestPod } from './helpers/pods'
import { uploadVideo, userToken } from './helpers/videos'

afterAll(stopPods)

afterAll(removeTempDirs)

const HTML = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' }

/** The boot JSON of an HTML page. */
function bootOf(html: string): Boot {
  const m = /<script id="seedpod-boot" type="application\/json">(.*?)<\/script>/s.exec(html)
  expect(m).not.toBeNull()
  return JSON.parse(m![1]!) as Boot
}

/** Checks an answer is the error page of `status`: HTML in the site's frame, the app told which error. */
async function expectErrorPage(res: Response, status: number, title: string) {
  expect(res.status).toBe(status)
  expect(res.headers.get('content-type')).toBe('text/html;charset=utf-8')
  expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'")
  const html = await res.text()
  expect(html).toContain('<header class="site-header">')
  expect(html).toContain('<a href="/" class="brand">Preview pod</a>')
  expect(html).toContain(`<h1>${title}</h1>`)
  expect(bootOf(html).error).toEqual({ status })
}

let pod: TestPod
let video: Video

beforeAll(async () => {
  const clip = await makeClip(tempDir('seedpod-previews-'), { seconds: 2, size: '320x240' })
  pod = await netPod({ name: 'Preview pod' })
  const res = await uploadVideo(pod.base, await userToken(pod, 'ada'), { file: Bun.file(clip), name: 'Harbour <at> dusk & "fog"', description: 'Boats come in.\nThe lights go on one by one.' })
  expect(res.status).toBe(201)
  video = (await res.json()) as Video
}, 60_000)

describe('errors as pages', () => {
  test('a browser at an unknown address gets the 404 page; the API and non-browsers keep JSON', async () => {
    await expectErrorPage(await fetch(`${pod.base}/nope`, { headers: HTML }), 404, 'Page not found')
    await expectErrorPage(await fetch(`${pod.base}/nope/deeper?x=1`, { headers: HTML }), 404, 'Page not found')
    for (const [path, headers] of [['/api/nope', HTML], ['/api/v1/nope', HTML], ['//api/v1/nope', HTML], ['/api', HTML], ['/static/x.js', HTML], ['/feeds/nope.xml', HTML], ['/nope', { accept: 'application/json' }], ['/nope', {}]] as const) {
      const res = await fetch(pod.base + path, { headers })
      expect(res.status).toBe(404)
      expect(res.headers.get('content-type')).toBe('application/json')
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('not_found')
    }
  })

  test('the watch page and the embed page of a video that does not exist answer 404 with the page', async () => {
    await expectErrorPage(await fetch(`${pod.base}/videos/nosuchvideo`, { headers: HTML }), 404, 'Page not found')
    await expectErrorPage(await fetch(`${pod.base}/videos/embed/nosuchvideo`, { headers: HTML }), 404, 'Page not found')
    // The API says the same in JSON.
    expect((await fetch(`${pod.base}/api/v1/videos/nosuchvideo`, { headers: HTML })).status).toBe(404)
  })

  test('an unexpected error is the 500 page for a browser, JSON for the API, without internals either way', async () => {
    const site = makeSite(pod.config, 'test', pod.running.pod.log, async () => undefined)
    const boom = () => {
      throw new DomainError('internal', 'boom', 'secret internals')
    }
    const app = new Elysia().use(errors(pod.running.pod.log, site)).get('/boom', boom).get('/api/boom', boom)
    const page = await app.handle(new Request('http://127.0.0.1/boom', { headers: HTML }))
    await expectErrorPage(page.clone(), 500, 'Something went wrong')
    expect(await page.text()).not.toContain('secret')
    const api = await app.handle(new Request('http://127.0.0.1/api/boom', { headers: HTML }))
    expect(api.status).toBe(500)
    expect(await api.json()).toEqual({ error: { code: 'internal', message: 'the pod hit an unexpected error; it has been logged' } })
  })

  test('the favicon, the SVG icon and the web app manifest; every page links them', async () => {
    const ico = await fetch(`${pod.base}/favicon.ico`, { headers: HTML })
    expect(ico.status).toBe(200)
    expect(ico.headers.get('content-type')).toBe('image/x-icon')
    // An ICO directory (reserved 0, type 1) of three images: 16, 32, 48 pixels.
    const bytes = new Uint8Array(await ico.arrayBuffer())
    expect([...bytes.slice(0, 6)]).toEqual([0, 0, 1, 0, 3, 0])
    expect([bytes[6], bytes[22], bytes[38]]).toEqual([16, 32, 48])
    const svg = await fetch(`${pod.base}/icon.svg`)
    expect(svg.headers.get('content-type')).toBe('image/svg+xml')
    expect(await svg.text()).toStartWith('<svg xmlns="http://www.w3.org/2000/svg"')

    const res = await fetch(`${pod.base}/manifest.webmanifest`)
    expect(res.headers.get('content-type')).toBe('application/manifest+json')
    const manifest = (await res.json()) as { name: string; start_url: string; display: string; theme_color: string; background_color: string; icons: { src: string; sizes: string; type: string }[] }
    expect(manifest).toMatchObject({ name: 'Preview pod', start_url: '/', display: 'standalone', theme_color: '#f6f7f9', background_color: '#f6f7f9' })
    expect(manifest.icons.map((i) => i.sizes)).toEqual(['any', '192x192', '512x512'])
    for (const icon of manifest.icons) {
      const got = await fetch(pod.base + icon.src)
      expect(got.status).toBe(200)
      expect(got.headers.get('content-type')).toBe(icon.type)
      if (icon.type === 'image/png') {
        const png = new DataView(await got.arrayBuffer())
        // The PNG's IHDR says its size.
        expect(`${png.getUint32(16)}x${png.getUint32(20)}`).toBe(icon.sizes)
      }
    }
    for (const path of ['/', `/videos/${video.id}`, '/nope']) {
      const html = await (await fetch(pod.base + path, { headers: HTML })).text()
      expect(html).toContain('<link rel="icon" href="/favicon.ico" sizes="16x16 32x32 48x48">')
      expect(html).toContain('<link rel="icon" href="/icon.svg" type="image/svg+xml">')
      expect(html).toContain('<link rel="manifest" href="/manifest.webmanifest">')
    }
  })
})

describe('embeds and previews', () => {
  test('only the embed page may be framed by other sites', async () => {
    const embed = await fetch(`${pod.base}/videos/embed/${video.id}`, { headers: HTML })
    expect(embed.status).toBe(200)
    expect(embed.headers.get('content-security-policy')).toContain('frame-ancestors *')
    expect(embed.headers.get('content-security-policy')).not.toContain("'none'; form")
    expect(bootOf(await embed.text()).video?.id).toBe(video.id)
    for (const path of ['/', `/videos/${video.id}`, '/upload', '/nope']) {
      const csp = (await fetch(pod.base + path, { headers: HTML })).headers.get('content-security-policy')
      expect(csp).toContain("frame-ancestors 'none'")
    }
  })

  test('an OpenGraph reader (open-graph-scraper) finds the title, image and player of a watch page', async () => {
    const watch = `${pod.base}/videos/${video.id}`
    const embed = `${pod.base}/videos/embed/${video.id}`
    const html = await (await fetch(watch)).text()
    const { error, result } = await ogs({ url: watch, urlValidatorSettings: { require_tld: false, protocols: ['http'], require_host: true } as never })
    expect(error).toBe(false)
    expect(result.ogTitle).toBe('Harbour <at> dusk & "fog"')
    expect(result.ogType).toBe('video.other')
    expect(result.ogDescription).toBe('Boats come in. The lights go on one by one.')
    expect(result.ogSiteName).toBe('Preview pod')
    expect(result.ogUrl).toBe(watch)
    expect(result.ogImage?.[0]).toMatchObject({ url: video.thumbnailUrl!, width: '320', height: '240' })
    // The image is there, absolute, a JPEG.
    const image = await fetch(result.ogImage![0]!.url)
    expect(image.headers.get('content-type')).toBe('image/jpeg')
    expect(result.ogVideo?.[0]).toMatchObject({ url: embed, type: 'text/html', width: '320', height: '240' })
    // This pod's URL is plain HTTP: it has no secure_url to give.
    expect(html).not.toContain('og:video:secure_url')
    const tls = watchHead({ ...pod.config, url: 'https://pods.example' }, video)
    expect(tls).toContain(`<meta property="og:video:secure_url" content="https://pods.example/videos/embed/${video.id}">`)
    expect(result.twitterCard).toBe('player')
    expect(result.twitterPlayer?.[0]).toMatchObject({ url: embed, width: '320', height: '240' })
    // The HTML escapes the name in every tag; nothing of it leaks out of an attribute.
    expect(html).toContain('<meta property="og:title" content="Harbour &#60;at&#62; dusk &#38; &#34;fog&#34;">')
    expect(html).not.toContain('<at>')
  })

  test('oEmbed: discovered from the watch page, a video with the iframe of the embed page, sized within maxwidth/maxheight', async () => {
    const watch = `${pod.base}/videos/${video.id}`
    const html = await (await fetch(watch)).text()
    const link = /<link rel="alternate" type="application\/json\+oembed" href="([^"]+)"/.exec(html)
    expect(link).not.toBeNull()
    const href = link![1]!.replace(/&#38;/g, '&')
    expect(href).toBe(`${pod.base}/services/oembed?url=${encodeURIComponent(watch)}&format=json`)
    const res = await fetch(href)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toStartWith('application/json')
    const embed = `${pod.base}/videos/embed/${video.id}`
    expect(await res.json()).toEqual({
      version: '1.0',
      type: 'video',
      title: 'Harbour <at> dusk & "fog"',
      author_name: 'ada',
      author_url: pod.base,
      provider_name: 'Preview pod',
      provider_url: pod.base,
      html: `<iframe src="${embed}" width="320" height="240" title="Harbour &#60;at&#62; dusk &#38; &#34;fog&#34;" frameborder="0" allow="autoplay; fullscreen; picture-in-picture" allowfullscreen sandbox="allow-same-origin allow-scripts allow-popups allow-popups-to-escape-sandbox"></iframe>`,
      width: 320,
      height: 240,
      thumbnail_url: video.thumbnailUrl,
      thumbnail_width: 320,
      thumbnail_height: 240,
    })
    const sized = async (q: string) => (await (await fetch(`${pod.base}/services/oembed?url=${encodeURIComponent(embed)}${q}`)).json()) as { width: number; height: number; html: string }
    expect(await sized('&maxwidth=160')).toMatchObject({ width: 160, height: 120 })
    expect(await sized('&maxheight=60&maxwidth=1000')).toMatchObject({ width: 80, height: 60 })
    // Never larger than the video.
    expect(await sized('&maxwidth=5000')).toMatchObject({ width: 320, height: 240 })
    expect((await sized('&maxwidth=160')).html).toContain('width="160" height="120"')
  })

  test('oEmbed refuses what is not a video of this pod, and XML', async () => {
    const ask = (q: string) => fetch(`${pod.base}/services/oembed?${q}`)
    const watch = `${pod.base}/videos/${video.id}`
    expect((await ask(`url=${encodeURIComponent(watch)}&format=xml`)).status).toBe(501)
    for (const url of [`${pod.base}/videos/nosuchvideo`, `http://elsewhere.example/videos/${video.id}`, `${pod.base}/`, 'not a url', `${pod.base}/upload`]) {
      const res = await ask(`url=${encodeURIComponent(url)}`)
      expect(res.status).toBe(404)
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('not_found')
    }
    expect((await ask('format=json')).status).toBe(400)
    expect((await ask(`url=${encodeURIComponent(watch)}&maxwidth=-3`)).status).toBe(400)
  })
})
