/**
 * The message registry at a real pod's inbox: every message type this pod knows, sent by a
 * friend with data that does not fit its schema, is refused with 400 and changes nothing
 * (not the index, the friendships, the mirrors, the details nor the applied ids); the same
 * payload with well-formed data is applied. Unknown types are answered, not refused.
 */
import { afterAll, describe, expect, test } from 'bun:test'
import { openReply, seal } from '../src/federation/envelope'
import { MESSAGES } from '../src/federation/messages'
import { CURRENT_VERSION } from '../src/federation/versions'
import { importPeerKey } from '../src/identity/keys'
import { fp, netPod, stopPods, syntheticVideo, videoId } from './helpers/network'

afterAll(stopPods)

const TABLES = ['videos', 'friends', 'outbox', 'applied_messages', 'video_mirrors', 'video_details', 'pods', 'blacklist']

describe('the inbox validates every message against the registry', async () => {
  const [a, b] = await Promise.all([netPod(), netPod()])
  await a.running.pod.making.makeFriends([b.base])
  const bIdentity = b.running.pod.identity
  const aKeys = await importPeerKey(a.running.pod.identity.publicJwk)
  const aRecipient = { fingerprint: fp(a), encryptKey: aKeys.encryptKey }
  const video = syntheticVideo(b, { id: videoId(b, 'registry1') })
  const hash = video.magnetUri.match(/btih:([0-9a-f]{40})/)![1]!

  /** For each known type: data that fits, and data that does not (beside the plain wrong kinds tried for all). */
  const cases: Record<keyof typeof MESSAGES, { good: unknown; bad: unknown }> = {
    'friend.request': { good: { url: b.base, publicKey: bIdentity.publicJwk, name: 'b' }, bad: { url: b.base, publicKey: { kty: 'EC', crv: 'P-256' } } },
    'friend.quit': { good: {}, bad: [] },
    'pod.moved': { good: { url: b.base }, bad: { url: 42 } },
    'video.add': { good: video, bad: { ...video, id: '../../etc/passwd' } },
    'video.update': { good: video, bad: { ...video, createdAt: 'yesterday' } },
    'video.remove': { good: { id: 'nothing-here' }, bad: { id: '' } },
    'video.mirror': { good: { id: 'nothing-here', infoHash: hash }, bad: { id: 'x', infoHash: 'not-a-hash' } },
    'video.unmirror': { good: { id: 'nothing-here', infoHash: hash }, bad: { id: 'x', infoHash: 'AB'.repeat(20) } },
    'video.details': { good: { id: 'nothing-here' }, bad: { id: 'x'.repeat(65) } },
    'video.viewed': { good: { id: 'nothing-here' }, bad: {} },
  }

  const post = async (messages: { type: string; data: unknown }[]) => {
    const payload = { v: CURRENT_VERSION, from: { url: b.base, fingerprint: fp(b) }, to: fp(a), iat: Math.floor(Date.now() / 1000), jti: crypto.randomUUID(), messages }
    const res = await fetch(`${a.base}/api/v1/pod/inbox`, { method: 'POST', headers: { 'content-type': 'application/jose' }, body: await seal(payload, bIdentity, aRecipient) })
    return { res, jti: payload.jti }
  }
  const state = () => JSON.stringify(TABLES.map((t) => a.running.pod.db.query(`SELECT * FROM ${t}`).all()))

  test('every known type is covered here', () => {
    expect(Object.keys(cases).sort()).toEqual(Object.keys(MESSAGES).sort())
  })

  for (const type of Object.keys(cases) as (keyof typeof MESSAGES)[]) {
    test(`${type}: malformed data is a 400 and changes nothing, even after a good message in the same payload`, async () => {
      const before = state()
      for (const bad of [cases[type].bad, null, 'text', 7, [cases[type].good]]) {
        // A well-formed message first: the whole payload is refused, so it is not applied either.
        const { res } = await post([{ type: 'video.add', data: syntheticVideo(b, { id: videoId(b, `first${Math.random().toString(36).slice(2, 8)}`) }) }, { type, data: bad }])
        expect(res.status).toBe(400)
        const body = (await res.json()) as { error: { code: string; message: string } }
        expect(body.error.code).toBe('invalid_message')
        expect(body.error.message).toContain(`message 1: ${type}`)
        expect(state()).toBe(before)
      }
    })
  }

  test('the same types with well-formed data are applied (answered with a sealed reply)', async () => {
    // friend.quit and pod.moved would end or move the friendship: they are sent last, alone.
    const types = Object.keys(cases).filter((t) => t !== 'friend.quit' && t !== 'friend.request' && t !== 'pod.moved') as (keyof typeof MESSAGES)[]
    const { res, jti } = await post(types.map((type) => ({ type, data: cases[type].good })))
    expect(res.status).toBe(200)
    const bKeys = await importPeerKey(a.running.pod.identity.publicJwk)
    const reply = await openReply(await res.text(), bIdentity, { fingerprint: fp(a), verifyKey: bKeys.verifyKey }, jti, Date.now())
    expect(reply.ok).toBe(true)
    expect(a.running.pod.db.query('SELECT 1 FROM videos WHERE id = ?').get(video.id)).not.toBeNull()
  })

  test('an unknown type is answered unknown_type and the rest of the payload applied', async () => {
    const { res, jti } = await post([{ type: 'video.sparkle', data: 'anything' }, { type: 'video.remove', data: { id: video.id } }])
    expect(res.status).toBe(200)
    const bKeys = await importPeerKey(a.running.pod.identity.publicJwk)
    const reply = await openReply(await res.text(), bIdentity, { fingerprint: fp(a), verifyKey: bKeys.verifyKey }, jti, Date.now())
    expect(reply.ok && reply.value.results).toEqual([{ ok: false, error: 'unknown_type' }, { ok: true }])
    expect(a.running.pod.db.query('SELECT 1 FROM videos WHERE id = ?').get(video.id)).toBeNull()
  })
})
