/**
 * The URLs of a video file at a pod (its origin, or a pod keeping a copy): web seed, .torrent,
 * trackers, thumbnail and magnet link. One place, so that the index, renditions, mirrors, the
 * torrents this pod makes and the routes that serve them agree (docs/protocol.md, "Public routes").
 */

/** The web seed of a file (BEP 19): `<id>.<ext>` for an original, `<id>.<height>.mp4` for a rendition. */
export const webseedUrl = (podUrl: string, fileName: string) => `${podUrl}/static/webseed/${fileName}`

/** The stored .torrent of an info hash. */
export const torrentUrl = (podUrl: string, infoHash: string) => `${podUrl}/static/torrents/${infoHash}.torrent`

/** A pod's trackers: WebSocket (browsers) and HTTP (desktop clients), on its own port. */
export const trackerUrls = (podUrl: string) => [`${podUrl.replace(/^http/, 'ws')}/tracker/socket`, `${podUrl}/tracker/announce`]

/** A video's thumbnail, as the pod at `podUrl` serves it. */
export const thumbnailUrl = (podUrl: string, id: string) => `${podUrl}/static/thumbnails/${id}.jpg`

/** The parameters of one source of a file (a pod that seeds it), as magnet links carry them. */
export function sourceParams(podUrl: string, fileName: string, infoHash: string): string {
  const e = encodeURIComponent
  return `${trackerUrls(podUrl).map((t) => `&tr=${e(t)}`).join('')}&ws=${e(webseedUrl(podUrl, fileName))}&xs=${e(torrentUrl(podUrl, infoHash))}`
}

/** The magnet link of a file at its origin: info hash, display name, and the origin as its source. */
export const magnetUri = (podUrl: string, fileName: string, infoHash: string, displayName: string) =>
  `magnet:?xt=urn:btih:${infoHash}&dn=${encodeURIComponent(displayName)}${sourceParams(podUrl, fileName, infoHash)}`
