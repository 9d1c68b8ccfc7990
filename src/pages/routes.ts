/**
 * The pod's pages: the HTML shell (shell.ts) at every page route, routed in the browser; the
 * bundled assets and the player's libraries (assets.ts); the icons and the web app manifest
 * (icons.ts); and what other sites read of a video: its embed page, its preview tags
 * (previews.ts) and oEmbed (oembed.ts). The home page names the feeds (src/feeds/).
 */
import { Elysia } from 'elysia'
import { anonymousMayWatch } from '../accounts/auth'
import { homeFeeds } from '../feeds/routes'
import type { Logger } from '../shared/log'
import type { Video } from '../videos/model'
import { notFound, pages, send, vendor } from './assets'
import { iconRoutes } from './icons'
import { oembedRoutes } from './oembed'
import { watchHead } from './previews'
import { escapeHtml, type Site } from './shell'

/** The routes that answer with the app's HTML (the app routes in the browser). */
export const PAGE_ROUTES = ['/', '/videos/:id', '/videos/embed/:id', '/upload', '/login', '/register', '/admin'] as const

/** What the page routes use. */
export interface PageRoutesDeps {
  fingerprint: string
  site: Site
  log: Logger
  /** A video of the index, as the API shows it. */
  video(id: string): Video | undefined
}

/** Elysia plugin: the page routes, `/assets/*`, `/vendor/webtorrent.min.js`, `/vendor/hls.light.min.mjs`, icons, manifest and oEmbed. */
export const pageRoutes = ({ fingerprint, site, log, video: videoOf }: PageRoutesDeps) => {
  const { config } = site
  const app = new Elysia({ name: 'pages', seed: fingerprint })
  // The home page names the pod's feeds, for readers that look for them there.
  const feeds = homeFeeds(config).map((f) => `<link rel="alternate" type="application/rss+xml" title="${escapeHtml(f.title)}" href="${escapeHtml(f.href)}">\n`).join('')
  for (const route of PAGE_ROUTES) {
    if (route.includes(':id')) continue
    app.get(route, () => site.page({ title: config.name, ...(route === '/' ? { head: feeds } : {}) }))
  }
  /**
   * The video of a watch or embed page. It goes into the page (no extra round trip before
   * playback) unless the pod wants a login first: then the app asks for it with the user's
   * token, and the page cannot tell whether the video exists.
   */
  const watchable = (id: string) => {
    if (!anonymousMayWatch(config)) return { gated: true as const }
    return { gated: false as const, video: videoOf(id) }
  }
  return app
    .get('/videos/:id', ({ params }) => {
      const { gated, video } = watchable(params.id)
      if (gated) return site.page({ title: config.name })
      if (!video) return site.errorPage(404)
      return site.page({ title: `${video.name} · ${config.name}`, video, head: watchHead(config, video) })
    })
    .get('/videos/embed/:id', ({ params }) => {
      const { gated, video } = watchable(params.id)
      if (!gated && !video) return site.errorPage(404)
      return site.page({ title: video ? `${video.name} · ${config.name}` : config.name, video, framed: true })
    })
    .get('/assets/:name', async ({ request, params }) => {
      const asset = (await pages(log)).assets.get(params.name)
      if (!asset) return notFound(`asset ${params.name}`)
      return send(request, asset, 'public, max-age=31536000, immutable')
    })
    .get('/vendor/webtorrent.min.js', async ({ request, query }) => vendor(request, (await pages(log)).webtorrent, `/vendor/webtorrent.min.js?v=${query.v}`))
    .get('/vendor/hls.light.min.mjs', async ({ request, query }) => vendor(request, (await pages(log)).hls, `/vendor/hls.light.min.mjs?v=${query.v}`))
    .use(iconRoutes(fingerprint, config))
    .use(oembedRoutes(fingerprint, config, videoOf))
}
