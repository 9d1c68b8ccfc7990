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

/** S3 Signature Version 4 (header form) for one request; the payload hash is the real one. */
export function signedFetch(
  c: SigningTarget,
  method: string,
  path: string,
  init: { query?: Record<string, string>; headers?: Record<string, string>; body?: string | Uint8Array; signal?: AbortSignal },
): Promise<Response> {
  const url = new URL(c.endpoint + path)
  const body = typeof init.body === 'string' ? new TextEncoder().encode(init.body) : (init.body ?? new Uint8Array())
  const sha256 = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex')
  const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest()
  const amzDate = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '')
  const day = amzDate.slice(0, 8)
  const headers: Record<string, string> = { host: url.host, 'x-amz-date': amzDate, 'x-amz-content-sha256': sha256(body) }
  for (const [k, v] of Object.entries(init.headers ?? {})) headers[k.toLowerCase()] = v.trim()
  const names = Object.keys(headers).sort()
  const enc = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`)
  const query = Object.entries(init.query ?? {})
    .map(([k, v]) => [enc(k), enc(v)] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&')
  const canonical = [method, url.pathname, query, names.map((n) => `${n}:${headers[n]}\n`).join(''), names.join(';'), headers['x-amz-content-sha256']].join('\n')
  const scope = `${day}/${c.region}/s3/aws4_request`
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonical)].join('\n')
  const key = hmac(hmac(hmac(hmac(`AWS4${c.secretAccessKey}`, day), c.region), 's3'), 'aws4_request')
  const signature = createHmac('sha256', key).update(toSign).digest('hex')
  const { host: _host, ...sent } = headers
  sent.authorization = `AWS4-HMAC-SHA256 Credential=${c.accessKeyId}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}`
  return fetch(`${c.endpoint}${url.pathname}${query ? `?${query}` : ''}`, { method, headers: sent, body: body.length > 0 ? (body as Uint8Array<ArrayBuffer>) : undefined, ...(init.signal ? { signal: init.signal } : {}) })
}
