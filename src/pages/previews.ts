/**
 * What link previews read of a watch page (chat apps, fediverse servers, search engines): OpenGraph
 * and Twitter player tags naming the video, its thumbnail and its embed page, and the oEmbed
 * discovery link (oembed.ts). Server-rendered into the shell's head, every value escaped.
 */
import type { Config } from '../shared/config'
import type { Video } from '../videos/model'
import { escapeHtml } from './shell'

/** A video's frame size when nothing says it: 16:9 at 360 lines, a player size every preview takes. */
const DEFAULT_FRAME = { width: 640, height: 360 }

/** Thumbnails are at most 640 wide (src/media/thumbnail.ts). */
const THUMBNAIL_MAX_WIDTH = 640

/** A preview's description: the start of the video's, on one line. */
const DESCRIPTION_CHARS = 200

/** The address of a video's watch page and of its embed page on this pod. */
export function videoPages(config: Config, id: string) {
  return { watch: `${config.url}/videos/${encodeURIComponent(id)}`, embed: `${config.url}/videos/embed/${encodeURIComponent(id)}` }
}

/** The frame size of a video: its own when its origin said it, else from its tallest stream at 16:9, else a default. */
export function frameOf(video: Video): { width: number; height: number } {
  if (video.width && video.height) return { width: video.width, height: video.height }
  const tallest = Math.max(0, ...(video.streams ?? []).map((s) => s.height))
  return tallest ? { width: Math.round((tallest * 16) / 9 / 2) * 2, height: tallest } : DEFAULT_FRAME
}

/** The size of a video's thumbnail, from its frame size (scaled down to at most 640 wide, never up). */
export function thumbnailSize(video: Video): { width: number; height: number } {
  const frame = frameOf(video)
  const width = Math.min(THUMBNAIL_MAX_WIDTH, frame.width)
  return { width, height: Math.round((frame.height * width) / frame.width / 2) * 2 }
}

/** A video's description for previews: whitespace folded, cut at a word near 200 characters. */
export function shortDescription(video: Video): string {
  const text = video.description.replace(/\s+/g, ' ').trim()
  if (text.length <= DESCRIPTION_CHARS) return text
  const cut = text.slice(0, DESCRIPTION_CHARS)
  return `${cut.slice(0, cut.lastIndexOf(' ') > 100 ? cut.lastIndexOf(' ') : DESCRIPTION_CHARS)}…`
}

/** The preview tags of a video's watch page. */
export function watchHead(config: Config, video: Video): string {
  const { watch, embed } = videoPages(config, video.id)
  const frame = frameOf(video)
  const description = shortDescription(video)
  const meta: [string, string, string | number | null | undefined][] = [
    ['property', 'og:site_name', config.name],
    ['property', 'og:type', 'video.other'],
    ['property', 'og:url', watch],
    ['property', 'og:title', video.name],
    ['property', 'og:description', description],
    ['property', 'og:image', video.thumbnailUrl],
    ['property', 'og:image:width', video.thumbnailUrl ? thumbnailSize(video).width : undefined],
    ['property', 'og:image:height', video.thumbnailUrl ? thumbnailSize(video).height : undefined],
    ['property', 'og:video', embed],
    ['property', 'og:video:url', embed],
    // Only an HTTPS address is a secure_url (a pod behind TLS has an https `url`).
    ['property', 'og:video:secure_url', embed.startsWith('https:') ? embed : undefined],
    ['property', 'og:video:type', 'text/html'],
    ['property', 'og:video:width', frame.width],
    ['property', 'og:video:height', frame.height],
    ['name', 'description', description],
    ['name', 'twitter:card', 'player'],
    ['name', 'twitter:title', video.name],
    ['name', 'twitter:description', description],
    ['name', 'twitter:image', video.thumbnailUrl],
    ['name', 'twitter:player', embed],
    ['name', 'twitter:player:width', frame.width],
    ['name', 'twitter:player:height', frame.height],
  ]
  const tags = meta.filter(([, , v]) => v !== undefined && v !== null && v !== '').map(([attr, key, v]) => `<meta ${attr}="${key}" content="${escapeHtml(String(v))}">`)
  const oembed = `${config.url}/services/oembed?url=${encodeURIComponent(watch)}&format=json`
  tags.push(`<link rel="canonical" href="${escapeHtml(watch)}">`, `<link rel="alternate" type="application/json+oembed" href="${escapeHtml(oembed)}" title="${escapeHtml(video.name)}">`)
  return tags.join('\n') + '\n'
}
