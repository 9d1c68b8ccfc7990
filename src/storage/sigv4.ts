/**
 * S3 Signature Version 4 for the requests Bun.S3Client does not make (bucket calls:
 * GetBucketCors, PutBucketCors, CreateBucket), used by the storage's start check and by the
 * test harness of radosgw.
 */
import { createHash, createHmac } from 'node:crypto'

/** Where and as whom to sign. */
export interface SigningTarget {
  endpoint: string
  region: string
  accessKeyId: string
  secretAccessKey: string
}

const sha256 = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex')
const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest()
const enc = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`)
const amzDateOf = (date: Date) => date.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '')

/** A query string in SigV4's canonical form: names and values escaped, sorted by name. */
function canonicalQuery(query: Record<string, string>): string {
  return Object.entries(query)
    .map(([k, v]) => [enc(k), enc(v)] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&')
}

/** The signature of a canonical request, and its credential scope. */
function sign(c: SigningTarget, amzDate: string, canonical: string): { scope: string; signature: string } {
  const day = amzDate.slice(0, 8)
  const scope = `${day}/${c.region}/s3/aws4_request`
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonical)].join('\n')
  const key = hmac(hmac(hmac(hmac(`AWS4${c.secretAccessKey}`, day), c.region), 's3'), 'aws4_request')
  return { scope, signature: createHmac('sha256', key).update(toSign).digest('hex') }
}

/**
 * A presigned GET URL (query-string SigV4) of `path` (`/bucket/key`, already URL-safe),
 * signed as of `date` and valid `expiresIn` seconds from then. The same inputs give the same
 * URL: unlike Bun.S3Client's presign (signed at the current second), a URL signed at a
 * rounded time stays the same for a while, so that a playlist, a .torrent and a video's web
 * seed name the same URL, and browsers can cache what it answers.
 */
export function presignGet(c: SigningTarget, path: string, expiresIn: number, date: Date): string {
  const url = new URL(c.endpoint + path)
  const amzDate = amzDateOf(date)
  const query: Record<string, string> = {
    'X-Amz-Algorithm': 'AWS4-HMAC-SHA256',
    'X-Amz-Credential': `${c.accessKeyId}/${amzDate.slice(0, 8)}/${c.region}/s3/aws4_request`,
    'X-Amz-Date': amzDate,
    'X-Amz-Expires': String(expiresIn),
    'X-Amz-SignedHeaders': 'host',
  }
  const canonical = ['GET', url.pathname, canonicalQuery(query), `host:${url.host}\n`, 'host', 'UNSIGNED-PAYLOAD'].join('\n')
  return `${c.endpoint}${url.pathname}?${canonicalQuery(query)}&X-Amz-Signature=${sign(c, amzDate, canonical).signature}`
}

/** S3 Signature Version 4 (header form) for one request; the payload hash is the real one. */
export function signedFetch(
  c: SigningTarget,
  method: string,
  path: string,
  init: { query?: Record<string, string>; headers?: Record<string, string>; body?: string | Uint8Array; signal?: AbortSignal },
): Promise<Response> {
  const url = new URL(c.endpoint + path)
  const body = typeof init.body === 'string' ? new TextEncoder().encode(init.body) : (init.body ?? new Uint8Array())
  const amzDate = amzDateOf(new Date())
  const headers: Record<string, string> = { host: url.host, 'x-amz-date': amzDate, 'x-amz-content-sha256': sha256(body) }
  for (const [k, v] of Object.entries(init.headers ?? {})) headers[k.toLowerCase()] = v.trim()
  const names = Object.keys(headers).sort()
  const query = canonicalQuery(init.query ?? {})
  const canonical = [method, url.pathname, query, names.map((n) => `${n}:${headers[n]}\n`).join(''), names.join(';'), headers['x-amz-content-sha256']].join('\n')
  const { scope, signature } = sign(c, amzDate, canonical)
  const { host: _host, ...sent } = headers
  sent.authorization = `AWS4-HMAC-SHA256 Credential=${c.accessKeyId}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}`
  return fetch(`${c.endpoint}${url.pathname}${query ? `?${query}` : ''}`, { method, headers: sent, body: body.length > 0 ? (body as Uint8Array<ArrayBuffer>) : undefined, ...(init.signal ? { signal: init.signal } : {}) })
}
