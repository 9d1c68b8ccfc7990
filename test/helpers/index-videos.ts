/** Videos of the network index for search tests: made by hand, one minute apart, as an origin announces them. */
import { videoUrls, type Video } from '../../src/videos/model'

/** The `n`th video made for a test (its info hash and creation time follow from `n`), at `pod`. */
export function indexVideo(n: number, pod: { url: string; fingerprint: string }, fields: { id?: string; name: string; description?: string; uploader?: string }): Video {
  const id = fields.id ?? `v${n}`
  const urls = videoUrls(pod.url, id, n.toString(16).padStart(40, '0'), 'mp4', fields.name)
  return {
    id,
    name: fields.name,
    description: fields.description ?? '',
    uploader: fields.uploader ?? 'someone',
    podUrl: pod.url,
    podFingerprint: pod.fingerprint,
    magnetUri: urls.magnetUri,
    torrentUrl: urls.torrentUrl,
    webseedUrls: [urls.webseed],
    duration: 60,
    size: 1000,
    createdAt: new Date(Date.UTC(2024, 0, 1) + n * 60_000).toISOString(),
  }
}
