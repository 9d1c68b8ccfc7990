/**
 * oEmbed (https://oembed.com): `GET /services/oembed?url=<watch page>&format=json` answers a
 * `video` with the `<iframe>` of the video's embed page, for sites that embed a pasted link.
 * Watch pages name this endpoint in their head (previews.ts). Only JSON: `format=xml` is the
 * spec's 501; a URL that is not a video of this pod is a 404.
 */
import { Elysia, t } from 'elysia'
import { anonymousMayWatch } from '../accounts/auth'
import type { Config } from '../shared/config'
import { errorResponse } from '../shared/error-response'
import { DomainError } from '../shared/errors'
import type { Video } from '../videos/model'
import { escapeHtml } from './shell'
import { frameOf, thumbnailSize, videoPages } from './previews'

/** The video id of a watch or embed page's URL on this pod, or undefined. */
export function videoIdOf(config: Config, url: string): string | undefined {
  if (!URL.canParse(url)) return undefined
  const asked = new URL(url)
  if (asked.origin !== new URL(config.url).origin) return undefined
  const m = /^\/videos\/(?:embed\/)?([A-Za-z0-9_-]{1,64})\/?$/.exec(asked.pathname)
  return m?.[1]
}

/** `width`x`height` scaled down (never up) to fit within the consumer's maximum, keeping the aspect. */
export function fit(frame: { width: number; height: number }, maxWidth?: number, maxHeight?: number) {
  const scale = Math.min(1, maxWidth ? maxWidth / frame.width : 1, maxHeight ? maxHeight / frame.height : 1)
  return { width: Math.max(1, Math.floor(frame.width * scale)), height: Math.max(1, Math.floor(frame.height * scale)) }
}

/** The oEmbed answer of a video. */
export function oembedOf(config: Config, video: Video, maxWidth?: number, maxHeight?: number) {
  const { embed } = videoPages(config, video.id)
  const { width, height } = fit(frameOf(video), maxWidth, maxHeight)
  const html = `<iframe src="${escapeHtml(embed)}" width="${width}" height="${height}" title="${escapeHtml(video.name)}" frameborder="0" allow="autoplay; fullscreen; picture-in-picture" allowfullscreen sandbox="allow-same-origin allow-scripts allow-popups allow-popups-to-escape-sandbox"></iframe>`
  return {
    version: '1.0',
    type: 'video',
    title: video.name,
    author_name: video.uploader,
    author_url: video.podUrl,
    provider_name: config.name,
    provider_url: config.url,
    html,
    width,
    height,
    ...(video.thumbnailUrl ? { thumbnail_url: video.thumbnailUrl, thumbnail_width: thumbnailSize(video).width, thumbnail_height: thumbnailSize(video).height } : {}),
  }
}

/** Elysia plugin: `GET /services/oembed`. */
export const oembedRoutes = (fingerprint: string, config: Config, videoOf: (id: string) => Video | undefined) =>
  new Elysia({ name: 'oembed', seed: fingerprint }).get(
    '/services/oembed',
    ({ query }) => {
      if (query.format === 'xml') return errorResponse(501, 'not_implemented', 'only format=json is answered')
      const id = videoIdOf(config, query.url)
      // A pod that wants a login before watching shows nothing of its videos to strangers.
      const video = id && anonymousMayWatch(config) ? videoOf(id) : undefined
      if (!video) throw new DomainError('not_found', 'not_found', 'the URL is not a video of this pod')
      return oembedOf(config, video, query.maxwidth, query.maxheight)
    },
    {
      query: t.Object({
        url: t.String({ maxLength: 4096 }),
        format: t.Optional(t.Union([t.Literal('json'), t.Literal('xml')])),
        maxwidth: t.Optional(t.Numeric({ minimum: 1, maximum: 10_000 })),
        maxheight: t.Optional(t.Numeric({ minimum: 1, maximum: 10_000 })),
      }),
    },
  )
