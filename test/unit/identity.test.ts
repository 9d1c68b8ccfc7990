/** The pod's keys (src/identity/keys.ts) from a PKCS#8 PEM, checked against node:crypto and RFC 7638. */
import { describe, expect, test } from 'bun:test'
import { generateKeyPairSync } from 'node:crypto'
import { identityFromPem, importPeerKey } from '../../src/identity/keys'
import { thumbprint } from '../helpers/thumbprint'

describe('identity', () => {
  test('a PKCS#8 key written by another tool (here node:crypto) is taken as it is: same public key, its thumbprint, keys that work', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
    const jwk = publicKey.export({ format: 'jwk' }) as { n: string; e: string }
    const identity = await identityFromPem(pem.trimEnd())
    expect(identity.publicJwk).toEqual({ kty: 'RSA', n: jwk.n, e: jwk.e })
    expect(identity.fingerprint).toBe(thumbprint(jwk))
    // Its keys sign and decrypt what its public key verifies and encrypts.
    const peer = await importPeerKey(identity.publicJwk)
    const data = new TextEncoder().encode('hello')
    const signature = await crypto.subtle.sign({ name: 'RSA-PSS', saltLength: 32 }, identity.signKey, data)
    expect(await crypto.subtle.verify({ name: 'RSA-PSS', saltLength: 32 }, peer.verifyKey, signature, data)).toBe(true)
    const sealed = await crypto.subtle.encrypt({ name: 'RSA-OAEP' }, peer.encryptKey, data)
    expect(new Uint8Array(await crypto.subtle.decrypt({ name: 'RSA-OAEP' }, identity.decryptKey, sealed))).toEqual(data)
  })
})
