/**
 * RSS 2.0 of videos (https://www.rssboard.org/rss-specification) for feed readers and podcast
 * apps: each item's enclosure is an MP4 they play (never a .torrent), with the Media RSS and
 * iTunes tags for its thumbnail.
 */
import type { Video } from '../videos/model'

/** Text safe in XML text and attribute values. */
export const escapeXml = (s: string) =>
  // Characters XML 1.0 does not allow at all are dropped (a description may hold any of them).
  s.replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

/** A file a podcast app plays. */
export interface Enclosure {
  url: string
  length: number
}

/** What the feed shows of a video: as the API shows it, with its renditions' and streams' URLs when known. */
export type FeedVideo = Omit<Video, 'files' | 'streams'> & { files?: { resolution: number; size: number; webseedUrl?: string }[]; streams?: { rendition: number; size: number; height: number; webseedUrl?: string }[] }

/**
 * The MP4 of a video for podcast apps: its original's stream (the original as an MP4), else
 * the original when it is an MP4, else its tallest rendition (always MP4), else its tallest
 * stream; none for a video that has no MP4 (a WebM whose renditions are not made yet).
 */
export function enclosureOf(video: FeedVideo): Enclosure | undefined {
  const original = video.streams?.find((s) => s.rendition === 0 && s.webseedUrl)
  if (original) return { url: original.webseedUrl!, length: original.size }
  const seed = video.webseedUrls[0]
  if (seed && video.size !== null && new URL(seed).pathname.endsWith('.mp4')) return { url: seed, length: video.size }
  const rendition = [...(video.files ?? [])].filter((f) => f.webseedUrl).sort((a, b) => b.resolution - a.resolution)[0]
  if (rendition) return { url: rendition.webseedUrl!, length: rendition.size }
  const stream = [...(video.streams ?? [])].filter((s) => s.webseedUrl).sort((a, b) => b.height - a.height)[0]
  return stream && { url: stream.webseedUrl!, length: stream.size }
}

/** One feed: its channel and its items, newest first. */
export interface Feed {
  title: string
  /** The page the feed is of. */
  link: string
  /** The feed's own address. */
  self: string
  description: string
  image: string
  items: { video: FeedVideo; link: string }[]
}

const tag = (name: string, text: string) => `<${name}>${escapeXml(text)}</${name}>`

/** The feed's XML. */
export function rss(feed: Feed): string {
  const items = feed.items.map(({ video, link }) => {
    const enclosure = enclosureOf(video)
    const parts = [
      tag('title', video.name),
      tag('link', link),
      `<guid isPermaLink="true">${escapeXml(link)}</guid>`,
      tag('pubDate', new Date(video.createdAt).toUTCString()),
      tag('description', video.description),
      tag('dc:creator', `${video.uploader}@${new URL(video.podUrl).host}`),
      ...(enclosure ? [`<enclosure url="${escapeXml(enclosure.url)}" length="${enclosure.length}" type="video/mp4"/>`] : []),
      ...(video.duration !== null ? [tag('itunes:duration', String(Math.round(video.duration)))] : []),
      ...(video.thumbnailUrl ? [`<media:thumbnail url="${escapeXml(video.thumbnailUrl)}"/>`, `<itunes:image href="${escapeXml(video.thumbnailUrl)}"/>`] : []),
    ]
    return `<item>\n${parts.join('\n')}\n</item>`
  })
  return `<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:media="http://search.yahoo.com/mrss/" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd">
<channel>
${tag('title', feed.title)}
${tag('link', feed.link)}
${tag('description', feed.description)}
<atom:link href="${escapeXml(feed.self)}" rel="self" type="application/rss+xml"/>
<image>${tag('url', feed.image)}${tag('title', feed.title)}${tag('link', feed.link)}</image>
<itunes:image href="${escapeXml(feed.image)}"/>
${items.join('\n')}
</channel>
</rss>
`
}
