/**
 * The pod's identity: one RSA key pair, made on first start and kept in the data folder.
 * Pods know each other by the key's fingerprint (RFC 7638 JWK thumbprint), so the URL can
 * change without breaking a friendship. A key that cannot be read stops the start: a pod
 * must never quietly take a new identity, which its friends would not recognise.
 *
 * Plain WebCrypto, with the algorithms jose gives PS256 and RSA-OAEP-256 (the keys go to jose
 * for signing and encryption, src/federation/envelope.ts): loading the identity is on the way to
 * a pod's first answer, before which the pod loads no more code than it must.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { JWK } from 'jose'

/** The RSA key size for new identities. */
const KEY_BITS = 2048

/** A pod's key pair, imported once for each use WebCrypto binds a key to. */
export interface Identity {
  readonly fingerprint: string
  /** Public key as a JWK (`kty`, `n`, `e`). */
  readonly publicJwk: Readonly<JWK>
  readonly signKey: CryptoKey
  readonly decryptKey: CryptoKey
}

/** The identity key could not be read or used. */
class IdentityError extends Error {}

/** The public part of an RSA JWK, in a canonical shape. */
function publicPart(jwk: JWK): JWK {
  return { kty: 'RSA', n: jwk.n, e: jwk.e }
}

/** What jose's PS256 and RSA-OAEP-256 are in WebCrypto. */
const PS256 = { name: 'RSA-PSS', hash: 'SHA-256' } as const
const RSA_OAEP_256 = { name: 'RSA-OAEP', hash: 'SHA-256' } as const

/** RFC 7638 thumbprint (SHA-256, base64url) of a public key: the hash of its required members, in order. */
export async function fingerprintOf(jwk: JWK): Promise<string> {
  if (typeof jwk.n !== 'string' || typeof jwk.e !== 'string') throw new IdentityError('the key is not an RSA public key')
  const canonical = JSON.stringify({ e: jwk.e, kty: 'RSA', n: jwk.n })
  return Buffer.from(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(canonical))).toString('base64url')
}

const PEM = /-----BEGIN PRIVATE KEY-----([A-Za-z0-9+/=\s]+)-----END PRIVATE KEY-----/

function pemToDer(pem: string): Uint8Array<ArrayBuffer> {
  const body = PEM.exec(pem)?.[1]
  if (!body) throw new IdentityError('not a PKCS#8 PEM private key')
  return new Uint8Array(Buffer.from(body.replace(/\s+/g, ''), 'base64'))
}

function derToPem(der: ArrayBuffer): string {
  const lines = Buffer.from(der).toString('base64').match(/.{1,64}/g)!.join('\n')
  return `-----BEGIN PRIVATE KEY-----\n${lines}\n-----END PRIVATE KEY-----\n`
}

/** Writes a file that only the owner may read, atomically (temp file + rename). */
export function writeSecretFile(path: string, data: string | Uint8Array): void {
  const tmp = `${path}.${process.pid}.tmp`
  writeFileSync(tmp, data, { mode: 0o600 })
  chmodSync(tmp, 0o600)
  renameSync(tmp, path)
}

/** Builds an Identity from a PKCS#8 PEM private key. */
export async function identityFromPem(pem: string): Promise<Identity> {
  const der = pemToDer(pem)
  const signKey = await crypto.subtle.importKey('pkcs8', der, PS256, true, ['sign'])
  const decryptKey = await crypto.subtle.importKey('pkcs8', der, RSA_OAEP_256, false, ['decrypt', 'unwrapKey'])
  const publicJwk = publicPart((await crypto.subtle.exportKey('jwk', signKey)) as JWK)
  if (!publicJwk.n || Buffer.from(publicJwk.n, 'base64url').length * 8 < KEY_BITS)
    throw new IdentityError(`the key is shorter than ${KEY_BITS} bits`)
  return Object.freeze({ fingerprint: await fingerprintOf(publicJwk), publicJwk: Object.freeze(publicJwk), signKey, decryptKey })
}

/** Creates a fresh identity (first start, and tests). Returns the identity and its PEM. */
export async function newIdentity(): Promise<{ identity: Identity; pem: string }> {
  const { privateKey } = (await crypto.subtle.generateKey({ ...PS256, modulusLength: KEY_BITS, publicExponent: new Uint8Array([1, 0, 1]) }, true, [
    'sign',
    'verify',
  ])) as CryptoKeyPair
  const pem = derToPem((await crypto.subtle.exportKey('pkcs8', privateKey)) as ArrayBuffer)
  return { identity: await identityFromPem(pem), pem }
}

/**
 * Loads the identity from `dataDir/keys/pod.key`, creating it on first start.
 * Throws IdentityError if the file exists but cannot be read or parsed.
 */
export async function loadOrCreateIdentity(dataDir: string): Promise<{ identity: Identity; created: boolean }> {
  const dir = join(dataDir, 'keys')
  const path = join(dir, 'pod.key')
  if (!existsSync(path)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 })
    const { identity, pem } = await newIdentity()
    writeSecretFile(path, pem)
    return { identity, created: true }
  }
  let pem: string
  try {
    pem = readFileSync(path, 'utf8')
  } catch (e) {
    throw new IdentityError(`cannot read the pod's key ${path} (${(e as NodeJS.ErrnoException).code ?? e}); fix its permissions or restore it from a backup`)
  }
  try {
    return { identity: await identityFromPem(pem), created: false }
  } catch (e) {
    throw new IdentityError(
      `the pod's key ${path} is corrupt (${(e as Error).message}). Restore it from a backup; ` +
        `deleting it gives this pod a new identity that its friends will not recognise`,
    )
  }
}

/** Imports a peer's public JWK for verifying its signatures and encrypting to it. */
export async function importPeerKey(jwk: JWK): Promise<{ verifyKey: CryptoKey; encryptKey: CryptoKey }> {
  const pub = publicPart(jwk)
  return {
    verifyKey: await crypto.subtle.importKey('jwk', pub as JsonWebKey, PS256, true, ['verify']),
    encryptKey: await crypto.subtle.importKey('jwk', pub as JsonWebKey, RSA_OAEP_256, true, ['encrypt', 'wrapKey']),
  }
}

/** A random secret kept in the data folder (e.g. the key that signs login tokens). */
export function loadOrCreateSecret(dataDir: string, name: string): Uint8Array {
  const dir = join(dataDir, 'keys')
  const path = join(dir, name)
  if (existsSync(path)) {
    const data = readFileSync(path)
    if (data.length < 32) throw new IdentityError(`the secret ${path} is too short; delete it to make a new one (logged-in users will have to log in again)`)
    return new Uint8Array(data)
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  const secret = crypto.getRandomValues(new Uint8Array(32))
  writeSecretFile(path, secret)
  return secret
}
