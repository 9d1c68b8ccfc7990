/**
 * The pod's configuration: one typed schema, read once at start from a TOML file, then
 * `SEEDPOD_*` environment variables, then command-line flags (each layer overrides the one
 * before), validated, frozen and passed down. Nothing else in the pod reads the environment.
 */
import { readFileSync } from 'node:fs'

/** The pod's settings, as every other module sees them. */
export interface Config {
  readonly name: string
  /** Public URL, without a trailing slash: what friends and browsers reach. */
  readonly url: string
  readonly host: string
  readonly port: number
  readonly dataDir: string
  /** Pods to ask when making friends at first start. */
  readonly friends: readonly string[]
  readonly registrations: 'open' | 'closed'
  readonly blacklistRevoked: boolean
  readonly maxUploadBytes: number
  /** Largest pod-to-pod message body accepted by the inbox. */
  readonly maxMessageBytes: number
  readonly requireLoginToWatch: boolean
  /** Take the client address from `X-Forwarded-For` (only behind a reverse proxy you run). */
  readonly trustProxy: boolean
  /** TCP port where the pod seeds its videos to BitTorrent clients (0: any free port). */
  readonly torrentPort: number
  /** How long a friend's video's details, fetched from its origin, are served from the cache (0: always ask the origin). */
  readonly detailsTtlSeconds: number
  readonly log: { readonly level: LogLevel; readonly format: 'auto' | 'pretty' | 'json' }
  readonly retry: { readonly baseMs: number; readonly factor: number; readonly retries: number }
  /** Mirroring friends' videos: on or off, how much disk, which videos first. */
  readonly redundancy: { readonly enabled: boolean; readonly budgetBytes: number; readonly strategy: 'recent' | 'smallest' }
  /** Renditions made of each upload (heights in pixels, never above the source's). */
  readonly transcoding: { readonly enabled: boolean; readonly concurrency: number; readonly resolutions: readonly number[] }
  /** Most messages sent to a friend in one request. */
  readonly delivery: { readonly batchMessages: number }
  /** WebRTC between viewers: the STUN/TURN servers their browsers use (none by default). */
  readonly webrtc: { readonly iceServers: readonly string[] }
  /** The watch page's player: how far ahead it fetches, and how much it keeps to share. */
  readonly player: { readonly bufferSeconds: number; readonly cacheBytes: number }
  readonly score: { readonly initial: number; readonly step: number; readonly max: number }
  readonly auth: {
    readonly tokenTtlSeconds: number
    readonly loginAttempts: number
    readonly loginWindowSeconds: number
  }
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error'

/** A configuration that cannot be used; `problems` name key, value and what was expected. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'))
    this.name = 'ConfigError'
  }
}

type Field =
  | { kind: 'string'; dflt: string; nonEmpty?: boolean }
  | { kind: 'url'; dflt: string | undefined }
  | { kind: 'urls'; dflt: string[] }
  | { kind: 'ints'; dflt: number[]; min: number; max: number }
  | { kind: 'iceUrls'; dflt: string[] }
  | { kind: 'int' | 'number'; dflt: number; min: number; max: number }
  | { kind: 'bool'; dflt: boolean }
  | { kind: 'enum'; dflt: string; values: readonly string[] }
type Spec = { [key: string]: Field | Spec }

const MAX_INT = Number.MAX_SAFE_INTEGER
const GIB = 1024 ** 3

const SPEC: Spec = {
  name: { kind: 'string', dflt: 'seedpod', nonEmpty: true },
  url: { kind: 'url', dflt: undefined },
  host: { kind: 'string', dflt: '0.0.0.0', nonEmpty: true },
  port: { kind: 'int', dflt: 9000, min: 1, max: 65535 },
  dataDir: { kind: 'string', dflt: './data', nonEmpty: true },
  friends: { kind: 'urls', dflt: [] },
  registrations: { kind: 'enum', dflt: 'closed', values: ['open', 'closed'] },
  blacklistRevoked: { kind: 'bool', dflt: true },
  maxUploadBytes: { kind: 'int', dflt: 4 * GIB, min: 1, max: MAX_INT },
  maxMessageBytes: { kind: 'int', dflt: 4 * 1024 * 1024, min: 1024, max: 1024 * 1024 * 1024 },
  requireLoginToWatch: { kind: 'bool', dflt: false },
  trustProxy: { kind: 'bool', dflt: false },
  torrentPort: { kind: 'int', dflt: 0, min: 0, max: 65535 },
  detailsTtlSeconds: { kind: 'int', dflt: 3600, min: 0, max: 30 * 24 * 3600 },
  log: {
    level: { kind: 'enum', dflt: 'info', values: ['debug', 'info', 'warn', 'error'] },
    format: { kind: 'enum', dflt: 'auto', values: ['auto', 'pretty', 'json'] },
  },
  redundancy: {
    enabled: { kind: 'bool', dflt: false },
    budgetBytes: { kind: 'int', dflt: 10 * GIB, min: 0, max: MAX_INT },
    strategy: { kind: 'enum', dflt: 'recent', values: ['recent', 'smallest'] },
  },
  transcoding: {
    enabled: { kind: 'bool', dflt: true },
    concurrency: { kind: 'int', dflt: 1, min: 1, max: 16 },
    resolutions: { kind: 'ints', dflt: [240, 480, 720], min: 144, max: 4320 },
  },
  delivery: {
    batchMessages: { kind: 'int', dflt: 500, min: 1, max: 10_000 },
  },
  webrtc: {
    iceServers: { kind: 'iceUrls', dflt: [] },
  },
  player: {
    bufferSeconds: { kind: 'int', dflt: 30, min: 4, max: 600 },
    cacheBytes: { kind: 'int', dflt: 64 * 1024 * 1024, min: 8 * 1024 * 1024, max: 4 * GIB },
  },
  retry: {
    baseMs: { kind: 'int', dflt: 2000, min: 1, max: 24 * 3600 * 1000 },
    factor: { kind: 'number', dflt: 3, min: 1, max: 100 },
    retries: { kind: 'int', dflt: 10, min: 0, max: 100 },
  },
  score: {
    initial: { kind: 'int', dflt: 100, min: 1, max: MAX_INT },
    step: { kind: 'int', dflt: 10, min: 1, max: MAX_INT },
    max: { kind: 'int', dflt: 1000, min: 1, max: MAX_INT },
  },
  auth: {
    tokenTtlSeconds: { kind: 'int', dflt: 900, min: 10, max: 30 * 24 * 3600 },
    loginAttempts: { kind: 'int', dflt: 10, min: 1, max: 100000 },
    loginWindowSeconds: { kind: 'int', dflt: 600, min: 1, max: 24 * 3600 },
  },
}

const isField = (x: Field | Spec): x is Field => typeof (x as Field).kind === 'string'

/** One layer of settings: where they came from and their (nested) values. */
export interface Layer {
  source: string
  values: Record<string, unknown>
  /** Environment and flag values are strings to be parsed; TOML values are typed. */
  fromText?: boolean
}

/** Every environment variable name the config reads, by dotted key (`retry.baseMs` -> `SEEDPOD_RETRY_BASE_MS`). */
export function envName(dotted: string): string {
  return 'SEEDPOD_' + dotted.replace(/\./g, '_').replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()
}

function leaves(spec: Spec, prefix = ''): [string, Field][] {
  return Object.entries(spec).flatMap(([k, v]) =>
    isField(v) ? [[prefix + k, v] as [string, Field]] : leaves(v, `${prefix}${k}.`),
  )
}

const LEAVES = leaves(SPEC)
const BY_KEY = new Map(LEAVES)

/** Sections (`log`, `retry`, ...) by dotted name, with the keys each holds. */
const SECTIONS = new Map<string, string[]>()
for (const [key] of LEAVES) {
  const parts = key.split('.')
  for (let i = 1; i < parts.length; i++) {
    const section = parts.slice(0, i).join('.')
    SECTIONS.set(section, [...(SECTIONS.get(section) ?? []), key])
  }
}

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
function suggestion(key: string): string | undefined {
  const env = key.startsWith('SEEDPOD_')
  const plain = (k: string) => k.toLowerCase().replace(/[^a-z0-9.]/g, '')
  let best: [string, number] | undefined
  for (const k of LEAVES.map(([k]) => (env ? envName(k) : k))) {
    const d = distance(plain(key), plain(k))
    if (d <= Math.max(2, Math.floor(k.length / 4)) && (!best || d < best[1])) best = [k, d]
  }
  return best?.[0]
}

/** The `SEEDPOD_*` variables of an environment, as a layer. Unknown `SEEDPOD_*` names are errors. */
function envLayer(env: Record<string, string | undefined>): Layer {
  const byEnv = new Map(LEAVES.map(([k]) => [envName(k), k]))
  const values: Record<string, unknown> = {}
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith('SEEDPOD_') || value === undefined) continue
    values[byEnv.get(name) ?? `<${name}>`] = value
  }
  return { source: 'environment', values, fromText: true }
}

const FILE_ERRORS: Record<string, string> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EISDIR: 'it is a directory',
  ENOTDIR: 'a parent is not a directory',
  ELOOP: 'too many symbolic links',
}

/** Reads a TOML file as a layer; an unreadable or malformed file is a ConfigError. */
export function fileLayer(path: string): Layer {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    const why = code ? `${code}: ${FILE_ERRORS[code] ?? (e as Error).message}` : String(e)
    throw new ConfigError([`config file = ${JSON.stringify(path)} cannot be read (${why}): expected a readable TOML file`])
  }
  try {
    return { source: path, values: Bun.TOML.parse(text) as Record<string, unknown> }
  } catch (e) {
    throw new ConfigError([`config file = ${JSON.stringify(path)} is not valid TOML (${(e as Error).message}): expected a TOML file, see \`seedpod init\``])
  }
}

function describe(value: unknown): string {
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

/** Checks one value against its field; returns the typed value or a problem text. */
function coerce(field: Field, raw: unknown, fromText: boolean): { ok: true; value: unknown } | { ok: false; expected: string } {
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
    case 'enum':
      return typeof raw === 'string' && field.values.includes(raw)
        ? { ok: true, value: raw }
        : { ok: false, expected: `one of ${field.values.map((v) => JSON.stringify(v)).join(', ')}` }
  }
}

function flatten(values: Record<string, unknown>, prefix = '', out: [string, unknown][] = []): [string, unknown][] {
  for (const [k, v] of Object.entries(values)) {
    const key = prefix + k
    // A table in TOML is a section only where the schema has one; elsewhere it is a wrong type.
    const table = v !== null && typeof v === 'object' && !Array.isArray(v)
    if (table && !BY_KEY.has(key)) flatten(v as Record<string, unknown>, `${key}.`, out)
    else out.push([key, v])
  }
  return out
}

/**
 * Merges layers (later ones win) over the defaults and validates every value.
 * Throws a ConfigError listing every problem; returns a deeply frozen Config.
 */
export function resolveConfig(layers: Layer[]): Config {
  const flat = new Map<string, unknown>(LEAVES.map(([k, f]) => [k, f.dflt]))
  const problems: string[] = []
  for (const layer of layers) {
    for (const [key, raw] of flatten(layer.values)) {
      const field = BY_KEY.get(key)
      const section = SECTIONS.get(key)
      if (section) {
        problems.push(`${layer.source}: ${key} = ${describe(raw)} is not valid: expected a table [${key}] of ${section.join(', ')}`)
        continue
      }
      if (!field) {
        const name = key.replace(/^<(.*)>$/, '$1')
        const near = suggestion(name)
        problems.push(
          `${layer.source}: unknown key ${name} = ${describe(raw)}: expected one of the known keys` +
            (near ? ` (did you mean ${near}?)` : ` (${LEAVES.map(([k]) => k).join(', ')})`),
        )
        continue
      }
      const r = coerce(field, raw, layer.fromText ?? false)
      if (r.ok) flat.set(key, r.value)
      else problems.push(`${layer.source}: ${key} = ${describe(raw)} is not valid: expected ${r.expected}`)
    }
  }
  const score = { initial: flat.get('score.initial') as number, max: flat.get('score.max') as number }
  if (problems.length === 0 && score.initial > score.max)
    problems.push(`score.initial = ${score.initial} is not valid: expected at most score.max (${score.max})`)
  if (problems.length) throw new ConfigError(problems)
  if (flat.get('url') === undefined) flat.set('url', `http://localhost:${flat.get('port')}`)

  const tree: Record<string, unknown> = {}
  for (const [key, value] of flat) {
    const parts = key.split('.')
    let node = tree
    for (const p of parts.slice(0, -1)) node = (node[p] ??= {}) as Record<string, unknown>
    node[parts.at(-1)!] = value
  }
  return deepFreeze(tree) as unknown as Config
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v)
    Object.freeze(o)
  }
  return o
}

/**
 * The configuration of a running pod: the file (if any), then `SEEDPOD_*` variables,
 * then flag values (dotted keys, e.g. `{ port: '9001' }`).
 */
export function loadConfig(opts: { file?: string; env: Record<string, string | undefined>; flags?: Record<string, string> }): Config {
  const layers: Layer[] = []
  if (opts.file) layers.push(fileLayer(opts.file))
  layers.push(envLayer(opts.env))
  if (opts.flags && Object.keys(opts.flags).length) {
    const values: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(opts.flags)) values[k] = v
    layers.push({ source: 'command line', values, fromText: true })
  }
  return resolveConfig(layers)
}

/** The dotted keys of the schema with their defaults, for `seedpod init` and the docs. */
export function configKeys(): { key: string; dflt: unknown; env: string }[] {
  return LEAVES.map(([key, f]) => ({ key, dflt: f.dflt, env: envName(key) }))
}
