/**
 * The storage a pod starts with: the data folder, or its bucket once the bucket has answered
 * (a pod that cannot reach its files does not start: the error names the endpoint and what
 * failed) and its CORS rules let browsers on any page read the videos' byte ranges (set
 * with PutBucketCors when missing; when the pod may not set them, the error says which rule
 * to add).
 */
import { createHash } from 'node:crypto'
import type { StorageConfig } from '../shared/config'
import { describeS3Error, S3Store } from './s3'
import { signedFetch, type SigningTarget } from './sigv4'
import { LocalStore, type ObjectStore } from './store'

/** Storage that cannot be used: the message says where and what (no credentials, no stack). */
export class StorageStartError extends Error {
  override name = 'StorageStartError'
}

/**
 * The rule viewers need: any page (videos play on every pod's pages and in any client), GET
 * and HEAD with any header (WebTorrent sends Range, Cache-Control and User-Agent), the
 * headers a player reads of a range answer, cached a day by the browser.
 */
export const CORS_RULES = `<CORSConfiguration>
  <CORSRule>
    <AllowedOrigin>*</AllowedOrigin>
    <AllowedMethod>GET</AllowedMethod>
    <AllowedMethod>HEAD</AllowedMethod>
    <AllowedHeader>*</AllowedHeader>
    <ExposeHeader>Content-Range</ExposeHeader>
    <ExposeHeader>Content-Length</ExposeHeader>
    <ExposeHeader>Accept-Ranges</ExposeHeader>
    <ExposeHeader>ETag</ExposeHeader>
    <MaxAgeSeconds>86400</MaxAgeSeconds>
  </CORSRule>
</CORSConfiguration>`

/** Whether a bucket's CORS configuration has a rule like CORS_RULES' (any origin, GET, any header, Content-Range exposed). */
export function corsAllowsViewers(xml: string): boolean {
  return [...xml.matchAll(/<CORSRule>([\s\S]*?)<\/CORSRule>/g)].some(([, rule]) => {
    const all = (tag: string) => [...rule!.matchAll(new RegExp(`<${tag}>\\s*([^<]*?)\\s*</${tag}>`, 'g'))].map((m) => m[1]!)
    return all('AllowedOrigin').includes('*') && all('AllowedMethod').includes('GET') && all('AllowedHeader').includes('*') && all('ExposeHeader').some((h) => h.toLowerCase() === 'content-range')
  })
}

/** Reads the bucket's CORS rules and sets CORS_RULES when they do not let viewers in. */
async function ensureCors(config: StorageConfig, target: SigningTarget, where: string): Promise<void> {
  const signal = AbortSignal.timeout(10_000)
  const got = await signedFetch(target, 'GET', `/${config.bucket}`, { query: { cors: '' }, signal })
  const text = await got.text()
  if (got.status === 200 && corsAllowsViewers(text)) return
  const put = await signedFetch(target, 'PUT', `/${config.bucket}`, {
    query: { cors: '' },
    body: CORS_RULES,
    headers: { 'content-md5': createHash('md5').update(CORS_RULES).digest('base64'), 'content-type': 'application/xml' },
    signal,
  })
  const answer = await put.text()
  if (put.status !== 200)
    throw new StorageStartError(
      `storage: ${where} has no CORS rule that lets browsers read videos, and setting one was refused (${put.status} ${/<Code>([^<]*)<\/Code>/.exec(answer)?.[1] ?? ''}). ` +
        `Add this rule to the bucket (PutBucketCors), or give the pod's keys s3:PutBucketCORS:\n${CORS_RULES}`,
    )
}

/** The configured store, checked; throws StorageStartError when the bucket cannot be used. */
export async function openStorage(config: StorageConfig, dataDir: string): Promise<ObjectStore> {
  return config.kind === 'local' ? new LocalStore(dataDir) : openS3(config)
}

/**
 * The bucket `seedpod storage migrate` moves files to and back from; throws StorageStartError
 * when the pod has none (a pod on its data folder alone does not read the bucket) or it
 * cannot be used.
 */
export function openBucket(config: StorageConfig): Promise<S3Store> {
  if (config.kind !== 's3')
    throw new StorageStartError('storage migrate: set storage.kind = "s3" with the bucket\'s settings (and restart the pod) first: a pod on its data folder alone does not read the bucket, and would lose what is moved')
  return openS3(config)
}

/** The bucket, checked: it answers, and its CORS rules let viewers in. */
async function openS3(config: StorageConfig): Promise<S3Store> {
  const store = new S3Store(config)
  const health = await store.check()
  if (health.state !== 'ok') throw new StorageStartError(`storage: ${health.error}`)
  try {
    await ensureCors(config, store.signing(), store.where().replace(/,$/, ''))
  } catch (e) {
    if (e instanceof StorageStartError) throw e
    throw new StorageStartError(`storage: ${store.where()} ${describeS3Error(e).message} (checking its CORS rules)`)
  }
  return store
}
