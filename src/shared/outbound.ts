/**
 * The one HTTP client through which this pod fetches from other pods (pod documents, URL
 * proofs, deliveries, details, thumbnails, torrents). Every peer is assumed hostile, so a
 * request never follows a redirect, ends after a deadline, reads at most a given number of
 * bytes, never goes to this pod's own URL, and never reaches a non-public address (unless
 * `network.allowPrivateAddresses`, for pods on a LAN and for the test suite).
 *
 * Address pinning: the host is resolved here, the address is checked, and the request is
 * made to that address as an IP literal, with the original `Host` header and, for https, the
 * original name as TLS server name (SNI and certificate check, Bun's `tls.serverName`). The
 * address checked is thus the one connected to: a name that resolves to a public address
 * for the check and to 127.0.0.1 for the connection (DNS rebinding) has no second lookup to
 * play with. Proxies from the environment are not used, since a proxy would resolve again.
 */
import { lookup } from 'node:dns/promises'
import { isIP } from 'node:net'
import { DomainError, fail, ok, type Result } from './errors'
import type { Config } from './config'

/** Why a request gave no response: these are never thrown. */
export type OutboundReason = 'blocked_address' | 'bad_url' | 'redirect' | 'timeout' | 'too_large' | 'network' | 'self'

/** Another server's answer, whatever its status: the caller decides what a 404 or a 500 means. */
export interface OutboundResponse {
  status: number
  headers: Headers
  body: Uint8Array
}

/** Why a request gave no answer; `message` is short and never holds the other server's body. */
export interface OutboundFailure {
  reason: OutboundReason
  message: string
  /** Where a redirect pointed (absolute; `reason` is `redirect`), for a caller that checks it and asks again itself. */
  location?: string
}

/** What a request gives: an answer (any status but 3xx), or why there is none. */
export type OutboundResult = Result<OutboundResponse, OutboundFailure>

/** The settings of an outbound client; the pod builds one from its config at start. */
export interface OutboundSettings {
  /** Also reach loopback, private, link-local... addresses (`network.allowPrivateAddresses`). */
  allowPrivateAddresses: boolean
  /** This pod's public URL (config `url`): never fetched, nor anything under it. */
  selfUrl: string
  /** This pod's fingerprint, for {@link Outbound.isSelf}. */
  selfFingerprint: string
  /** Default deadline of a request, from resolving the name to the last body byte. */
  timeoutMs: number
  /**
   * Default largest response body read. The body is read as it arrives and the connection
   * closed once past it, so memory holds at most the cap plus one socket read of Bun's.
   */
  maxBytes: number
  /** How long a failed GET is answered from memory instead of asked again (0: never). */
  failureTtlMs: number
  /** The clock of that memory (milliseconds); Date.now unless a test drives it. */
  now?: () => number
  /** Every address a host name has; node:dns `lookup` (the system resolver) unless a test injects one. */
  resolve?: (hostname: string) => Promise<string[]>
}

/** Options of one GET. */
export interface GetOptions {
  maxBytes?: number
  timeoutMs?: number
  accept?: string
  /**
   * Only these bytes of the resource (`Range: bytes=start-end`, both inclusive): a web seed
   * answers 206 with them. GETs of different ranges of one URL are not shared.
   */
  range?: { start: number; end: number }
  /**
   * What concurrent GETs share and failures are remembered by; the URL (and the range) by
   * default. GETs with the same key get the first one's result, whatever options they pass.
   */
  key?: string
}

/** Options of one POST. */
export interface PostOptions {
  contentType: string
  accept?: string
  maxBytes?: number
  timeoutMs?: number
}

/** An outbound HTTP client; see {@link createOutbound}. */
export interface Outbound {
  /**
   * GETs a URL. At most one GET per key is in flight: concurrent callers share its result.
   * A failure (`ok: false`, or a status of 400 or more) is remembered for `failureTtlMs`, so
   * that a storm of requests to this pod does not become a storm of requests to another.
   * The body is shared between those callers: do not modify it.
   */
  get(url: string, options?: GetOptions): Promise<OutboundResult>
  /** POSTs a body; never shared or remembered, since each body is its own message. */
  post(url: string, body: string | Uint8Array<ArrayBuffer>, options: PostOptions): Promise<OutboundResult>
  /**
   * Whether a fingerprint is this pod's own. A pod document fetched from some URL that names
   * it is this pod under another name (or a pod pretending to be it): callers refuse it.
   */
  isSelf(fingerprint: string): boolean
}

/**
 * Checks a pod's base URL as given by another pod or a user: http(s), no user info, query or
 * fragment. Returns it normalised (lowercase scheme and host, no default port, no trailing
 * slash), so that one pod has one spelling; resource paths are appended by the caller.
 */
export function checkPodUrl(url: string): Result<string, string> {
  const u = URL.parse(url)
  if (!u) return fail('not an absolute URL')
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return fail('not an http(s) URL')
  if (u.username || u.password) return fail('a pod URL has no user info')
  // An empty `?` or `#` leaves search and hash empty but stays in the href.
  if (u.search || u.href.includes('?')) return fail('a pod URL has no query')
  if (u.hash || u.href.includes('#')) return fail('a pod URL has no fragment')
  return ok(`${u.protocol}//${u.host}${u.pathname.replace(/\/+$/, '')}`)
}

/** Parses a response body as JSON; undefined if it is not JSON (UTF-8). */
export function parseJson(body: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body))
  } catch {
    return undefined
  }
}

function v4Number(ip: string): number {
  return ip.split('.').reduce((n, part) => n * 256 + Number(part), 0)
}

/** The 128 bits of an IPv6 address (zone dropped, a dotted IPv4 tail read as two groups). */
function v6Number(ip: string): bigint {
  let s = ip.split('%')[0]!
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(s)
  if (dotted) {
    const n = v4Number(dotted[1]!)
    s = s.slice(0, dotted.index) + `${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`
  }
  const [head, tail] = s.split('::') as [string, string | undefined]
  const groups = (part: string | undefined) => (part ? part.split(':') : [])
  const all = tail === undefined ? groups(head) : [...groups(head), ...Array(8 - groups(head).length - groups(tail).length).fill('0'), ...groups(tail)]
  return all.reduce((n, g) => (n << 16n) | BigInt(parseInt(g, 16)), 0n)
}

const v4Net = (base: string, bits: number) => ({ base: v4Number(base), bits })
const v6Net = (base: string, bits: number) => ({ base: v6Number(base), bits })

// IANA's special-purpose registry: none of these is a pod on the internet.
const V4_BLOCKED = [
  v4Net('0.0.0.0', 8), // "this network", unspecified (0.0.0.0 reaches the local host)
  v4Net('10.0.0.0', 8),
  v4Net('100.64.0.0', 10), // carrier-grade NAT
  v4Net('127.0.0.0', 8),
  v4Net('169.254.0.0', 16), // link-local, cloud metadata services
  v4Net('172.16.0.0', 12),
  v4Net('192.0.0.0', 24),
  v4Net('192.0.2.0', 24),
  v4Net('192.88.99.0', 24),
  v4Net('192.168.0.0', 16),
  v4Net('198.18.0.0', 15),
  v4Net('198.51.100.0', 24),
  v4Net('203.0.113.0', 24),
  v4Net('224.0.0.0', 3), // multicast, reserved, broadcast
]
// IPv6 is allowed only in global unicast 2000::/3, less its special blocks; the two
// prefixes that carry an IPv4 address are judged by that address.
const V6_GLOBAL = v6Net('2000::', 3)
const V6_BLOCKED = [v6Net('2001::', 23), v6Net('2001:db8::', 32), v6Net('2002::', 16), v6Net('3fff::', 20)]
const V6_WITH_V4 = [v6Net('::ffff:0:0', 96), v6Net('64:ff9b::', 96)]

function inV4(n: number, net: { base: number; bits: number }): boolean {
  return Math.floor(n / 2 ** (32 - net.bits)) === Math.floor(net.base / 2 ** (32 - net.bits))
}

function inV6(n: bigint, net: { base: bigint; bits: number }): boolean {
  const shift = BigInt(128 - net.bits)
  return n >> shift === net.base >> shift
}

/** Whether an IP address is a public unicast one; false for anything that is not an IP address. */
export function isPublicAddress(ip: string): boolean {
  const family = isIP(ip)
  if (family === 4) return !V4_BLOCKED.some((net) => inV4(v4Number(ip), net))
  if (family !== 6) return false
  const n = v6Number(ip)
  if (V6_WITH_V4.some((net) => inV6(n, net))) return !V4_BLOCKED.some((net) => inV4(Number(n & 0xffffffffn), net))
  return inV6(n, V6_GLOBAL) && !V6_BLOCKED.some((net) => inV6(n, net))
}

async function systemResolve(hostname: string): Promise<string[]> {
  return (await lookup(hostname, { all: true })).map((a) => a.address)
}

/** The URL hostname without the brackets of an IPv6 literal. */
const bare = (hostname: string) => hostname.replace(/^\[(.*)\]$/, '$1')

const refuse = (reason: OutboundReason, message: string): OutboundResult => fail({ reason, message })

/** A promise that rejects when the signal aborts, to race an uncancellable step against the deadline. */
function aborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }))
}

/** Creates the pod's outbound client. Throws if `selfUrl` is not a pod URL (a config error). */
export function createOutbound(settings: OutboundSettings): Outbound {
  const self = checkPodUrl(settings.selfUrl)
  if (!self.ok) throw new DomainError('internal', 'bad_self_url', `selfUrl ${settings.selfUrl}: ${self.error}`)
  const selfUrl = self.value
  const now = settings.now ?? Date.now
  const resolve = settings.resolve ?? systemResolve
  const inFlight = new Map<string, Promise<OutboundResult>>()
  // Insertion order is expiry order (one TTL, a clock that does not go back), so expired
  // entries are always at the front.
  const failures = new Map<string, { until: number; result: OutboundResult }>()

  /**
   * The address to connect to, or why there is none: the first acceptable one. There is no
   * falling back to the others on a failed connection; a pod with a dead address first is
   * unreachable until its DNS is fixed, which is simpler than checking each retry.
   */
  async function pick(hostname: string, signal: AbortSignal): Promise<{ address: string } | { blocked: string }> {
    const name = bare(hostname)
    const addresses = isIP(name) ? [name] : await Promise.race([resolve(name), aborted(signal)])
    const address = settings.allowPrivateAddresses ? addresses[0] : addresses.find(isPublicAddress)
    if (address !== undefined) return { address }
    return { blocked: addresses.length ? `${name} has no public address (${addresses.join(', ')})` : `${name} has no address` }
  }

  async function request(
    method: 'GET' | 'POST',
    url: string,
    o: { maxBytes: number; timeoutMs: number; accept?: string; range?: GetOptions['range']; contentType?: string; body?: string | Uint8Array<ArrayBuffer> },
  ): Promise<OutboundResult> {
    const u = URL.parse(url)
    if (!u || (u.protocol !== 'http:' && u.protocol !== 'https:')) return refuse('bad_url', 'not an http(s) URL')
    if (u.username || u.password) return refuse('bad_url', 'URLs with user info are not fetched')
    if (u.hash || u.href.includes('#')) return refuse('bad_url', 'URLs with a fragment are not fetched')
    const path = u.origin + u.pathname.replace(/\/+$/, '')
    if (path === selfUrl || path.startsWith(selfUrl + '/')) return refuse('self', `${u.origin} is this pod`)

    const controller = new AbortController()
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      controller.abort()
    }, o.timeoutMs)
    try {
      const picked = await pick(u.hostname, controller.signal)
      if ('blocked' in picked) return refuse('blocked_address', picked.blocked)
      const target = new URL(u)
      target.hostname = isIP(picked.address) === 6 ? `[${picked.address}]` : picked.address
      const headers: Record<string, string> = { host: u.host, 'user-agent': 'seedpod', 'accept-encoding': 'identity' }
      if (o.accept) headers.accept = o.accept
      if (o.range) headers.range = `bytes=${o.range.start}-${o.range.end}`
      if (o.contentType) headers['content-type'] = o.contentType
      const res = await fetch(target, {
        method,
        headers,
        body: o.body,
        redirect: 'manual',
        signal: controller.signal,
        proxy: false,
        // Bodies are capped as they arrive on the wire: no decompression bomb behind the cap.
        decompress: false,
        // The certificate must be the name's, not the address's; an IP-literal host has no SNI.
        tls: u.protocol === 'https:' && !isIP(bare(u.hostname)) ? { serverName: bare(u.hostname) } : undefined,
      })
      if (res.status >= 300 && res.status < 400) {
        controller.abort()
        const location = URL.parse(res.headers.get('location') ?? '', u)?.href
        return fail({ reason: 'redirect', message: `${u.origin} answered ${res.status}; redirects are not followed`, ...(location ? { location } : {}) })
      }
      const tooLarge = () => {
        controller.abort()
        return refuse('too_large', `${u.origin} sent more than ${o.maxBytes} bytes`)
      }
      if (Number(res.headers.get('content-length') ?? 0) > o.maxBytes) return tooLarge()
      const chunks: Uint8Array[] = []
      let size = 0
      const reader = res.body?.getReader()
      for (;;) {
        const next = reader ? await reader.read() : { done: true as const }
        if (next.done) break
        size += next.value.byteLength
        if (size > o.maxBytes) return tooLarge()
        chunks.push(next.value)
      }
      const body = new Uint8Array(size)
      let at = 0
      for (const c of chunks) {
        body.set(c, at)
        at += c.byteLength
      }
      return ok({ status: res.status, headers: res.headers, body })
    } catch (e) {
      if (timedOut) return refuse('timeout', `${u.origin} did not answer within ${o.timeoutMs} ms`)
      const code = (e as { code?: unknown } | null)?.code
      return refuse('network', `${u.origin}: ${typeof code === 'string' ? code : 'the request failed'}`)
    } finally {
      clearTimeout(timer)
    }
  }

  function remembered(key: string): OutboundResult | undefined {
    const t = now()
    for (const [k, entry] of failures) {
      if (entry.until > t) break
      failures.delete(k)
    }
    const entry = failures.get(key)
    return entry && entry.until > t ? entry.result : undefined
  }

  return {
    get(url, options = {}) {
      const key = options.key ?? (options.range ? `${url} ${options.range.start}-${options.range.end}` : url)
      const known = remembered(key)
      if (known) return Promise.resolve(known)
      const running = inFlight.get(key)
      if (running) return running
      const p = request('GET', url, {
        maxBytes: options.maxBytes ?? settings.maxBytes,
        timeoutMs: options.timeoutMs ?? settings.timeoutMs,
        accept: options.accept,
        range: options.range,
      })
        .then((result) => {
          if (settings.failureTtlMs > 0 && (!result.ok || result.value.status >= 400)) {
            failures.delete(key)
            failures.set(key, { until: now() + settings.failureTtlMs, result })
          }
          return result
        })
        .finally(() => inFlight.delete(key))
      inFlight.set(key, p)
      return p
    },
    post(url, body, options) {
      return request('POST', url, {
        maxBytes: options.maxBytes ?? settings.maxBytes,
        timeoutMs: options.timeoutMs ?? settings.timeoutMs,
        accept: options.accept,
        contentType: options.contentType,
        body,
      })
    },
    isSelf: (fingerprint) => fingerprint === settings.selfFingerprint,
  }
}

/** The pod's one outbound client, as its configuration sets it. */
export function podOutbound(config: Config, fingerprint: string): Outbound {
  return createOutbound({
    allowPrivateAddresses: config.network.allowPrivateAddresses,
    selfUrl: config.url,
    selfFingerprint: fingerprint,
    timeoutMs: config.network.fetchTimeoutMs,
    maxBytes: 1024 * 1024,
    failureTtlMs: 10_000,
  })
}
