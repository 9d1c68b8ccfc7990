/**
 * The pod's pages: the Preact app of public/ (one HTML shell for every page route, routed in
 * the browser), its bundled assets, and the player's libraries (WebTorrent's and hls.js's
 * browser builds), all served by the pod itself (no CDN).
 *
 * Where the assets come from: inside the compiled executable, from the files embedded at
 * build time (public/embedded.ts, replaced by src/app/build.ts); run from source, from a bundle
 * Bun makes in memory (bundle.ts) when the first pod of the process starts (about 100-300
 * ms, in the background; a page request waits for it). Either way nothing is read from the
 * working directory, so the executable works from a bare folder.
 *
 * The HTML shell carries a little JSON for the app to start without a round trip: the pod's
 * public settings and, on a watch page, the video (unless the pod asks for a login first).
 */
import { Elysia } from 'elysia'
// WebTorrent's browser build: `type: 'file'` gives a path that works from source
// (node_modules) and inside the executable (embedded).
import webtorrentPath from 'webtorrent/dist/webtorrent.min.js' with { type: 'file' }
// hls.js (its light build: no subtitles, no DRM), the stream player's MSE, buffer and adaptive switching.
import hlsPath from 'hls.js/dist/hls.light.min.mjs' with { type: 'file' }
import { embedded } from '../../public/embedded'
import { anonymousMayWatch } from '../accounts/auth'
import type { Config } from '../shared/config'
import type { Logger } from '../shared/log'
import { DomainError } from '../shared/errors'
import { HEAD_START, headStartBytes, START_HEIGHT } from '../shared/playback'
import { webseedUrl } from '../shared/urls'
import type { Video } from '../videos/model'
import type { StreamIn } from '../videos/streams'
import { bundlePages, type PageBundle } from './bundle'

/** The routes that answer with the app's HTML (the app routes in the browser). */
export const PAGE_ROUTES = ['/', '/videos/:id', '/upload', '/login', '/register', '/admin'] as const

/** What the HTML shell hands the app (the `seedpod-boot` JSON). */
export interface Boot {
  pod: {
    name: string
    url: string
    version: string
    registrations: Config['registrations']
    requireLoginToWatch: boolean
    maxUploadBytes: number
    /** STUN/TURN server URLs for the player's WebRTC connections (config `webrtc.iceServers`). */
    iceServers: readonly string[]
    /** The stream player's buffer ahead and memory cap (config `player`). */
    player: { bufferSeconds: number; cacheBytes: number }
  }
  /** Assets the app loads later, by their cache-busting URLs. */
  assets: { webtorrent: string; hls: string }
  /** On a watch page: the video, when it exists and may be shown without a login. */
  video?: Video
}

interface Asset {
  type: string
  body: Blob
  /** gzip of the body, made on first request (text assets only). */
  gzip?: Uint8Array<ArrayBuffer>
}

interface Pages {
  /** Bundled files by name (`/assets/<name>`). */
  assets: Map<string, Asset>
  /** URL of the app's script, of its chunks (the app itself, main.tsx) and of its style sheets. */
  script: string
  chunks: string[]
  styles: string[]
  webtorrent: { url: string; asset: Asset }
  hls: { url: string; asset: Asset }
}

/** The bundle, made once per process (every pod of a test process shares it). */
let loading: Promise<Pages> | undefined

function versionTag(bytes: Uint8Array): string {
  return Bun.hash(bytes).toString(36)
}

async function loadPages(): Promise<Pages> {
  const files: PageBundle = embedded
    ? embedded.map((f) => ({ name: f.name, kind: f.kind, type: f.type, body: Bun.file(f.path) }))
    : await bundlePages()
  const assets = new Map<string, Asset>()
  for (const f of files) assets.set(f.name, { type: f.type, body: f.body })
  const entry = files.find((f) => f.kind === 'entry-point' && f.name.endsWith('.js'))
  if (!entry) throw new DomainError('internal', 'no_entry_script', 'the page bundle has no entry script')
  const wtBytes = new Uint8Array(await Bun.file(webtorrentPath).arrayBuffer())
  const hlsBytes = new Uint8Array(await Bun.file(hlsPath).arrayBuffer())
  return {
    assets,
    script: `/assets/${entry.name}`,
    chunks: files.filter((f) => f.kind === 'chunk' && f.name.endsWith('.js')).map((f) => `/assets/${f.name}`),
    styles: files.filter((f) => f.name.endsWith('.css')).map((f) => `/assets/${f.name}`),
    webtorrent: {
      url: `/vendor/webtorrent.min.js?v=${versionTag(wtBytes)}`,
      asset: { type: 'text/javascript;charset=utf-8', body: new Blob([wtBytes]) },
    },
    hls: {
      url: `/vendor/hls.light.min.mjs?v=${versionTag(hlsBytes)}`,
      asset: { type: 'text/javascript;charset=utf-8', body: new Blob([hlsBytes]) },
    },
  }
}

/** The page assets, loading them on first use; a failed load is logged and retried next time. */
function pages(log: Logger): Promise<Pages> {
  loading ??= loadPages().catch((e) => {
    loading = undefined
    log.error('pages.bundle.failed', { error: e as Error })
    throw e
  })
  return loading
}

/** JSON that is safe inside a <script> element: no `</script>`, no `<!--`, no U+2028/2029. */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029')
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

/**
 * The Content-Security-Policy of the pages: scripts, styles and workers only from the pod;
 * media and images from this pod and other pods (hls.js's MediaSource is a blob: URL; a video
 * without streams plays from its web seed; thumbnails); connections to any pod's API, web
 * seed and tracker (remote videos).
 */
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob: http: https:",
  "media-src 'self' blob: http: https:",
  "connect-src 'self' http: https: ws: wss:",
  "worker-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'self'",
].join('; ')

/**
 * The quick start of a watch page (public/player/quick.ts): a `<video>` of the head start of
 * the video (its first seconds, `?head=` of its web seed), for the browser to play while it
 * loads the app. None for a video too short for a head start (it waits for peers), or
 * without size, duration or web seed. The player then reads the segments within those bytes
 * from the browser's cache: both take their length from src/shared/playback.ts.
 */
async function quickStart(video: Video | undefined, streamHead: PageRoutesDeps['streamHead'], podUrl: string): Promise<string> {
  // A video played by its streams starts with one that slow links carry too (the player's
  // adaptive switching takes it from there), else the original.
  const streams = (video?.streams ?? []) as (StreamIn & { webseedUrl?: string; webseedUrls?: string[] })[]
  const stream = streams.find((s) => s.height >= START_HEIGHT) ?? streams[0]
  // A friend's video this pod keeps a copy of starts from the copy: here, whether its origin answers or not.
  const copy = video?.podUrl === podUrl ? undefined : stream?.webseedUrls?.find((u) => u.startsWith(`${podUrl}/`))
  const seed = copy ?? (stream ? stream.webseedUrl : video?.webseedUrls[0])
  // An own file in a bucket has the bucket's URL, which has no `?head=`: this pod's web seed reads the head from there.
  const url = seed && video?.podUrl === podUrl ? webseedUrl(podUrl, new URL(seed).pathname.split('/').pop()!) : seed
  const estimate = headStartBytes(stream ? stream.size : video?.size, video?.duration)
  // A stream's head ends where a segment does, so that the player reads whole segments of it.
  const bytes = estimate && stream && video ? ((await streamHead(video.id, stream.rendition, HEAD_START.seconds)) ?? estimate) : estimate
  if (!video || !url || !bytes) return ''
  const src = new URL(url)
  src.searchParams.set('head', String(bytes))
  const poster = video.thumbnailUrl ? ` poster="${escapeHtml(video.thumbnailUrl)}"` : ''
  return `<div class="quick-start"><video id="seedpod-quick" class="player" autoplay playsinline preload="auto"${poster} aria-label="${escapeHtml(`Video: ${video.name}`)}" data-video="${escapeHtml(video.id)}" data-bytes="${bytes}" src="${escapeHtml(src.href)}"></video></div>\n`
}

function shell(p: Pages, boot: Boot, title: string, watch: boolean, quick: string): string {
  // The app's chunks are fetched alongside its entry point, and on the watch page of a
  // streamed video the player's libraries too, which it needs soon; with a quick start, all of
  // them once its first frame is up (compiling them would hold that frame up).
  const streamed = watch && !!boot.video?.streams?.length
  const preloads = quick ? [] : [...p.chunks, ...(streamed ? [p.webtorrent.url, p.hls.url] : [])]
  const preload = preloads.map((url) => `<link rel="modulepreload" href="${url}">`).join('\n')
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>${escapeHtml(title)}</title>
<link rel="icon" href="data:,">
${p.styles.map((s) => `<link rel="stylesheet" href="${s}">`).join('\n')}
<script type="module" src="${p.script}"></script>
${preload}
<script id="seedpod-boot" type="application/json">${scriptJson(boot)}</script>
</head>
<body>
${quick}<div id="app"><noscript><p class="noscript">seedpod needs JavaScript to play videos peer to peer.</p></noscript></div>
</body>
</html>
`
}

/** Answers with an asset, gzipped when the client takes it (webtorrent.min.js: 220 KB, 65 KB gzipped). */
async function send(request: Request, asset: Asset, cacheControl: string): Promise<Response> {
  const headers: Record<string, string> = { 'content-type': asset.type, 'cache-control': cacheControl, 'x-content-type-options': 'nosniff' }
  const compressible = /^(text\/|application\/json)/.test(asset.type)
  if (!compressible) return new Response(asset.body, { headers })
  headers.vary = 'Accept-Encoding'
  if (!/\bgzip\b/.test(request.headers.get('accept-encoding') ?? '')) return new Response(asset.body, { headers })
  asset.gzip ??= Bun.gzipSync(new Uint8Array(await asset.body.arrayBuffer()))
  headers['content-encoding'] = 'gzip'
  return new Response(asset.gzip, { headers })
}

/** A vendored library: the URL the pages use carries the content's hash, and that one may be cached for good. */
function vendor(request: Request, lib: { url: string; asset: Asset }, asked: string): Promise<Response> {
  return send(request, lib.asset, asked === lib.url ? 'public, max-age=31536000, immutable' : 'no-cache')
}

function notFound(what: string): Response {
  return Response.json({ error: { code: 'not_found', message: `no ${what}` } }, { status: 404 })
}

/** What the page routes use. */
export interface PageRoutesDeps {
  fingerprint: string
  config: Config
  version: string
  log: Logger
  /** A video of the index, as the API shows it. */
  video(id: string): Video | undefined
  /** The bytes of an own stream's first whole segments that hold `seconds` of it, if this pod has its playlist. */
  streamHead(id: string, rendition: number, seconds: number): Promise<number | undefined>
}

/** Elysia plugin: the page routes, `/assets/*`, `/vendor/webtorrent.min.js` and `/vendor/hls.light.min.mjs`. */
export const pageRoutes = ({ fingerprint, config, version, log, video: videoOf, streamHead }: PageRoutesDeps) => {
  // Start bundling now, in the background, so that the first page does not wait for it.
  pages(log).catch(() => undefined)

  const podBoot: Boot['pod'] = {
    name: config.name,
    url: config.url,
    version: version,
    registrations: config.registrations,
    requireLoginToWatch: config.requireLoginToWatch,
    maxUploadBytes: config.maxUploadBytes,
    iceServers: config.webrtc.iceServers,
    player: { bufferSeconds: config.player.bufferSeconds, cacheBytes: config.player.cacheBytes },
  }

  const page = async (title: string, watch: boolean, video?: Video) => {
    const p = await pages(log)
    const boot: Boot = { pod: podBoot, assets: { webtorrent: p.webtorrent.url, hls: p.hls.url }, ...(video ? { video } : {}) }
    return new Response(shell(p, boot, title, watch, await quickStart(boot.video, streamHead, config.url)), {
      headers: {
        'content-type': 'text/html;charset=utf-8',
        // The shell names the current (hashed) assets: always ask again.
        'cache-control': 'no-cache',
        'content-security-policy': CSP,
        'x-content-type-options': 'nosniff',
        'referrer-policy': 'same-origin',
      },
    })
  }

  const app = new Elysia({ name: 'pages', seed: fingerprint })
  for (const route of PAGE_ROUTES) {
    if (route === '/videos/:id') continue
    app.get(route, () => page(config.name, false))
  }
  return app
    .get('/videos/:id', ({ params }) => {
      // The video goes into the page (no extra round trip before playback) unless the pod
      // wants a login first: then the app asks for it with the user's token.
      const video = anonymousMayWatch(config) ? videoOf(params.id) : undefined
      return page(video ? `${video.name} · ${config.name}` : config.name, true, video)
    })
    .get('/assets/:name', async ({ request, params }) => {
      const asset = (await pages(log)).assets.get(params.name)
      if (!asset) return notFound(`asset ${params.name}`)
      return send(request, asset, 'public, max-age=31536000, immutable')
    })
    .get('/vendor/webtorrent.min.js', async ({ request, query }) => vendor(request, (await pages(log)).webtorrent, `/vendor/webtorrent.min.js?v=${query.v}`))
    .get('/vendor/hls.light.min.mjs', async ({ request, query }) => vendor(request, (await pages(log)).hls, `/vendor/hls.light.min.mjs?v=${query.v}`))
}
