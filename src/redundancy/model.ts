/** What the redundancy feature carries over the wire. */
import { t } from 'elysia'

/**
 * `video.mirror` / `video.unmirror` data: a pod keeps (or dropped) a copy of one file of this
 * video. With `rendition` (this release on), the file is that stream of the video
 * (src/videos/streams.ts), kept with its media playlist; without it (earlier releases), the
 * video's original file alone.
 */
export const MirrorRef = t.Object({
  id: t.String({ minLength: 1, maxLength: 64 }),
  infoHash: t.String({ pattern: '^[0-9a-f]{40}$' }),
  rendition: t.Optional(t.Integer({ minimum: 0, maximum: 10_000 })),
})
export type MirrorRef = typeof MirrorRef.static
