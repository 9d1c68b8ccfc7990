/**
 * The protocol's message registry (docs/protocol.md, "Messages"): every message type this
 * pod understands, each with the TypeBox schema of its `data`, joined into one union. The
 * inbox validates every message of a payload against it once, before anything is applied;
 * a message of a known type whose data does not fit refuses the whole payload (400) and
 * changes nothing. Types not listed here are answered `unknown_type` and the rest applied,
 * so newer pods can add types. Handlers are registered by the feature that owns each type
 * (src/federation/inbox.ts, `on`) and receive the typed data.
 *
 * Schemas allow properties they do not name: a newer pod may add fields to a message.
 */
import { Value } from '@sinclair/typebox/value'
import { t, type Static } from 'elysia'
import { MirrorRef } from '../redundancy/model'
import { isVideo, Video } from '../videos/model'

const PodUrl = t.String({ minLength: 1, maxLength: 2048 })
const VideoRef = t.Object({ id: t.String({ minLength: 1, maxLength: 64 }) })
/** An RSA public key as a JWK (the friend request's key; checked against the signature separately). */
const PublicKey = t.Object({ kty: t.Literal('RSA'), n: t.String({ minLength: 1, maxLength: 4096 }), e: t.String({ minLength: 1, maxLength: 16 }) })

/** Every known message type and the schema of its data. */
export const MESSAGES = {
  'friend.request': t.Object({ url: PodUrl, publicKey: PublicKey, name: t.Optional(t.String({ maxLength: 200 })) }),
  'friend.quit': t.Object({}),
  'pod.moved': t.Object({ url: PodUrl }),
  'video.add': Video,
  'video.update': Video,
  'video.remove': VideoRef,
  'video.mirror': MirrorRef,
  'video.unmirror': MirrorRef,
  'video.details': VideoRef,
  // `count` (new, optional): views since the last message; older pods send none (one view).
  'video.viewed': t.Object({ id: t.String({ minLength: 1, maxLength: 64 }), count: t.Optional(t.Integer({ minimum: 1, maximum: 1_000_000 })) }),
} as const

export type MessageType = keyof typeof MESSAGES
export type MessageData<K extends MessageType> = Static<(typeof MESSAGES)[K]>

/** Whether a type is one this pod knows. */
export const isKnownType = (type: string): type is MessageType => Object.hasOwn(MESSAGES, type)

/** Why a known message does not fit its schema; undefined when it fits (or its type is unknown). */
export function messageProblem(m: { type: string; data: unknown }): string | undefined {
  if (!isKnownType(m.type)) return undefined
  const schema = MESSAGES[m.type]
  if (!Value.Check(schema, m.data)) {
    const first = Value.Errors(schema, m.data).First()
    return `${m.type}: ${first ? `${first.path || 'data'} ${first.message}` : 'data does not fit'}`
  }
  // What a schema cannot say: a creation time that is a real date.
  if ((m.type === 'video.add' || m.type === 'video.update') && !isVideo(m.data)) return `${m.type}: /createdAt is not a date`
  return undefined
}
