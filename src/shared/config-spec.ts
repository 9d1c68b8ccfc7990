/**
 * The configuration's schema: every key with its kind, default and bounds. What each key
 * means is said on the Config interface (config.ts), which reads, merges and checks them.
 */
import type { Field } from './config-check'

/** A section of the schema: its keys, each a field or a section. */
export type Spec = { [key: string]: Field | Spec }

const MAX_INT = Number.MAX_SAFE_INTEGER
const GIB = 1024 ** 3

/** Every key of the configuration: its kind, default and bounds (the Config interface in config.ts says what each means). */
export const SPEC: Spec = {
  name: { kind: 'string', dflt: 'seedpod', nonEmpty: true },
  url: { kind: 'url', dflt: undefined },
  host: { kind: 'string', dflt: '0.0.0.0', nonEmpty: true },
  port: { kind: 'int', dflt: 9000, min: 1, max: 65535 },
  dataDir: { kind: 'string', dflt: './data', nonEmpty: true },
  friends: {
    pods: { kind: 'urls', dflt: [] },
    admission: { kind: 'enum', dflt: 'open', values: ['open', 'approval', 'closed'] },
    requestsPerHour: { kind: 'int', dflt: 20, min: 1, max: 1_000_000 },
    maxFriends: { kind: 'int', dflt: 200, min: 1, max: 1_000_000 },
    maxVideosPerFriend: { kind: 'int', dflt: 100_000, min: 1, max: MAX_INT },
    messagesPerMinute: { kind: 'int', dflt: 600, min: 1, max: 1_000_000 },
    messagesPerMinutePerAddress: { kind: 'int', dflt: 1200, min: 1, max: 1_000_000 },
  },
  network: {
    allowPrivateAddresses: { kind: 'bool', dflt: false },
    fetchTimeoutMs: { kind: 'int', dflt: 10_000, min: 100, max: 600_000 },
  },
  registrations: { kind: 'enum', dflt: 'closed', values: ['open', 'approval', 'closed'] },
  blacklistRevoked: { kind: 'bool', dflt: true },
  maxUploadBytes: { kind: 'int', dflt: 4 * GIB, min: 1, max: MAX_INT },
  maxMessageBytes: { kind: 'int', dflt: 4 * 1024 * 1024, min: 1024, max: 1024 * 1024 * 1024 },
  inbox: {
    strangerMessageBytes: { kind: 'int', dflt: 32 * 1024, min: 16 * 1024, max: 1024 * 1024 * 1024 },
    bodyTimeoutMs: { kind: 'int', dflt: 30_000, min: 100, max: 600_000 },
    bytesInFlightPerAddress: { kind: 'int', dflt: 16 * 1024 * 1024, min: 64 * 1024, max: MAX_INT },
    bytesInFlight: { kind: 'int', dflt: 64 * 1024 * 1024, min: 64 * 1024, max: MAX_INT },
  },
  requireLoginToWatch: { kind: 'bool', dflt: false },
  trustProxy: { kind: 'bool', dflt: false },
  torrentPort: { kind: 'int', dflt: 0, min: 0, max: 65535 },
  tracker: {
    peersPerAddress: { kind: 'int', dflt: 32, min: 1, max: 1000 },
    announcesPerMinute: { kind: 'int', dflt: 300, min: 1, max: 1_000_000 },
  },
  detailsTtlSeconds: { kind: 'int', dflt: 3600, min: 0, max: 30 * 24 * 3600 },
  log: {
    level: { kind: 'enum', dflt: 'info', values: ['debug', 'info', 'warn', 'error'] },
    format: { kind: 'enum', dflt: 'auto', values: ['auto', 'pretty', 'json'] },
  },
  redundancy: {
    enabled: { kind: 'bool', dflt: false },
    budgetBytes: { kind: 'int', dflt: 10 * GIB, min: 0, max: MAX_INT },
    strategy: { kind: 'enum', dflt: 'recent', values: ['recent', 'smallest'] },
    checkPieces: { kind: 'int', dflt: 3, min: 1, max: 64 },
    recheckSeconds: { kind: 'int', dflt: 6 * 3600, min: 1, max: 30 * 24 * 3600 },
    checkBytesPerHour: { kind: 'int', dflt: 64 * 1024 * 1024, min: 1024 * 1024, max: MAX_INT },
  },
  transcoding: {
    enabled: { kind: 'bool', dflt: true },
    concurrency: { kind: 'int', dflt: 1, min: 1, max: 16 },
    resolutions: { kind: 'ints', dflt: [240, 480, 720], min: 144, max: 4320 },
    local: { kind: 'bool', dflt: true },
    runnerWaitMs: { kind: 'int', dflt: 10_000, min: 0, max: 24 * 3600 * 1000 },
    leaseMs: { kind: 'int', dflt: 60_000, min: 500, max: 24 * 3600 * 1000 },
  },
  media: {
    maxPixels: { kind: 'int', dflt: 4096 * 4096, min: 64 * 64, max: 1 << 30 },
    maxFrameRate: { kind: 'int', dflt: 120, min: 1, max: 1000 },
    maxStreams: { kind: 'int', dflt: 16, min: 1, max: 1000 },
    maxDurationSeconds: { kind: 'int', dflt: 12 * 3600, min: 1, max: 30 * 24 * 3600 },
    minBytesPerSecond: { kind: 'int', dflt: 2000, min: 0, max: 100_000_000 },
    toolMemoryBytes: { kind: 'int', dflt: GIB, min: 64 * 1024 * 1024, max: 1024 * GIB },
    toolCpuSeconds: { kind: 'int', dflt: 60, min: 1, max: 24 * 3600 },
    cpuSecondsPerVideoSecond: { kind: 'number', dflt: 10, min: 0, max: 1000 },
  },
  uploads: {
    concurrency: { kind: 'int', dflt: 2, min: 1, max: 64 },
    perUser: { kind: 'int', dflt: 2, min: 1, max: 1000 },
    queueLength: { kind: 'int', dflt: 16, min: 0, max: 100_000 },
  },
  disk: {
    minFreeBytes: { kind: 'int', dflt: GIB, min: 0, max: MAX_INT },
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
  storage: {
    kind: { kind: 'enum', dflt: 'local', values: ['local', 's3'] },
    endpoint: { kind: 'url', dflt: undefined },
    region: { kind: 'string', dflt: 'us-east-1', nonEmpty: true },
    bucket: { kind: 'string', dflt: '' },
    prefix: { kind: 'string', dflt: '' },
    accessKeyId: { kind: 'string', dflt: '' },
    secretAccessKey: { kind: 'string', dflt: '' },
    publicBaseUrl: { kind: 'url', dflt: undefined },
    presignSeconds: { kind: 'int', dflt: 6 * 3600, min: 3600, max: 7 * 24 * 3600 },
    partSizeBytes: { kind: 'int', dflt: 16 * 1024 * 1024, min: 5 * 1024 * 1024, max: 5 * GIB },
    requestTimeoutMs: { kind: 'int', dflt: 30_000, min: 100, max: 600_000 },
  },
  metrics: {
    token: { kind: 'string', dflt: '' },
    listen: { kind: 'address', dflt: '' },
  },
  auth: {
    tokenTtlSeconds: { kind: 'int', dflt: 900, min: 10, max: 30 * 24 * 3600 },
    loginAttempts: { kind: 'int', dflt: 10, min: 1, max: 100000 },
    loginWindowSeconds: { kind: 'int', dflt: 600, min: 1, max: 24 * 3600 },
    registrationsPerAddress: { kind: 'int', dflt: 5, min: 1, max: 1_000_000 },
    registrationWindowSeconds: { kind: 'int', dflt: 24 * 3600, min: 1, max: 30 * 24 * 3600 },
  },
}
