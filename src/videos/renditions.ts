/**
 * Renditions: the transcoded copies of a video at lower heights, each its own file, web seed
 * and torrent. The origin lists them in `video.add`/`video.update` (`files`), so every pod's
 * index knows them; URLs are derived from the origin's URL like the original's.
 */
import { t } from 'elysia'
import { magnetUri, torrentUrl, webseedUrl } from '../shared/urls'
import { renditionFile } from '../storage/keys'

/** A rendition as the protocol carries it (the URLs are derived by whoever reads it). */
export const RenditionIn = t.Object({
  resolution: t.Integer({ minimum: 1, maximum: 10_000 }),
  infoHash: t.String({ pattern: '^[0-9a-f]{40}$' }),
  size: t.Integer({ minimum: 0 }),
})
export type RenditionIn = typeof RenditionIn.static

/** A rendition as the API shows it. */
export interface Rendition extends RenditionIn {
  magnetUri: string
  torrentUrl: string
  webseedUrl: string
}

/** The URLs of a rendition at its origin pod. */
export function renditionUrls(podUrl: string, id: string, resolution: number, infoHash: string, name: string): Omit<Rendition, keyof RenditionIn> {
  const file = renditionFile(id, resolution)
  return { magnetUri: magnetUri(podUrl, file, infoHash, `${name} (${resolution}p)`), torrentUrl: torrentUrl(podUrl, infoHash), webseedUrl: webseedUrl(podUrl, file) }
}
