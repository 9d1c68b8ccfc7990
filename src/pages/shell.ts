/**
 * The HTML shell of every page (one for all page routes; the Preact app of public/ routes in
 * the browser) and the site that renders it: its headers (CSP), the boot JSON, the quick
 * start of a watch page, extra head tags (previews, feeds), and the error pages browsers get.
 *
 * The shell carries a little JSON for the app to start without a round trip: the pod's
 * public settings and, on a watch page, the video (unless the pod asks for a login first).
 */
import type { Config } from '../shared/config'
import type { Logger } from '../shared/log'
import { HEAD_START, headStartBytes, START_HEIGHT } from '../shared/playback'
import { webseedUrl } from '../shared/urls'
import type { Video } from '../videos/model'
import type { StreamIn } from '../videos/streams'
import { pages, type Pages } from './assets'

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
  /** On a watch or embed page: the video, when it exists and may be shown without a login. */
  video?: Video
  /** On an error page: its status (the app shows the error page for the address it was served at). */
  error?: { status: number }
}

/** JSON that is safe inside a <script> element: no `</script>`, no `<!--`, no U+2028/2029. */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029')
}

/** Text or an attribute value, safe inside HTML. */
export const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

/**
 * The Content-Security-Policy of the pages: scripts, styles and workers only from the pod;
 * media and images from this pod and other pods (hls.js's MediaSource is a blob: URL; a video
 * without streams plays from its web seed; thumbnails); connections to any pod's API, web
 * seed and tracker (remote videos). No site may frame a page (clickjacking), except the
 * embed page, which exists to be framed (`frameAnyone`).
 */
function csp(frameAnyone: boolean): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob: http: https:",
    "media-src 'self' blob: http: https:",
    "connect-src 'self' http: https: ws: wss:",
    "worker-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    `frame-ancestors ${frameAnyone ? '*' : "'none'"}`,
    "form-action 'self'",
  ].join('; ')
}

/** The bytes of an own stream's first whole segments that hold `seconds` of it, if this pod has its playlist. */
export type StreamHead = (id: string, rendition: number, seconds: number) => Promise<number | undefined>

/**
 * The quick start of a watch page (public/player/quick.ts): a `<video>` of the head start of
 * the video (its first seconds, `?head=` of its web seed), for the browser to play while it
 * loads the app. None for a video too short for a head start (it waits for peers), or
 * without size, duration or web seed. The player then reads the segments within those bytes
 * from the browser's cache: both take their length from src/shared/playback.ts.
 */
async function quickStart(video: Video | undefined, streamHead: StreamHead, podUrl: string): Promise<string> {
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

/** What one page is made of. */
export interface PageParts {
  title: string
  /** A watch or embed page: its video (with a quick start), if it may be shown. */
  video?: Video
  /** Tags for the head (previews, feeds), already escaped. */
  head?: string
  /** What stands in #app until the app renders (an error page's frame), already escaped. */
  body?: string
  status?: number
  error?: { status: number }
  /** The embed page: other sites may frame it. */
  framed?: boolean
}

function shell(p: Pages, boot: Boot, parts: PageParts, quick: string): string {
  // The app's chunks are fetched alongside its entry point, and on the watch page of a
  // streamed video the player's libraries too, which it needs soon; with a quick start, all of
  // them once its first frame is up (compiling them would hold that frame up).
  const streamed = !!boot.video?.streams?.length
  const preloads = quick ? [] : [...p.chunks, ...(streamed ? [p.webtorrent.url, p.hls.url] : [])]
  const preload = preloads.map((url) => `<link rel="modulepreload" href="${url}">`).join('\n')
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>${escapeHtml(parts.title)}</title>
<link rel="icon" href="/favicon.ico" sizes="16x16 32x32 48x48">
<link rel="icon" href="/icon.svg" type="image/svg+xml">
<link rel="apple-touch-icon" href="/icon-192.png">
<link rel="manifest" href="/manifest.webmanifest">
<meta name="theme-color" content="${THEME.light}" media="(prefers-color-scheme: light)">
<meta name="theme-color" content="${THEME.dark}" media="(prefers-color-scheme: dark)">
${parts.head ?? ''}${p.styles.map((s) => `<link rel="stylesheet" href="${s}">`).join('\n')}
<script type="module" src="${p.script}"></script>
${preload}
<script id="seedpod-boot" type="application/json">${scriptJson(boot)}</script>
</head>
<body>
${quick}<div id="app">${parts.body ?? '<noscript><p class="noscript">seedpod needs JavaScript to play videos peer to peer.</p></noscript>'}</div>
</body>
</html>
`
}

/** The pages' background colours (public/styles/base.css `--bg`), for the browser's frame and the manifest. */
export const THEME = { light: '#f6f7f9', dark: '#0f1217' } as const

/** What the error pages say (the app's own error page, public/main.tsx, says the same). */
const ERROR_TEXT: Record<number, { title: string; text: string }> = {
  404: { title: 'Page not found', text: 'There is nothing at this address.' },
  500: { title: 'Something went wrong', text: 'The pod hit an unexpected error; it has been logged. Try again in a moment.' },
}

/** The first segments of the addresses that are not pages: the API, files, the tracker, feeds, oEmbed. */
const NOT_PAGES = /^\/(api|static|assets|vendor|tracker|feeds|services)(\/|$)/

/** Whether a request is a browser asking for a page (not the API, not a file): those get error pages, the rest JSON. */
export function wantsPage(request: Request): boolean {
  // `//api/...` is still the API's (a client's doubled slash).
  const path = new URL(request.url).pathname.replace(/\/{2,}/g, '/')
  if (NOT_PAGES.test(path)) return false
  return request.method === 'GET' && /\btext\/html\b/.test(request.headers.get('accept') ?? '')
}

/** What renders pages: the page routes and the error answers use it. */
export interface Site {
  config: Config
  /** A page of the app. */
  page(parts: PageParts): Promise<Response>
  /** The error page of `status` (404 or 500) in the site's frame. */
  errorPage(status: 404 | 500): Promise<Response>
}

/** The site of one pod. */
export function makeSite(config: Config, version: string, log: Logger, streamHead: StreamHead): Site {
  // Start bundling now, in the background, so that the first page does not wait for it.
  pages(log).catch(() => undefined)
  const pod: Boot['pod'] = {
    name: config.name,
    url: config.url,
    version: version,
    registrations: config.registrations,
    requireLoginToWatch: config.requireLoginToWatch,
    maxUploadBytes: config.maxUploadBytes,
    iceServers: config.webrtc.iceServers,
    player: { bufferSeconds: config.player.bufferSeconds, cacheBytes: config.player.cacheBytes },
  }
  const page = async (parts: PageParts) => {
    const p = await pages(log)
    const boot: Boot = { pod, assets: { webtorrent: p.webtorrent.url, hls: p.hls.url }, ...(parts.video ? { video: parts.video } : {}), ...(parts.error ? { error: parts.error } : {}) }
    return new Response(shell(p, boot, parts, await quickStart(boot.video, streamHead, config.url)), {
      status: parts.status ?? 200,
      headers: {
        'content-type': 'text/html;charset=utf-8',
        // The shell names the current (hashed) assets: always ask again.
        'cache-control': 'no-cache',
        'content-security-policy': csp(parts.framed ?? false),
        'x-content-type-options': 'nosniff',
        'referrer-policy': 'same-origin',
      },
    })
  }
  return {
    config,
    page,
    errorPage: (status) => {
      const { title, text } = ERROR_TEXT[status]!
      // The frame the app renders (components/Layout.tsx), for the moment before it does and for browsers without scripts.
      const body = `<header class="site-header"><div class="header-inner"><a href="/" class="brand">${escapeHtml(config.name)}</a><nav aria-label="Main" class="main-nav"><a href="/" class="nav-link">Videos</a><a href="/upload" class="nav-link">Upload</a></nav></div></header>
<main id="main"><div class="page page-narrow"><h1>${title}</h1><p>${text} <a href="/">See the latest videos</a>.</p></div></main>`
      return page({ title: `${title} · ${config.name}`, body, status, error: { status } })
    },
  }
}
