/**
 * Checking configuration values: each against its field's kind, and "did you mean" for
 * unknown keys. The schema itself is in config-spec.ts.
 */

/** The kind of one configuration value, with its default and bounds. */
export type Field =
  | { kind: 'string'; dflt: string; nonEmpty?: boolean }
  | { kind: 'url'; dflt: string | undefined }
  | { kind: 'urls'; dflt: string[] }
  | { kind: 'ints'; dflt: number[]; min: number; max: number }
  | { kind: 'iceUrls'; dflt: string[] }
  | { kind: 'int' | 'number'; dflt: number; min: number; max: number }
  | { kind: 'bool'; dflt: boolean }
  | { kind: 'enum'; dflt: string; values: readonly string[] }
  /** `host:port` to listen on (`127.0.0.1:9100`, `[::1]:9100`), or empty for none. */
  | { kind: 'address'; dflt: '' }

/** Edit distance, for "did you mean" on unknown keys. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const row = [i]
    for (let j = 1; j <= b.length; j++)
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
    prev = row
  }
  return prev[b.length]!
}

/** The known key (or variable name) closest to an unknown one, if any is close. */
export function suggestion(key: string, known: readonly string[]): string | undefined {
  const env = key.startsWith('SEEDPOD_')
  const plain = (k: string) => k.toLowerCase().replace(/[^a-z0-9.]/g, '')
  let best: [string, number] | undefined
  for (const k of known.filter((k) => k.startsWith('SEEDPOD_') === env)) {
    const d = distance(plain(key), plain(k))
    if (d <= Math.max(2, Math.floor(k.length / 4)) && (!best || d < best[1])) best = [k, d]
  }
  return best?.[0]
}

export function describe(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : JSON.stringify(value) ?? String(value)
}

function checkUrl(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined
  let u: URL
  try {
    u = new URL(value)
  } catch {
    return undefined
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return undefined
  if (u.search || u.hash || u.username || u.password) return undefined
  return u.href.replace(/\/+$/, '')
}

/**
 * A STUN or TURN server URI as browsers take it in `RTCIceServer.urls` (RFC 7064, RFC 7065):
 * `stun:host[:port]`, `turn:host[:port][?transport=udp|tcp]` or `turns:...`; the host a name,
 * an IPv4 address or a bracketed IPv6 one. Returns it as given, or undefined.
 */
function checkIceUrl(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined
  const m = /^(stun|turns?):(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?)(?::(\d{1,5}))?(\?transport=(?:udp|tcp))?$/.exec(value)
  if (!m) return undefined
  if (m[1] === 'stun' && m[4]) return undefined
  if (m[3] !== undefined && (Number(m[3]) < 1 || Number(m[3]) > 65535)) return undefined
  return value
}

/** A listening address `host:port` split, the brackets of an IPv6 address taken off; undefined if it is not one. */
export function splitAddress(value: string): { hostname: string; port: number } | undefined {
  const m = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?):(\d{1,5})$/.exec(value)
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) return undefined
  return { hostname: m[1]!.replace(/^\[(.*)\]$/, '$1'), port: Number(m[2]) }
}

/** Checks one value against its field; returns the typed value or a problem text. */
export function coerce(field: Field, raw: unknown, fromText: boolean): { ok: true; value: unknown } | { ok: false; expected: string } {
  switch (field.kind) {
    case 'string':
      if (typeof raw !== 'string' || (field.nonEmpty && raw.trim() === '')) return { ok: false, expected: 'a non-empty string' }
      return { ok: true, value: raw }
    case 'url': {
      const u = checkUrl(raw)
      return u ? { ok: true, value: u } : { ok: false, expected: 'an absolute http:// or https:// URL without query or fragment' }
    }
    case 'urls': {
      const list = fromText && typeof raw === 'string' ? raw.split(',').map((s) => s.trim()).filter(Boolean) : raw
      if (!Array.isArray(list)) return { ok: false, expected: 'a list of http(s) URLs' }
      const urls = list.map(checkUrl)
      if (urls.some((u) => !u)) return { ok: false, expected: 'a list of absolute http(s) URLs' }
      return { ok: true, value: Object.freeze([...new Set(urls as string[])]) }
    }
    case 'iceUrls': {
      const list = fromText && typeof raw === 'string' ? raw.split(',').map((s) => s.trim()).filter(Boolean) : raw
      const expected = 'a list of STUN/TURN server URLs (stun:host[:port], turn:host[:port][?transport=udp|tcp], turns:...)'
      if (!Array.isArray(list) || list.some((u) => !checkIceUrl(u))) return { ok: false, expected }
      return { ok: true, value: Object.freeze([...new Set(list as string[])]) }
    }
    case 'ints': {
      const list = fromText && typeof raw === 'string' ? raw.split(',').map((s) => Number(s.trim())) : raw
      const expected = `a list of integers from ${field.min} to ${field.max}`
      if (!Array.isArray(list) || list.some((n) => typeof n !== 'number' || !Number.isInteger(n) || n < field.min || n > field.max)) return { ok: false, expected }
      return { ok: true, value: Object.freeze([...new Set(list as number[])].sort((a, b) => a - b)) }
    }
    case 'int':
    case 'number': {
      const n = fromText && typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw
      const what = field.kind === 'int' ? 'an integer' : 'a number'
      const range = `${what} from ${field.min} to ${field.max}`
      if (typeof n !== 'number' || !Number.isFinite(n) || (field.kind === 'int' && !Number.isInteger(n))) return { ok: false, expected: range }
      if (n < field.min || n > field.max) return { ok: false, expected: range }
      return { ok: true, value: n }
    }
    case 'bool': {
      const b = fromText && typeof raw === 'string' ? ({ true: true, false: false, '1': true, '0': false } as Record<string, boolean>)[raw.toLowerCase()] : raw
      return typeof b === 'boolean' ? { ok: true, value: b } : { ok: false, expected: 'true or false' }
    }
    case 'address':
      return typeof raw === 'string' && (raw === '' || splitAddress(raw))
        ? { ok: true, value: raw }
        : { ok: false, expected: 'host:port to listen on (127.0.0.1:9100, [::1]:9100), or "" for none' }
    case 'enum':
      return typeof raw === 'string' && field.values.includes(raw)
        ? { ok: true, value: raw }
        : { ok: false, expected: `one of ${field.values.map((v) => JSON.stringify(v)).join(', ')}` }
  }
}

