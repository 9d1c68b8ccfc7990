/** What the redundancy feature carries over the wire. */
import { t } from 'elysia'

/** `video.mirror` / `video.unmirror` data: a pod keeps (or dropped) a copy of this video's file. */
export const MirrorRef = t.Object({
  id: t.String({ minLength: 1, maxLength: 64 }),
  infoHash: t.String({ pattern: '^[0-9a-f]{40}$' }),
})
export type MirrorRef = typeof MirrorRef.static
