/**
 * Generators of the fuzz tests (test/fuzz-*.test.ts): a seeded random source, hostile
 * strings, JSON values and mutations of real ones. (The raw HTTP client is raw-http.ts; the
 * pods, the inputs and the checks of every answer are fuzz-fixture.ts and fuzz-inputs.ts.)
 *
 * Everything random comes from one `Rng`, so a seed reproduces the inputs (the crypto inside
 * sealed messages is random by nature, but what is mutated, where and how is not).
 */

/**
 * The seed of a run: `FUZZ_SEED` if given, else a fixed one, so that the suite (and CI) runs
 * the same inputs every time; `FUZZ_SEED=random` draws a fresh one to explore (printed).
 */
export function fuzzSeed(): number {
  const given = process.env.FUZZ_SEED
  if (given === 'random') return Math.floor(Math.random() * 0x100000000)
  if (given !== undefined && given !== '') {
    const n = Number(given)
    if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new Error(`FUZZ_SEED must be an integer from 0 to 4294967295, not ${given}`)
    return n
  }
  return 20261201
}

/** A seeded PRNG (mulberry32) with the helpers the generators use. */
export class Rng {
  private a: number

  constructor(seed: number) {
    this.a = seed >>> 0
  }

  /** A float in [0, 1). */
  float(): number {
    this.a = (this.a + 0x6d2b79f5) >>> 0
    let t = this.a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.float() * n)
  }

  /** An integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1)
  }

  chance(p: number): boolean {
    return this.float() < p
  }

  pick<T>(xs: readonly T[]): T {
    if (xs.length === 0) throw new Error('pick from an empty list')
    return xs[this.int(xs.length)]!
  }

  /** A length skewed towards small ones, up to `max`: most inputs are short, a few are long. */
  length(max: number): number {
    const r = this.float()
    if (r < 0.5) return this.int(Math.min(max, 16) + 1)
    if (r < 0.85) return this.int(Math.min(max, 256) + 1)
    return this.int(max + 1)
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n)
    for (let i = 0; i < n; i += 4) {
      const v = (this.float() * 4294967296) >>> 0
      out[i] = v & 0xff
      if (i + 1 < n) out[i + 1] = (v >>> 8) & 0xff
      if (i + 2 < n) out[i + 2] = (v >>> 16) & 0xff
      if (i + 3 < n) out[i + 3] = v >>> 24
    }
    return out
  }

  /** A UUID-shaped string from this source (for jti values that reproduce). */
  uuid(): string {
    const h = [...this.bytes(16)].map((b) => b.toString(16).padStart(2, '0')).join('')
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`
  }
}

/** Strings that have broken servers before: traversal, encodings, injections, numbers in disguise. */
export const NASTY_STRINGS: readonly string[] = [
  '', ' ', '\t', '\n', '\r\n', '\0', '\u0000abc', '..', '../', '../../etc/passwd', '..\\..\\windows', '%', '%%', '%00', '%2e%2e%2f', '%ff', '%E0%A4%A',
  '/', '//', '?', '#', '&', '=', ';', ',', "'", '"', '\\', '`', '${7*7}', '{{7*7}}', '<script>alert(1)</script>', "' OR 1=1 --", '"; DROP TABLE videos; --',
  '*', '"*', 'NEAR(a b)', 'a OR b', '-a', '^a', 'AND', 'null', 'undefined', 'true', 'false', 'NaN', 'Infinity', '-0', '0', '1e400', '-1', '0x10',
  '9007199254740993', '__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', '\u202eevil', '\ufeff', '\ud800', '\udfff', '\ud83d\ude00',
  'é', 'e\u0301', 'İ', 'ß', 'ﬀ', '\u0130\u0307', '日本語', 'مرحبا', '𝕏', '\u200b', '\u2028', '\u{10ffff}', 'a'.repeat(65), 'x'.repeat(300),
  'magnet:?xt=urn:btih:' + '0'.repeat(40), 'javascript:alert(1)', 'file:///etc/passwd', 'http://127.0.0.1:1', 'data:text/html,hi',
]

const ALPHABETS: readonly string[] = [
  'abcdefghijklmnopqrstuvwxyz',
  'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_',
  ' !"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~',
  '0123456789abcdef',
  '\u0000\u0001\u0007\u0008\t\n\u000b\u000c\r\u001b\u007f',
]

/** A random string: from an alphabet, random code points, or a nasty string, of up to `max` characters. */
export function randomString(r: Rng, max = 64): string {
  const kind = r.int(6)
  if (kind === 0) return r.pick(NASTY_STRINGS)
  const n = r.length(max)
  if (kind === 1) {
    // Any code point, lone surrogates included.
    let s = ''
    for (let i = 0; i < n; i++) {
      const plane = r.int(4)
      const cp = plane === 0 ? r.int(0x80) : plane === 1 ? r.int(0x800) : plane === 2 ? r.int(0x10000) : r.int(0x110000)
      s += String.fromCodePoint(cp)
    }
    return s
  }
  const alphabet = r.pick(ALPHABETS)
  let s = ''
  for (let i = 0; i < n; i++) s += alphabet[r.int(alphabet.length)]
  return s
}

/** A string that survives as an HTTP header value (Latin-1, no CR/LF/NUL). */
export function headerString(r: Rng, max = 64): string {
  const s = randomString(r, max)
  let out = ''
  for (const ch of s) {
    const c = ch.codePointAt(0)!
    out += c >= 0x20 && c <= 0xff && c !== 0x7f ? ch : String.fromCharCode(0x21 + (c % 94))
  }
  return out.trim()
}

/** A path segment: random text percent-encoded as a client would, or raw encodings that do not decode. */
export function pathSegment(r: Rng, max = 80): string {
  const k = r.int(5)
  if (k === 0) return r.pick(['%', '%zz', '%E0%A4%A', '%ff%fe', '%2e%2e%2f%2e%2e%2f', '%00', '%2F', '..%2F..%2F', '%C0%AF', '%25', '.', '..'])
  if (k === 1) return 'x'.repeat(r.pick([64, 65, 500, 2000, 7000]))
  const s = randomString(r, max)
  return s === '' ? '%20' : safeEncode(s)
}

/** encodeURIComponent that does not throw on lone surrogates (they become U+FFFD, as a browser would send). */
export function safeEncode(s: string): string {
  return encodeURIComponent(s.replace(/[\ud800-\udfff]/g, (c, i: number, all: string) => (isPaired(all, i) ? c : '\ufffd')))
}

function isPaired(s: string, i: number): boolean {
  const c = s.charCodeAt(i)
  if (c >= 0xd800 && c <= 0xdbff) return i + 1 < s.length && s.charCodeAt(i + 1) >= 0xdc00 && s.charCodeAt(i + 1) <= 0xdfff
  return i > 0 && s.charCodeAt(i - 1) >= 0xd800 && s.charCodeAt(i - 1) <= 0xdbff
}

/** Object keys the generators use: names the pod reads, and keys with a meaning in JavaScript. */
const KEYS: readonly string[] = [
  'id', 'name', 'description', 'uploader', 'url', 'podUrl', 'podFingerprint', 'magnetUri', 'torrentUrl', 'webseedUrls', 'duration', 'size', 'createdAt', 'files',
  'username', 'password', 'pods', 'tags', 'license', 'language', 'views', 'count', 'infoHash', 'publicKey', 'kty', 'n', 'e', 'type', 'data', 'v', 'from', 'to',
  'iat', 'jti', 'messages', 'fingerprint', '__proto__', 'constructor', 'prototype', '', ' ', '\u0000', 'a'.repeat(200),
]

/** A random JSON value, at most `depth` levels deep. */
export function randomJson(r: Rng, depth = 3): unknown {
  const k = r.int(depth > 0 ? 10 : 7)
  switch (k) {
    case 0:
      return null
    case 1:
      return r.chance(0.5)
    case 2:
      return r.pick([0, -0, 1, -1, 0.5, 1e308, -1e308, 5e-324, 2 ** 53 + 1, 2 ** 31, -(2 ** 31) - 1, 65536, 1_000_001, 10_001, 101, 100_000])
    case 3:
      return Math.floor((r.float() - 0.5) * 2 ** r.int(60))
    case 4:
    case 5:
      return randomString(r)
    case 6:
      return r.pick(NASTY_STRINGS)
    case 7:
    case 8: {
      const o: Record<string, unknown> = {}
      const n = r.length(8)
      for (let i = 0; i < n; i++) Object.defineProperty(o, r.chance(0.6) ? r.pick(KEYS) : randomString(r, 20), { value: randomJson(r, depth - 1), enumerable: true, writable: true, configurable: true })
      return o
    }
    default:
      return Array.from({ length: r.length(8) }, () => randomJson(r, depth - 1))
  }
}

/** JSON text nested `depth` levels (arrays or objects), for parsers that recurse. */
export function deepNesting(r: Rng, depth: number): string {
  if (r.chance(0.5)) return '['.repeat(depth) + ']'.repeat(depth)
  return '{"a":'.repeat(depth) + '1' + '}'.repeat(depth)
}

/** A deeply nested value (built iteratively; JSON.stringify of it must stay below the stack limit). */
export function deepValue(depth: number): unknown {
  let v: unknown = 'bottom'
  for (let i = 0; i < depth; i++) v = i % 2 ? [v] : { d: v }
  return v
}

/** A string mutated at the character level: cut, grown, characters swapped or inserted. */
export function mutateString(r: Rng, s: string): string {
  switch (r.int(8)) {
    case 0:
      return s.slice(0, r.int(s.length + 1))
    case 1:
      return s + randomString(r, 16)
    case 2: {
      const i = r.int(s.length + 1)
      return s.slice(0, i) + randomString(r, 4) + s.slice(i)
    }
    case 3:
      return s.length ? s.slice(0, r.int(s.length)) + String.fromCodePoint(r.int(0x3000)) + s.slice(r.int(s.length) + 1) : s
    case 4:
      return s.toUpperCase()
    case 5:
      return s.repeat(r.range(2, 50))
    case 6:
      return r.pick(NASTY_STRINGS)
    default:
      return ` ${s} `
  }
}

/** Options of {@link mutateJson}. */
export interface MutateOptions {
  /** Do not change strings character by character (for URLs that must stay ones the test chose). */
  keepStrings?: boolean
}

/**
 * A mutation of a JSON value: a field removed, retyped, replaced, grown or added, recursively;
 * sometimes the whole value replaced. The input is not changed.
 */
export function mutateJson(r: Rng, value: unknown, opts: MutateOptions = {}, depth = 0): unknown {
  if (depth > 4 || r.chance(0.08)) return randomJson(r, 2)
  if (Array.isArray(value)) {
    const a = [...value]
    switch (r.int(6)) {
      case 0:
        return []
      case 1:
        a.push(randomJson(r, 2))
        return a
      case 2:
        if (a.length) a.splice(r.int(a.length), 1)
        return a
      case 3:
        return Array.from({ length: r.pick([101, 1000, 10_001]) }, (_, i) => a[i % Math.max(1, a.length)] ?? i)
      default:
        if (a.length) {
          const i = r.int(a.length)
          a[i] = mutateJson(r, a[i], opts, depth + 1)
        }
        return a
    }
  }
  if (value !== null && typeof value === 'object') {
    const o: Record<string, unknown> = { ...(value as Record<string, unknown>) }
    const keys = Object.keys(o)
    const times = r.range(1, 3)
    for (let t = 0; t < times; t++) {
      const key = keys.length ? r.pick(keys) : 'x'
      switch (r.int(7)) {
        case 0:
          delete o[key]
          break
        case 1:
          o[key] = randomJson(r, 2)
          break
        case 2:
          Object.defineProperty(o, r.chance(0.5) ? r.pick(KEYS) : randomString(r, 12), { value: randomJson(r, 2), enumerable: true, writable: true, configurable: true })
          break
        case 3:
          o[key] = r.pick([null, 0, '', [], {}, true, -1, 'x'.repeat(r.pick([100, 10_000, 70_000]))])
          break
        default:
          o[key] = mutateJson(r, o[key], opts, depth + 1)
      }
    }
    return o
  }
  if (typeof value === 'string') return opts.keepStrings ? (r.chance(0.5) ? value : randomJson(r, 1)) : r.chance(0.7) ? mutateString(r, value) : randomJson(r, 1)
  if (typeof value === 'number') return r.pick([value + 1, value - 1, -value, value * 1e6, value + 0.5, String(value), null, 1e308, -1, Number.MAX_SAFE_INTEGER + 2])
  return randomJson(r, 1)
}

/** JSON text mutated as text: cut short, a byte flipped, a BOM, comments, duplicate keys, trailing commas. */
export function mutateText(r: Rng, text: string): string {
  switch (r.int(9)) {
    case 0:
      return text.slice(0, r.int(text.length + 1))
    case 1: {
      const i = r.int(text.length + 1)
      return text.slice(0, i) + String.fromCharCode(r.int(256)) + text.slice(i + 1)
    }
    case 2:
      return '\ufeff' + text
    case 3:
      return `/* c */ ${text}`
    case 4:
      return text.replace(/^\{/, '{"name":"a","name":1,')
    case 5:
      return text.replace(/\}$/, ',}')
    case 6:
      return text.replace(/:\s*("[^"]*"|[-\d.eE+]+|true|false|null)/, ': NaN')
    case 7:
      return `${text}${text}`
    default:
      return text + '\0'
  }
}
