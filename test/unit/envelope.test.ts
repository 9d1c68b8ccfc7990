/**
 * The envelope (src/federation/envelope.ts) between two real key pairs: a sealed payload
 * opens for its recipient only, and every way a hostile sender or a man in the middle can
 * change it is refused with the code the inbox answers; a reply is believed only when it is
 * the friend's, to this message, and fresh. (The inbox over HTTP is test/fuzz-inbox.test.ts
 * and test/inbox-messages.test.ts.)
 */
import { beforeAll, describe, expect, test } from 'bun:test'
import { CompactEncrypt, CompactSign } from 'jose'
import { MAX_CLOCK_SKEW_SECONDS, open, openReply, seal, type KeyLookup, type Payload } from '../../src/federation/envelope'
import { CURRENT_VERSION } from '../../src/federation/versions'
import { importPeerKey, newIdentity, type Identity } from '../../src/identity/keys'
import { failure, ok } from '../../src/shared/errors'

const NOW = Date.UTC(2025, 0, 1)
const enc = new TextEncoder()

let alice: Identity
let bob: Identity
let mallory: Identity
/** Each pod as the others see it: its fingerprint and imported public keys. */
let peer: Record<'alice' | 'bob' | 'mallory', { fingerprint: string; verifyKey: CryptoKey; encryptKey: CryptoKey }>

beforeAll(async () => {
  ;[alice, bob, mallory] = await Promise.all([newIdentity(), newIdentity(), newIdentity()].map(async (p) => (await p).identity)) as [Identity, Identity, Identity]
  const as = async (i: Identity) => ({ fingerprint: i.fingerprint, ...(await importPeerKey(i.publicJwk)) })
  peer = { alice: await as(alice), bob: await as(bob), mallory: await as(mallory) }
})

/** A payload from alice to bob, with `over` changed. */
const payload = (over: Partial<Payload> = {}): Payload => ({
  v: CURRENT_VERSION,
  from: { url: 'https://alice.example', fingerprint: alice.fingerprint },
  to: bob.fingerprint,
  iat: NOW / 1000,
  jti: 'message-1',
  messages: [{ type: 'video.remove', data: { id: 'x' } }],
  ...over,
})

/** Bob's view of his friends: alice only. */
const friendsOfBob: KeyLookup = (fingerprint) => ok(fingerprint === alice.fingerprint ? peer.alice : undefined)

/** The code of a refusal, or 'opened'. */
async function opened(jwe: string, lookup: KeyLookup = friendsOfBob, nowMs = NOW): Promise<string> {
  const r = await open(jwe, bob, lookup, nowMs)
  return r.ok ? 'opened' : r.error.code
}

describe('open', () => {
  test('a payload sealed by a friend opens for its recipient, as sent', async () => {
    const sent = payload()
    const r = await open(await seal(sent, alice, peer.bob), bob, friendsOfBob, NOW)
    expect(r).toEqual({ ok: true, value: { payload: sent } })
  })

  test('for another pod, or with a byte changed anywhere, it does not decrypt', async () => {
    expect(await opened(await seal(payload(), alice, peer.mallory))).toBe('wrong_recipient')
    const jwe = await seal(payload(), alice, peer.bob)
    const parts = jwe.split('.')
    // The ciphertext and the tag: one flipped character each.
    for (const i of [3, 4]) {
      const changed = [...parts]
      changed[i] = (changed[i]![0] === 'A' ? 'B' : 'A') + changed[i]!.slice(1)
      expect(await opened(changed.join('.'))).toBe('undecryptable')
    }
    expect(await opened('not a JWE')).toBe('undecryptable')
  })

  test('a signature by another key than the one named, or a sender that is not the signer, is refused', async () => {
    // Mallory signs, naming alice's key.
    const forged = await new CompactSign(enc.encode(JSON.stringify(payload())))
      .setProtectedHeader({ alg: 'PS256', kid: alice.fingerprint })
      .sign(mallory.signKey)
    const sealed = await new CompactEncrypt(enc.encode(forged))
      .setProtectedHeader({ alg: 'RSA-OAEP-256', enc: 'A256GCM', kid: bob.fingerprint, cty: 'JWT' })
      .encrypt(peer.bob.encryptKey)
    expect(await opened(sealed)).toBe('bad_signature')
    // Alice signs a payload claiming to be from mallory.
    const lookup: KeyLookup = (f) => ok(f === alice.fingerprint ? peer.alice : f === mallory.fingerprint ? peer.mallory : undefined)
    expect(await opened(await seal(payload({ from: { url: 'https://m.example', fingerprint: mallory.fingerprint } }), alice, peer.bob), lookup)).toBe('sender_mismatch')
  })

  test('addressed to another pod, too old or from the future, another version, or malformed: refused', async () => {
    expect(await opened(await seal(payload({ to: mallory.fingerprint }), alice, peer.bob))).toBe('wrong_recipient')
    const skew = MAX_CLOCK_SKEW_SECONDS * 1000
    const jwe = await seal(payload(), alice, peer.bob)
    expect(await opened(jwe, friendsOfBob, NOW + skew)).toBe('opened')
    expect(await opened(jwe, friendsOfBob, NOW + skew + 1000)).toBe('stale')
    expect(await opened(jwe, friendsOfBob, NOW - skew - 1000)).toBe('stale')
    const v2 = await open(await seal(payload({ v: 2 }), alice, peer.bob), bob, friendsOfBob, NOW)
    expect(v2).toEqual(failure('unsupported_version', 'unsupported_version', 'protocol version 2 is not supported', { supported: [1] }))
    for (const bad of [{ jti: '' }, { messages: 'none' }, { iat: 'now' }, { from: 'alice' }, { messages: [{ data: 1 }] }])
      expect(await opened(await seal(payload(bad as never), alice, peer.bob))).toBe('malformed_payload')
  })

  test('a stranger may send a friend request carrying the key that signed it, and nothing else', async () => {
    const request = (publicKey: unknown) => payload({ messages: [{ type: 'friend.request', data: { url: 'https://alice.example', publicKey } }] })
    const stranger: KeyLookup = () => ok(undefined)
    const r = await open(await seal(request(alice.publicJwk), alice, peer.bob), bob, stranger, NOW)
    expect(r.ok && r.value.newcomerKey).toEqual(alice.publicJwk)
    expect(await opened(await seal(request(mallory.publicJwk), alice, peer.bob), stranger)).toBe('key_mismatch')
    expect(await opened(await seal(payload(), alice, peer.bob), stranger)).toBe('not_a_friend')
    // A refusal of the lookup (a blacklisted pod) is the answer, whatever the payload.
    const blacklisted: KeyLookup = () => failure('forbidden', 'blacklisted', 'this pod is blacklisted')
    expect(await opened(await seal(request(alice.publicJwk), alice, peer.bob), blacklisted)).toBe('blacklisted')
  })
})

describe('openReply', () => {
  /** Bob's reply to alice's message `inReplyTo`, sealed by `signer`. */
  const reply = (over: Record<string, unknown> = {}, signer: Identity = bob) =>
    seal({ v: CURRENT_VERSION, from: { url: 'https://bob.example', fingerprint: bob.fingerprint }, to: alice.fingerprint, iat: NOW / 1000, jti: 'reply-1', inReplyTo: 'message-1', ok: true, results: [{ ok: true }], ...over }, signer, peer.alice)
  const read = async (jwe: string, nowMs = NOW) => {
    const r = await openReply(jwe, alice, peer.bob, 'message-1', nowMs)
    return r.ok ? 'believed' : r.error
  }

  test("is believed when it is the friend's, to this message, fresh and a success", async () => {
    const r = await openReply(await reply(), alice, peer.bob, 'message-1', NOW)
    expect(r.ok && r.value.results).toEqual([{ ok: true }])
  })

  test('is not when anything of that is untrue', async () => {
    expect(await read(await reply({}, mallory))).toBe('the reply is not signed by the friend')
    expect(await read(await reply({ inReplyTo: 'message-2' }))).toBe('the reply answers another message')
    expect(await read(await reply({ to: bob.fingerprint }))).toBe('the reply answers another message')
    expect(await read(await reply(), NOW + (MAX_CLOCK_SKEW_SECONDS + 1) * 1000)).toBe('the reply is stale')
    expect(await read(await reply({ ok: false }))).toBe('the reply is not a success')
    expect(await read(await reply({ results: 'all fine' }))).toBe('the reply is not a success')
  })
})
