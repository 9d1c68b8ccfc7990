/**
 * A bounded fuzz test of the inbox (`POST /api/v1/pod/inbox`) of pod A, friend of pod B, on
 * loopback: random bytes, JWE-shaped garbage, real JWEs truncated or mutated, JWEs of arbitrary
 * plaintexts (JWS with other algorithms, no kid, non-JSON payloads), and real JWEs sealed by B
 * (a friend) or C (a stranger) whose payloads are mutated: wrong types for
 * v/from/to/iat/jti/messages, huge arrays, deep nesting, known and unknown message types with
 * random data, big strings; their JWE header naming a sender (`iss`, what the inbox sizes a
 * body by) that is the signer, none, the friend's or another (a stranger's that is over
 * `inbox.strangerMessageBytes` is a 413, a friend's over `maxMessageBytes` too, one that is not
 * the signer's is never applied); sent with random content types, with fetch or by hand (chunked, a
 * Content-Length that lies, both Content-Length and Transfer-Encoding, an empty body).
 *
 * Asserted for every input: no 5xx, errors as the API's JSON, the database changed only by a
 * whole payload sealed by the friend and answered 2xx, no error logged
 * (test/helpers/fuzz-fixture.ts); a sealed 200 opens as the friend's reply, any other 200 is a
 * duplicate; the friendship survives the run. `FUZZ_SEED`, `FUZZ_SCALE` and `FUZZ_TRACE` as
 * there.
 */
import { describe, expect, test } from 'bun:test'
import { openReply } from '../src/federation/envelope'
import { CURRENT_VERSION } from '../src/federation/versions'
import type { Video } from '../src/videos/model'
import { deepNesting, deepValue, headerString, mutateJson, randomJson, randomString, Rng } from './helpers/fuzz'
import { announceSeed, COUNTS, quiescent, runPart, SAFE_URLS, useFuzzFixture } from './helpers/fuzz-fixture'
import { enc, encryptTo, sealJson, signBytes, type Input, type Outcome } from './helpers/fuzz-inputs'
import { fp, videoId } from './helpers/network'

const SEED = announceSeed(import.meta.path)
const fx = useFuzzFixture()

describe('fuzz', () => {
  test('the inbox: random, mutated and sealed hostile bodies', async () => {
    const { a, b, c, own, bFixture, aRecipient, aVerifyKey, cRecipient } = fx
    const r = new Rng(SEED ^ 0x1b0c)
    const bId = b.running.pod.identity
    const now = () => Math.floor(Date.now() / 1000)
    const infoHash = /btih:([0-9a-f]{40})/.exec(own.magnetUri)![1]!
    const bVideo = (n: number): Video => ({ ...bFixture, id: videoId(b, `fz${n}`), name: `fuzz ${n}`, createdAt: new Date().toISOString() })
    const applied: string[] = []

    /** A message's `data` that fits its type, for the types the registry knows. */
    const goodData = (type: string, n: number): unknown => {
      switch (type) {
        case 'friend.request':
          return { url: r.pick([b.base, ...SAFE_URLS]), publicKey: r.chance(0.7) ? bId.publicJwk : c.publicJwk, name: randomString(r, 50) }
        case 'pod.moved':
          return { url: r.pick([b.base, ...SAFE_URLS]) }
        case 'video.add':
        case 'video.update':
          return r.chance(0.8) ? bVideo(r.int(40)) : { ...bVideo(n), id: own.id }
        case 'video.remove':
          return { id: r.chance(0.5) ? videoId(b, `fz${r.int(40)}`) : randomString(r, 64) || 'x' }
        case 'video.mirror':
        case 'video.unmirror': {
          // A stream of the video (`rendition`: its height, 0 the original) or the whole file (none).
          const rendition = r.pick<unknown>([undefined, undefined, 0, 240, 480, 720, -1, 10_001, 1.5, '240', null])
          return { id: r.chance(0.5) ? own.id : bFixture.id, infoHash: r.chance(0.7) ? infoHash : '0'.repeat(40), ...(rendition === undefined ? {} : { rendition }) }
        }
        case 'video.details':
          return { id: r.pick([own.id, bFixture.id, 'nothing']) }
        case 'video.viewed':
          return { id: r.pick([own.id, bFixture.id, 'nothing']), ...(r.chance(0.5) ? { count: r.pick([1, 5, 1_000_000]) } : {}) }
        default:
          return randomJson(r, 3)
      }
    }
    const KNOWN = ['friend.request', 'friend.quit', 'pod.moved', 'video.add', 'video.update', 'video.remove', 'video.mirror', 'video.unmirror', 'video.details', 'video.viewed']
    const UNKNOWN = ['video.sparkle', '', ' ', 'VIDEO.ADD', 'video.add ', '__proto__', 'constructor', 'toString', 'hasOwnProperty', 'friend.request\u0000']

    /** A message: a known type with good, mutated or random data, or an unknown type, or not a message. */
    const message = (n: number): unknown => {
      if (r.chance(0.05)) return randomJson(r, 2)
      const type = r.chance(0.75) ? r.pick(KNOWN) : r.chance(0.7) ? r.pick(UNKNOWN) : randomString(r, 40)
      const k = r.int(10)
      let data = k < 4 ? goodData(type, n) : k < 8 ? mutateJson(r, goodData(type, n), { keepStrings: type === 'friend.request' || type === 'pod.moved' }) : randomJson(r, 3)
      // The fixture's friendship must last the run: a well-formed friend.quit would end it.
      if (type === 'friend.quit' && data !== null && typeof data === 'object' && !Array.isArray(data)) data = r.pick([[], 'quit', 1, null])
      // A URL to prove is always one that fails (or B's own) at once, never a name to resolve.
      if ((type === 'friend.request' || type === 'pod.moved') && data !== null && typeof data === 'object' && typeof (data as { url?: unknown }).url === 'string')
        data = { ...(data as object), url: r.pick([b.base, ...SAFE_URLS]) }
      return r.chance(0.03) ? { type, data, extra: randomJson(r, 1) } : { type, data }
    }

    /** A payload as `sender` would send it, then mutated. */
    const payload = (n: number, sender: { url: string; fingerprint: string }): unknown => {
      const count = r.chance(0.03) ? r.pick([1000, 10_000, 10_001]) : r.pick([0, 1, 1, 1, 2, 3, 5])
      const messages = count > 100 ? Array.from({ length: count }, (_, i) => ({ type: i % 2 ? 'fuzz.noop' : 'video.sparkle', data: i })) : Array.from({ length: count }, () => message(n))
      const p: Record<string, unknown> = { v: CURRENT_VERSION, from: { ...sender }, to: fp(a), iat: now(), jti: r.uuid(), messages }
      const mutations = r.chance(0.45) ? r.range(1, 3) : 0
      for (let m = 0; m < mutations; m++) {
        switch (r.int(9)) {
          case 0:
            p.v = r.pick(['1', 2, 0, null, [1], {}, 1.5, -1, 1e308, true, undefined])
            break
          case 1:
            p.from = r.pick([undefined, 'x', null, { url: 1, fingerprint: sender.fingerprint }, { url: sender.url, fingerprint: c.fingerprint }, { url: sender.url }, { fingerprint: sender.fingerprint }, mutateJson(r, p.from)])
            break
          case 2:
            p.to = r.pick([undefined, fp(b), c.fingerprint, `${fp(a)}x`, '', 1, null, randomString(r, 60)])
            break
          case 3:
            p.iat = r.pick([undefined, String(now()), now() - 301, now() + 301, now() - 1e6, 1e308, -1, null, now() + 0.5, [now()], now() * 1000])
            break
          case 4:
            p.jti = r.pick([undefined, '', 'x'.repeat(201), 'x'.repeat(200), 1, null, randomString(r, 300), applied.length ? r.pick(applied) : 'none', { id: 1 }])
            break
          case 5:
            p.messages = r.pick([undefined, null, {}, 'x', [null], [1], [{}], [{ type: 1 }], [{ type: null, data: 1 }], [deepValue(r.range(10, 1500))], Array.from({ length: 10_001 }, () => ({ type: 'x' }))])
            break
          case 6:
            Object.defineProperty(p, r.pick(['__proto__', 'constructor', 'extra', 'ok', 'inReplyTo', 'results']), { value: randomJson(r, 2), enumerable: true, configurable: true, writable: true })
            break
          case 7:
            // A big string somewhere: some stay under the 4 MiB body limit once sealed, some do not.
            ;(p.messages as unknown[] | undefined)?.push?.({ type: r.pick(['video.sparkle', 'video.add', 'video.remove']), data: { id: 'x'.repeat(r.pick([65, 1000, 100_000, 1_500_000, 2_400_000])) } })
            break
          default:
            return mutateJson(r, p)
        }
      }
      return p
    }

    const encrypt = (text: string, to = aRecipient, header?: Record<string, unknown>) => encryptTo(text, to, header)

    /**
     * The sender the JWE's header names (`iss`, what the inbox sizes a body by before it reads
     * it): the signer's own, none (a pod of an earlier release), the stranger's, the friend's,
     * or not a fingerprint at all.
     */
    const issVariant = (signer: string): { name: string; value: unknown } => {
      const k = r.int(10)
      if (k < 4) return { name: 'right', value: signer }
      if (k < 6) return { name: 'missing', value: undefined }
      if (k === 6) return signer === fp(b) ? { name: 'wrong', value: c.fingerprint } : { name: 'friend', value: fp(b) }
      if (k === 7) return { name: 'wrong', value: r.pick([fp(a), `${signer}x`, signer.toUpperCase(), '']) }
      return { name: 'wrong', value: r.pick([1, null, [signer], { fingerprint: signer }, randomString(r, 80)]) }
    }
    /** `payload` signed by `signer`, sealed to A with `iss` in the header (none when undefined). */
    const sealIss = async (payload: unknown, signer: typeof bId, iss: unknown) =>
      encrypt(await signBytes(enc.encode(JSON.stringify(payload)), signer), aRecipient, { alg: 'RSA-OAEP-256', enc: 'A256GCM', kid: fp(a), cty: 'JWT', ...(iss === undefined ? {} : { iss }) })
    const b64 = (s: string | Uint8Array) => Buffer.from(s).toString('base64url')

    // Real JWEs to cut and flip: payloads already applied (a copy that still decrypts is a
    // duplicate) and payloads the inbox refuses (invalid_message).
    const pool: string[] = []
    for (let k = 0; k < 8; k++) {
      const p = { v: 1, from: { url: b.base, fingerprint: fp(b) }, to: fp(a), iat: now(), jti: `pool-${SEED}-${k}`, messages: [{ type: 'fuzz.noop', data: k }] }
      const jwe = await sealJson(p, bId, aRecipient)
      const res = await fetch(`${a.base}/api/v1/pod/inbox`, { method: 'POST', headers: { 'content-type': 'application/jose' }, body: jwe })
      if (res.status !== 200) throw new Error(`pool payload ${k}: ${res.status} ${await res.text()}`)
      applied.push(p.jti)
      pool.push(jwe)
      pool.push(await sealJson({ ...p, jti: `bad-${SEED}-${k}`, messages: [{ type: 'video.remove', data: { id: '' } }] }, bId, aRecipient))
    }
    await quiescent(a)

    const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
    const mutateJwe = (jwe: string): string => {
      const parts = jwe.split('.')
      switch (r.int(8)) {
        case 0: {
          // Characters replaced (within the alphabet, or not).
          const chars = [...jwe]
          for (let t = r.range(1, 8); t > 0; t--) chars[r.int(chars.length)] = r.chance(0.8) ? r.pick([...B64URL]) : r.pick(['.', '=', '+', '/', ' ', '\n', '\0', 'é'])
          return chars.join('')
        }
        case 1: {
          const other = r.pick(pool).split('.')
          const i = r.int(5)
          parts[i] = other[i]!
          return parts.join('.')
        }
        case 2:
          parts.splice(r.int(parts.length), 1)
          return parts.join('.')
        case 3:
          parts.splice(r.int(parts.length), 0, parts[r.int(parts.length)]!)
          return parts.join('.')
        case 4:
          return `${jwe}.${jwe}`
        case 5:
          return `  \n${jwe}\r\n\t `
        case 6:
          parts[0] = b64(JSON.stringify(mutateJson(r, JSON.parse(Buffer.from(parts[0]!, 'base64url').toString()))))
          return parts.join('.')
        default:
          return jwe.toUpperCase()
      }
    }

    const jweShaped = (): string => {
      const header = r.pick<unknown>([
        { alg: 'RSA-OAEP-256', enc: 'A256GCM', kid: fp(a) },
        { alg: 'RSA-OAEP', enc: 'A256GCM' },
        { alg: 'dir', enc: 'A256GCM' },
        { alg: 'PBES2-HS512+A256KW', enc: 'A256GCM', p2c: 100_000_000, p2s: 'AAAA' },
        { alg: 'RSA-OAEP-256', enc: 'A128CBC-HS256', zip: 'DEF' },
        { alg: 'ECDH-ES', enc: 'A256GCM', epk: { kty: 'EC', crv: 'P-256', x: 'AA', y: 'AA' } },
        { alg: 'none' },
        { alg: 'RSA-OAEP-256', enc: 'A256GCM', crit: ['exp'], exp: 1 },
        randomJson(r, 2),
      ])
      const seg = () => (r.chance(0.8) ? b64(r.bytes(r.length(600))) : randomString(r, 40))
      const first = r.chance(0.85) ? b64(JSON.stringify(r.chance(0.5) ? header : mutateJson(r, header))) : seg()
      return [first, seg(), seg(), seg(), seg()].slice(0, r.chance(0.8) ? 5 : r.range(1, 7)).join('.')
    }

    /**
     * A JWE to A of some plaintext other than a plain good JWS: what the layers under the
     * payload must refuse; or (with `jti`) a good payload of B's in an unusual wrapping (no
     * `kid` in the JWE, another `cty`, duplicate keys in its JSON) that the inbox may apply.
     */
    const customPlaintext = async (): Promise<{ body: string; jti?: string }> => {
      const jti = r.uuid()
      const payloadText = JSON.stringify({ v: 1, from: { url: b.base, fingerprint: fp(b) }, to: fp(a), iat: now(), jti, messages: [] })
      switch (r.int(9)) {
        case 0:
          return { body: await encrypt(randomString(r, 500)) }
        case 1:
          return { body: await encrypt(`${b64(JSON.stringify({ alg: 'none', kid: fp(b) }))}.${b64(payloadText)}.`) }
        case 2: {
          const header = r.pick<unknown>([{ alg: 'PS256' }, { alg: 'PS256', kid: 123 }, { alg: 'HS256', kid: fp(b) }, { alg: 'RS256', kid: fp(b) }, { alg: 'PS256', kid: fp(b), crit: ['b64'], b64: false }, randomJson(r, 2)])
          return { body: await encrypt(`${b64(JSON.stringify(header))}.${b64(payloadText)}.${b64(r.bytes(256))}`) }
        }
        case 3:
          // A plausible JWS whose signature is not B's.
          return { body: await encrypt(`${b64(JSON.stringify({ alg: 'PS256', kid: fp(b) }))}.${b64(payloadText)}.${b64(r.bytes(256))}`) }
        case 4:
          // Signed by B, but not a JSON object.
          return { body: await encrypt(await signBytes(enc.encode(r.pick(['null', '[]', '1', '"s"', 'true', '', '{', '\ufeff{}', deepNesting(r, r.range(1000, 200_000))])), bId)) }
        case 5:
          return { body: await encrypt(await signBytes(r.bytes(r.length(2000)), bId)) }
        case 6:
          // Signed by C, but claiming B's kid.
          return { body: await encrypt(await signBytes(enc.encode(payloadText), c, { alg: 'PS256', kid: fp(b) })) }
        case 7: {
          const header = r.pick<Record<string, unknown>>([{ alg: 'RSA-OAEP-256', enc: 'A256GCM' }, { alg: 'RSA-OAEP-256', enc: 'A256GCM', kid: fp(a), cty: 'text/plain', extra: randomJson(r, 2) }])
          return { body: await encrypt(await signBytes(enc.encode(payloadText), bId), aRecipient, header), jti }
        }
        default:
          // A JSON payload as text, with duplicate keys and __proto__, signed by B.
          return {
            body: await encrypt(await signBytes(enc.encode(`{"v":1,"v":1,"__proto__":{"v":2},"from":{"url":"${b.base}","fingerprint":"${fp(b)}"},"to":"${fp(a)}","iat":${now()},"jti":"${jti}","messages":[],"messages":[{"type":"video.sparkle","data":null}]}`), bId)),
            jti,
          }
      }
    }

    const OTHER_TYPES = ['APPLICATION/JOSE; charset=utf-8', 'application/jose ; x=y', 'application/jose+json', 'application/json', 'text/plain', '', 'multipart/form-data', 'application/x-www-form-urlencoded']
    const next = async (n: number): Promise<Input> => {
      const k = r.float()
      let kind: string
      let body: Uint8Array | string
      let mayChange = false
      let jti: string | undefined
      let expect: number[] | undefined
      if (k < 0.08) {
        kind = 'random-bytes'
        body = r.bytes(r.chance(0.05) ? r.pick([1 << 20, 4 * 1024 * 1024, 4 * 1024 * 1024 + 1]) : r.length(5000))
      } else if (k < 0.16) {
        kind = 'jwe-shaped'
        body = jweShaped()
      } else if (k < 0.24) {
        kind = 'truncated-jwe'
        const jwe = r.pick(pool)
        body = jwe.slice(0, r.int(jwe.length))
      } else if (k < 0.36) {
        kind = 'mutated-jwe'
        body = mutateJwe(r.pick(pool))
      } else if (k < 0.48) {
        kind = 'custom-plaintext'
        const made = await customPlaintext()
        body = made.body
        jti = made.jti
        mayChange = jti !== undefined
      } else if (k < 0.86) {
        kind = 'sealed-by-friend'
        const p = payload(n, { url: b.base, fingerprint: fp(b) }) as { jti?: unknown } | null
        const iss = issVariant(fp(b))
        kind += ` (iss ${iss.name})`
        body = await sealIss(p, bId, iss.value)
        // Only the signer's own iss (or none: a pod of an earlier release) may be applied.
        mayChange = iss.name === 'right' || iss.name === 'missing'
        jti = typeof p?.jti === 'string' ? p.jti : undefined
        if (!mayChange) expect = [400, 401, 413]
        // A friend's body over maxMessageBytes is refused, whichever iss it names.
        if (Buffer.byteLength(body) > a.config.maxMessageBytes) [expect, mayChange] = [[413], false]
      } else if (k < 0.95) {
        kind = 'sealed-by-stranger'
        const p = payload(n, { url: 'http://127.0.0.1:1', fingerprint: c.fingerprint }) as Record<string, unknown>
        // Mostly the one message a stranger may send; its URL is one that fails (or B's: not C's key).
        if (r.chance(0.6) && p !== null && typeof p === 'object')
          p.messages = [{ type: 'friend.request', data: mutateJson(r, { url: r.pick(SAFE_URLS.concat(b.base)), publicKey: r.pick([c.publicJwk, bId.publicJwk, { kty: 'RSA', n: 'AQAB', e: 'AQAB' }, { kty: 'EC', crv: 'P-256' }]) }, { keepStrings: true }) }]
        // Sometimes padded past what a stranger may send.
        if (r.chance(0.2) && p !== null && typeof p === 'object') p.pad = 'x'.repeat(r.pick([20_000, 40_000, 300_000]))
        const iss = issVariant(c.fingerprint)
        kind += ` (iss ${iss.name})`
        body = await sealIss(p, c, iss.value)
        // A stranger that names itself is held to strangerMessageBytes; one naming the friend is not the signer.
        if (iss.name === 'right' && Buffer.byteLength(body) > a.config.inbox.strangerMessageBytes) expect = [413]
        else if (iss.name === 'friend' || iss.name === 'wrong') expect = [400, 401, 403, 413]
      } else {
        kind = 'sealed-to-another-pod'
        const p = payload(n, { url: b.base, fingerprint: fp(b) })
        const jws = await signBytes(enc.encode(JSON.stringify(p)), bId)
        body = await encrypt(jws, cRecipient, { alg: 'RSA-OAEP-256', enc: 'A256GCM', cty: 'JWT', ...r.pick([{ kid: c.fingerprint }, { kid: fp(a) }, {}]) })
      }
      const headers: Record<string, string> = {}
      const ct = r.chance(0.8) ? 'application/jose' : r.chance(0.8) ? r.pick(OTHER_TYPES) : headerString(r, 40)
      if (ct !== '' || r.chance(0.5)) headers['content-type'] = ct
      if (r.chance(0.2)) headers['x-forwarded-for'] = r.pick([headerString(r, 60), '1.2.3.4', '::1, 10.0.0.1', 'unknown', '999.1.1.1', '1.2.3.4'.repeat(100)])
      const t = r.float()
      const transport: Input['transport'] =
        t < 0.82 ? 'fetch' : t < 0.88 ? 'chunked' : t < 0.91 ? 'cl-short' : t < 0.94 ? 'cl-long-halfclose' : t < 0.95 ? 'cl-long-wait' : t < 0.975 ? 'cl-and-te' : 'cl-garbage'
      // An applied payload is only one sent whole, as a friend sends it.
      if (transport !== 'fetch' && transport !== 'chunked') mayChange = false
      if (typeof body === 'string' && r.chance(0.03)) body = ''
      // What the sender expects, for a body sent whole as application/jose.
      if (headers['content-type'] !== 'application/jose' || body === '') expect = undefined
      return { part: 'inbox', n, kind, method: 'POST', path: '/api/v1/pod/inbox', headers, body, transport, mayChange, json: true, jti, expect }
    }

    const after = async (i: Input, o: Outcome): Promise<string[]> => {
      if (o.status !== 200) return []
      if (o.contentType?.includes('application/jose')) {
        if (!i.mayChange) return ['a sealed reply (applied) for an input that is not a whole payload from the friend']
        const reply = await openReply(o.body ?? '', bId, { fingerprint: fp(a), verifyKey: aVerifyKey }, i.jti ?? '', Date.now())
        if (!reply.ok) return [`the sealed reply does not open: ${reply.error}`]
        if (i.jti) applied.push(i.jti)
        return []
      }
      let duplicate = false
      try {
        duplicate = (JSON.parse(o.body ?? '') as { duplicate?: unknown }).duplicate === true
      } catch {}
      return duplicate ? [] : [`a 200 that is neither a sealed reply nor a duplicate: ${(o.body ?? '').slice(0, 200)}`]
    }

    const failures = await runPart(fx, 'inbox', COUNTS.inbox, next, after)
    // The fixture's friendship survived the run.
    expect(a.running.pod.friends.store.get(fp(b))).toBeDefined()
    // B announced mirrors of A's own video it never had (some of a rendition): none is in what
    // a viewer of the video is given (its magnet, web seeds, streams), as none was proven.
    const shown = await (await fetch(`${a.base}/api/v1/videos/${own.id}`)).text()
    expect(shown).toContain(own.id)
    expect(shown).not.toContain(b.base)
    expect(failures).toEqual([])
  })
})
