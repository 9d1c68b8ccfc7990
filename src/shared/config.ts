/**
 * The pod's configuration: one typed schema, read once at start from a TOML file, then
 * `SEEDPOD_*` environment variables, then command-line flags (each layer overrides the one
 * before), validated, frozen and passed down. Nothing else in the pod reads the environment.
 */
import { readFileSync } from 'node:fs'
import { coerce, describe, suggestion, type Field } from './config-check'
import { SPEC, type Spec } from './config-spec'

/** The pod's settings, as every other module sees them. */
export interface Config {
  readonly name: string
  /** Public URL, without a trailing slash: what friends and browsers reach. */
  readonly url: string
  readonly host: string
  readonly port: number
  readonly dataDir: string
  /** Making friends: pods to ask at first start, who may befriend this pod, and the limits on friends. */
  readonly friends: {
    readonly pods: readonly string[]
    /** `open`: any pod that proves its URL becomes a friend; `approval`: an admin accepts each; `closed`: none. */
    readonly admission: 'open' | 'approval' | 'closed'
    /** Friend requests taken per source address per hour. */
    readonly requestsPerHour: number
    readonly maxFriends: number
    /** Videos of one friend kept in the index. */
    readonly maxVideosPerFriend: number
    /** Payloads the inbox takes per minute from one friend, and from one address. */
    readonly messagesPerMinute: number
    readonly messagesPerMinutePerAddress: number
  }
  /** What the pod fetches from other pods. */
  readonly network: {
    /** Let the pod fetch from loopback, private, link-local and unique-local addresses (a LAN of pods; tests). */
    readonly allowPrivateAddresses: boolean
    readonly fetchTimeoutMs: number
  }
  /** `open`: anyone may register; `approval`: anyone may, and an admin accepts each account; `closed`: only `seedpod user add`. */
  readonly registrations: 'open' | 'approval' | 'closed'
  readonly blacklistRevoked: boolean
  readonly maxUploadBytes: number
  /** Largest pod-to-pod message body accepted by the inbox (from a friend). */
  readonly maxMessageBytes: number
  /**
   * How the inbox reads bodies: the most a pod that is not a friend may send (a friend request),
   * the time a body has to arrive, and the bytes of bodies held at once per address and in all.
   */
  readonly inbox: {
    readonly strangerMessageBytes: number
    readonly bodyTimeoutMs: number
    readonly bytesInFlightPerAddress: number
    readonly bytesInFlight: number
  }
  readonly requireLoginToWatch: boolean
  /** Take the client address from `X-Forwarded-For` (only behind a reverse proxy you run). */
  readonly trustProxy: boolean
  /** TCP port where the pod seeds its videos to BitTorrent clients (0: any free port). */
  readonly torrentPort: number
  /**
   * The tracker's fairness: the most peers of one address (an IPv6 address: its /64) in one
   * swarm, and the announces (and scrapes) it takes from one address per minute.
   */
  readonly tracker: { readonly peersPerAddress: number; readonly announcesPerMinute: number }
  /** How long a friend's video's details, fetched from its origin, are served from the cache (0: always ask the origin). */
  readonly detailsTtlSeconds: number
  readonly log: { readonly level: LogLevel; readonly format: 'auto' | 'pretty' | 'json' }
  readonly retry: { readonly baseMs: number; readonly factor: number; readonly retries: number }
  /**
   * Mirroring friends' videos: on or off, how much disk, which videos first; and how the mirrors
   * other pods announce are checked before viewers are given them (pieces per check, how often
   * a proven one is checked again, bytes fetched from one pod per hour at most).
   */
  readonly redundancy: {
    readonly enabled: boolean
    readonly budgetBytes: number
    readonly strategy: 'recent' | 'smallest'
    readonly checkPieces: number
    readonly recheckSeconds: number
    readonly checkBytesPerHour: number
  }
  /**
   * Renditions made of each upload (heights in pixels, never above the source's): by this pod
   * (`local`) and by remote runners (src/runners/). With runners in contact, a job first waits
   * `runnerWaitMs` for one of them; a runner's lease on a job lasts `leaseMs` past its last report.
   */
  readonly transcoding: {
    readonly enabled: boolean
    readonly concurrency: number
    readonly resolutions: readonly number[]
    readonly local: boolean
    readonly runnerWaitMs: number
    readonly leaseMs: number
  }
  /**
   * What an upload may be before any work is done on it (pixels per frame, frame rate,
   * streams, duration, bytes per second of duration), and what each ffprobe/ffmpeg run may
   * cost: memory (RLIMIT_DATA) and CPU seconds (a fixed `toolCpuSeconds`, plus
   * `cpuSecondsPerVideoSecond` for each second of video a run goes through).
   */
  readonly media: {
    readonly maxPixels: number
    readonly maxFrameRate: number
    readonly maxStreams: number
    readonly maxDurationSeconds: number
    readonly minBytesPerSecond: number
    readonly toolMemoryBytes: number
    readonly toolCpuSeconds: number
    readonly cpuSecondsPerVideoSecond: number
  }
  /** Uploads checked and prepared at once, in flight per user, and waiting beyond those (src/videos/ingest-queue.ts). */
  readonly uploads: { readonly concurrency: number; readonly perUser: number; readonly queueLength: number }
  /** Free space kept on the data folder's disk: uploads, transcodings and copies stop short of it. */
  readonly disk: { readonly minFreeBytes: number }
  /** Most messages sent to a friend in one request. */
  readonly delivery: { readonly batchMessages: number }
  /** WebRTC between viewers: the STUN/TURN servers their browsers use (none by default). */
  readonly webrtc: { readonly iceServers: readonly string[] }
  /** The watch page's player: how far ahead it fetches, and how much it keeps to share. */
  readonly player: { readonly bufferSeconds: number; readonly cacheBytes: number }
  readonly score: { readonly initial: number; readonly step: number; readonly max: number }
  /** Where the pod keeps its files: the data folder, or a bucket of an S3-compatible service (src/storage/). */
  readonly storage: StorageConfig
  /**
   * `GET /metrics` (Prometheus's text format): on the pod's own port behind `token` (sent as
   * `Authorization: Bearer`), or on an address of its own, `listen` (`127.0.0.1:9100`; with
   * `token` set, behind it there too). Off while neither is set. `token` is not enumerable.
   */
  readonly metrics: { readonly token: string; readonly listen: string }
  readonly auth: {
    readonly tokenTtlSeconds: number
    readonly loginAttempts: number
    readonly loginWindowSeconds: number
    /** Accounts registered from one address (an IPv6 address: its /64) per window. */
    readonly registrationsPerAddress: number
    readonly registrationWindowSeconds: number
  }
}

/**
 * Object storage. `accessKeyId` and `secretAccessKey` are not enumerable: no log line, API
 * answer or JSON of the config can show them; read them by name.
 */
export interface StorageConfig {
  readonly kind: 'local' | 's3'
  /** The S3 endpoint (`https://s3.eu-central-1.amazonaws.com`, `http://127.0.0.1:7480`); none: AWS's for the region. */
  readonly endpoint: string | undefined
  readonly region: string
  readonly bucket: string
  /** Put before every key of this pod (`pods/a/`), empty or ending in `/`. */
  readonly prefix: string
  readonly accessKeyId: string
  readonly secretAccessKey: string
  /** Where viewers fetch objects (public-read): the bucket's URL or a CDN's; none: presigned URLs. */
  readonly publicBaseUrl: string | undefined
  /** Lifetime of a presigned URL (a viewing must fit in it; at most 7 days, S3's limit). */
  readonly presignSeconds: number
  /** Files above this size are uploaded in parts of this size (multipart upload). */
  readonly partSizeBytes: number
  /** A request to the bucket unanswered this long (an upload: per part) fails: the store counts as unavailable. */
  readonly requestTimeoutMs: number
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error'

/** A configuration that cannot be used; `problems` name key, value and what was expected. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'))
    this.name = 'ConfigError'
  }
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
/** Every key and variable name, for suggestions. */
const KNOWN_NAMES = LEAVES.flatMap(([k]) => [k, envName(k)])

/** Sections (`log`, `retry`, ...) by dotted name, with the keys each holds. */
const SECTIONS = new Map<string, string[]>()
for (const [key] of LEAVES) {
  const parts = key.split('.')
  for (let i = 1; i < parts.length; i++) {
    const section = parts.slice(0, i).join('.')
    SECTIONS.set(section, [...(SECTIONS.get(section) ?? []), key])
  }
}

/** The `SEEDPOD_*` variables of an environment, as a layer. Unknown `SEEDPOD_*` names are errors. */
function envLayer(env: Record<string, string | undefined>): Layer {
  const byEnv = new Map([...LEAVES.map(([k]): [string, string] => [envName(k), k]), ...Object.entries(RENAMED).map(([old, k]): [string, string] => [envName(old), k])])
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

/** Keys of earlier releases, still read: `friends = [...]` (now `friends.pods`). */
const RENAMED: Record<string, string> = { friends: 'friends.pods' }

function flatten(values: Record<string, unknown>, prefix = '', out: [string, unknown][] = []): [string, unknown][] {
  for (const [k, v] of Object.entries(values)) {
    const key = RENAMED[prefix + k] && (Array.isArray(v) || typeof v === 'string') ? RENAMED[prefix + k]! : prefix + k
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
        const near = suggestion(name, KNOWN_NAMES)
        problems.push(
          `${layer.source}: unknown key ${name} = ${describe(raw)}: expected one of the known keys` +
            (near ? ` (did you mean ${near}?)` : ` (${LEAVES.map(([k]) => k).join(', ')})`),
        )
        continue
      }
      const r = coerce(field, raw, layer.fromText ?? false)
      if (r.ok) flat.set(key, r.value)
      else problems.push(`${layer.source}: ${key} = ${SECRET_KEYS.includes(key) ? '(hidden)' : describe(raw)} is not valid: expected ${r.expected}`)
    }
  }
  const score = { initial: flat.get('score.initial') as number, max: flat.get('score.max') as number }
  if (problems.length === 0 && score.initial > score.max)
    problems.push(`score.initial = ${score.initial} is not valid: expected at most score.max (${score.max})`)
  if (problems.length === 0) problems.push(...storageProblems(flat))
  const token = flat.get('metrics.token') as string
  // Anyone who can reach the port may try tokens: a short one would be guessed.
  if (problems.length === 0 && token !== '' && token.length < METRICS_TOKEN_MIN)
    problems.push(`metrics.token = (hidden) is not valid: expected at least ${METRICS_TOKEN_MIN} characters (e.g. \`openssl rand -hex 32\`), or "" for none`)
  if (problems.length) throw new ConfigError(problems)
  if (flat.get('url') === undefined) flat.set('url', `http://localhost:${flat.get('port')}`)

  const tree: Record<string, unknown> = {}
  for (const [key, value] of flat) {
    const parts = key.split('.')
    let node = tree
    for (const p of parts.slice(0, -1)) node = (node[p] ??= {}) as Record<string, unknown>
    node[parts.at(-1)!] = value
  }
  hideSecrets(tree.storage as Record<string, unknown>, ['accessKeyId', 'secretAccessKey'])
  hideSecrets(tree.metrics as Record<string, unknown>, ['token'])
  return deepFreeze(tree) as unknown as Config
}

/** What an S3 storage needs besides its defaults; the prefix gets its trailing `/`. */
function storageProblems(flat: Map<string, unknown>): string[] {
  const prefix = flat.get('storage.prefix') as string
  // No "." or ".." segment: URLs of the objects would lose them on the way (clients normalize paths).
  if (prefix !== '' && (!/^([A-Za-z0-9._-]+\/?)+$/.test(prefix) || prefix.split('/').some((seg) => seg === '.' || seg === '..')))
    return [`storage.prefix = ${describe(prefix)} is not valid: expected path segments of letters, digits, . _ - separated by /`]
  if (prefix !== '' && !prefix.endsWith('/')) flat.set('storage.prefix', `${prefix}/`)
  if (flat.get('storage.kind') !== 's3') return []
  return (['bucket', 'accessKeyId', 'secretAccessKey'] as const)
    .filter((k) => (flat.get(`storage.${k}`) as string).trim() === '')
    .map((k) => `storage.${k} is not set: expected a value with storage.kind = "s3" (or ${envName(`storage.${k}`)}${k === 'bucket' ? '' : k === 'accessKeyId' ? ' / AWS_ACCESS_KEY_ID' : ' / AWS_SECRET_ACCESS_KEY'})`)
}

const SECRET_KEYS = ['storage.accessKeyId', 'storage.secretAccessKey', 'metrics.token']

/** The shortest metrics token taken. */
const METRICS_TOKEN_MIN = 16

/** The credentials and tokens stay readable by name but are left out of every JSON, log line and spread. */
function hideSecrets(section: Record<string, unknown>, keys: string[]): void {
  for (const k of keys) Object.defineProperty(section, k, { value: section[k], enumerable: false })
}

/** The AWS SDKs' own variables, read for the storage (SEEDPOD_STORAGE_* win over them). */
const AWS_ENV: Record<string, string> = {
  AWS_ACCESS_KEY_ID: 'storage.accessKeyId',
  AWS_SECRET_ACCESS_KEY: 'storage.secretAccessKey',
  AWS_REGION: 'storage.region',
  AWS_ENDPOINT_URL: 'storage.endpoint',
}

function awsLayer(env: Record<string, string | undefined>): Layer {
  const values: Record<string, unknown> = {}
  for (const [name, key] of Object.entries(AWS_ENV)) if (env[name] !== undefined && env[name] !== '') values[key] = env[name]
  return { source: 'environment (AWS_*)', values, fromText: true }
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
  // The AWS_* variables are the machine's defaults: the file and SEEDPOD_* win over them.
  const layers: Layer[] = [awsLayer(opts.env)]
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
