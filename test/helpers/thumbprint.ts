/** The RFC 7638 thumbprint of an RSA public JWK, computed here from the RFC's rules (not the pod's code). */
import { createHash } from 'node:crypto'

/** The thumbprint: SHA-256 of the canonical JSON of e, kty and n, base64url. */
export function thumbprint(jwk: { e: string; n: string }): string {
  const canonical = `{"e":"${jwk.e}","kty":"RSA","n":"${jwk.n}"}`
  return createHash('sha256').update(canonical).digest('base64url')
}
