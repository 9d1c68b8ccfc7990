/**
 * Pod-to-pod messages (docs/protocol.md, "Envelope"): a JSON payload signed as a compact JWS
 * (PS256, `kid` = sender's fingerprint), encrypted as a compact JWE to the recipient
 * (RSA-OAEP-256 + A256GCM, `kid` = recipient's fingerprint, `cty: JWT`).
 *
 * Opening never throws for bad input: it returns a Result whose failure (a refusal) carries
 * the kind and error code the inbox answers with.
 */
import { CompactEncrypt, CompactSign, compactDecrypt, compactVerify, decodeProtectedHeader, type JWK } from 'jose'
import { fingerprintOf, importPeerKey, type Identity } from '../identity/keys'
import { fail, failure, ok, type Result } from '../shared/errors'

import { SUPPORTED_VERSIONS } from './versions'

/** Largest allowed distance between a message's `iat` and the receiver's clock. */
export const MAX_CLOCK_SKEW_SECONDS = 300

/** One change inside a message. */
export interface Message {
  type: string
  data: unknown
}

/** What a pod sends: a batch of messages for one friend. */
export interface Payload {
  v: number
  from: { url: string; fingerprint: string }
  to: string
  iat: number
  jti: string
  messages: Message[]
}

/** What a pod answers to a delivered payload (itself sealed back to the sender). */
export interface ReplyPayload {
  v: number
  from: { url: string; fingerprint: string }
  to: string
  iat: number
  jti: string
  inReplyTo: string
  ok: true
  results: unknown[]
}

/** A peer's public key, imported for verifying its signatures. */
export interface SenderKey {
  verifyKey: CryptoKey
}

/**
 * How the inbox finds the key of a message's signer: a friend's stored key, a refusal
 * (blacklisted, not a friend), or, for a `friend.request` from a stranger, undefined so that
 * the key inside the request is used.
 */
export type KeyLookup = (fingerprint: string) => Result<SenderKey | undefined> | Promise<Result<SenderKey | undefined>>

const enc = new TextEncoder()
const dec = new TextDecoder()

/**
 * Signs a payload as the sender and encrypts it to the recipient's key. The JWE's header names
 * the sender (`iss`, its fingerprint, a claim replicated as RFC 7519 §5.3 allows), so that the
 * recipient knows how much it may take before it reads and decrypts the rest (inbox-body.ts).
 */
export async function seal(payload: object, sender: Identity, recipient: { fingerprint: string; encryptKey: CryptoKey }): Promise<string> {
  const jws = await new CompactSign(enc.encode(JSON.stringify(payload)))
    .setProtectedHeader({ alg: 'PS256', kid: sender.fingerprint })
    .sign(sender.signKey)
  return new CompactEncrypt(enc.encode(jws))
    .setProtectedHeader({ alg: 'RSA-OAEP-256', enc: 'A256GCM', kid: recipient.fingerprint, cty: 'JWT', iss: sender.fingerprint })
    .encrypt(recipient.encryptKey)
}

/** Decrypts with our key; returns the inner JWS and the sender the header names (if any), or a refusal. */
async function decrypt(jwe: string, me: Identity): Promise<Result<{ jws: string; iss: unknown }>> {
  try {
    const header = decodeProtectedHeader(jwe)
    if (header.kid !== undefined && header.kid !== me.fingerprint) return failure('unauthenticated', 'wrong_recipient', 'the message is encrypted to another pod')
    const { plaintext } = await compactDecrypt(jwe, me.decryptKey, {
      keyManagementAlgorithms: ['RSA-OAEP-256'],
      contentEncryptionAlgorithms: ['A256GCM'],
    })
    return ok({ jws: dec.decode(plaintext), iss: header.iss })
  } catch {
    return failure('unauthenticated', 'undecryptable', 'the message does not decrypt with this pod\'s key (truncated, tampered, or for another key)')
  }
}

/** Reads the claims of a JWS without verifying it (to learn who claims to have sent it). */
function unverifiedClaims(jws: string): Result<{ kid: string; payload: Record<string, unknown> }> {
  try {
    const header = decodeProtectedHeader(jws)
    const part = jws.split('.')[1]
    if (typeof header.kid !== 'string' || header.alg !== 'PS256' || !part) return failure('unauthenticated', 'bad_signature', 'the inner signature is not a PS256 JWS with a kid')
    const payload = JSON.parse(dec.decode(Buffer.from(part, 'base64url')))
    if (!payload || typeof payload !== 'object' || Array.isArray(payload)) return failure('invalid', 'malformed_payload', 'the payload is not a JSON object')
    return ok({ kid: header.kid, payload })
  } catch {
    return failure('invalid', 'malformed_payload', 'the signed payload is not readable JSON')
  }
}

async function verify(jws: string, key: CryptoKey): Promise<boolean> {
  try {
    await compactVerify(jws, key, { algorithms: ['PS256'] })
    return true
  } catch {
    return false
  }
}

/** A message accepted by `open`: who sent it, verified. */
export interface Opened {
  payload: Payload
  /** Set when the sender is not a friend yet and proved its key with a `friend.request`. */
  newcomerKey?: JWK
}

/**
 * Opens a sealed payload addressed to `me`: decrypts, checks the version, finds the sender's
 * key (`lookup`), verifies the signature, and checks `to`, `from` and `iat`.
 * The `jti` duplicate check is the caller's (it needs the database).
 */
export async function open(jwe: string, me: Identity, lookup: KeyLookup, nowMs: number): Promise<Result<Opened>> {
  const d = await decrypt(jwe, me)
  if (!d.ok) return d
  const claims = unverifiedClaims(d.value.jws)
  if (!claims.ok) return claims
  const { kid, payload } = claims.value
  // The header's sender chose how much the inbox read: it must be the signer.
  if (d.value.iss !== undefined && d.value.iss !== kid) return failure('unauthenticated', 'sender_mismatch', 'the envelope\'s iss is not the key that signed the message')
  if (!SUPPORTED_VERSIONS.includes(payload.v as 1))
    return failure('unsupported_version', 'unsupported_version', `protocol version ${JSON.stringify(payload.v)} is not supported`, { supported: SUPPORTED_VERSIONS })
  const shape = checkPayload(payload)
  if (shape) return failure('invalid', 'malformed_payload', shape)
  const p = payload as unknown as Payload

  const found = await lookup(kid)
  if (!found.ok) return found
  let key = found.value
  let newcomerKey: JWK | undefined
  if (!key) {
    // Only a friend request may come from a stranger, and it must carry the key that signed it.
    const req = p.messages.length === 1 && p.messages[0]!.type === 'friend.request' ? (p.messages[0]!.data as { publicKey?: JWK }) : undefined
    if (!req?.publicKey || typeof req.publicKey !== 'object') return failure('forbidden', 'not_a_friend', 'the sender is not a friend of this pod')
    try {
      if ((await fingerprintOf(req.publicKey)) !== kid) return failure('unauthenticated', 'key_mismatch', 'the key in the friend request is not the one that signed it')
      key = { verifyKey: (await importPeerKey(req.publicKey)).verifyKey }
      newcomerKey = req.publicKey
    } catch {
      return failure('invalid', 'malformed_payload', 'the friend request carries an unusable public key')
    }
  }
  if (!(await verify(d.value.jws, key.verifyKey))) return failure('unauthenticated', 'bad_signature', 'the signature does not match the sender\'s key')
  if (p.from.fingerprint !== kid) return failure('unauthenticated', 'sender_mismatch', 'from.fingerprint is not the key that signed the message')
  if (p.to !== me.fingerprint) return failure('unauthenticated', 'wrong_recipient', 'the message is addressed to another pod')
  if (Math.abs(p.iat - nowMs / 1000) > MAX_CLOCK_SKEW_SECONDS)
    return failure('unauthenticated', 'stale', `iat is more than ${MAX_CLOCK_SKEW_SECONDS} s away from this pod's clock`)
  return ok(newcomerKey ? { payload: p, newcomerKey } : { payload: p })
}

/** Describes what is wrong with a payload's shape, or returns undefined. */
function checkPayload(p: Record<string, unknown>): string | undefined {
  const from = p.from as Record<string, unknown> | undefined
  if (!from || typeof from.url !== 'string' || typeof from.fingerprint !== 'string') return 'from must be { url, fingerprint }'
  if (typeof p.to !== 'string') return 'to must be a fingerprint'
  if (typeof p.iat !== 'number' || !Number.isFinite(p.iat)) return 'iat must be a number of seconds'
  if (typeof p.jti !== 'string' || p.jti.length < 1 || p.jti.length > 200) return 'jti must be a string of 1 to 200 characters'
  if (!Array.isArray(p.messages) || p.messages.length > 10_000) return 'messages must be a list'
  for (const m of p.messages) if (!m || typeof m !== 'object' || typeof (m as Message).type !== 'string') return 'each message needs a type'
  return undefined
}

/**
 * Opens a reply from a pod whose key we hold; returns its payload or a reason. Used by the
 * sender after a delivery, so a forged "ok" cannot make it drop queued messages.
 */
export async function openReply(
  jwe: string,
  me: Identity,
  peer: { fingerprint: string; verifyKey: CryptoKey },
  inReplyTo: string,
  nowMs: number,
): Promise<Result<ReplyPayload, string>> {
  const d = await decrypt(jwe, me)
  if (!d.ok) return fail(d.error.message)
  const claims = unverifiedClaims(d.value.jws)
  if (!claims.ok) return fail(claims.error.message)
  if (claims.value.kid !== peer.fingerprint || !(await verify(d.value.jws, peer.verifyKey))) return fail('the reply is not signed by the friend')
  const r = claims.value.payload as unknown as ReplyPayload
  if (r.to !== me.fingerprint || r.inReplyTo !== inReplyTo) return fail('the reply answers another message')
  if (typeof r.iat !== 'number' || Math.abs(r.iat - nowMs / 1000) > MAX_CLOCK_SKEW_SECONDS) return fail('the reply is stale')
  if (r.ok !== true || !Array.isArray(r.results)) return fail('the reply is not a success')
  return ok(r)
}
