/**
 * What a pod measures for Prometheus (`GET /metrics`, routes.ts): its HTTP requests, inbox
 * messages, deliveries to friends, tracker, web seed, transcoding, database and process.
 * Counters and histograms are moved by the parts that see the events (the app's fetch, the
 * inbox, the friend actors, the transcoder), through the small functions below; gauges are
 * read from the pod's stores at each scrape.
 *
 * Every label has few values: routes are the app's route patterns (never raw paths), methods
 * the HTTP ones, message types the protocol's (`unknown` for others), outcomes codes of ours,
 * and friends their fingerprints (at most `friends.maxFriends`; a friend's series go with it).
 * Friends' URLs are in `seedpod_friend_info`, to join on.
 */
import { statSync } from 'node:fs'
import { join } from 'node:path'
import type { TranscodeOutcome, TranscoderActorInput } from '../../actors/transcoder'
import type { DeliveryObserver } from '../friends/actor'
import type { Friend } from '../friends/store'
import { Registry, type Counter, type Histogram } from '../shared/metrics'
import type { TrackerStats } from '../torrents/tracker'
import type { TranscodeJob } from '../transcoding/queue'
import { processMetrics } from './process'

/** The route label of a request the app did not route (no such path, or refused before routing). */
export const UNMATCHED = 'unmatched'

/** The web seed's route: its responses' bytes are counted apart. */
const WEBSEED_ROUTE = '/static/webseed/:file'

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'])

/** Seconds: from a fast API answer to a slow inbox or upload. */
const REQUEST_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]
/** Seconds: a delivery is one signed, encrypted POST to a friend. */
const DELIVERY_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]
/** Seconds: a rendition of a short clip to one of an hour-long film. */
const TRANSCODE_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200]

/** A request handler: the app's fetch, or what wraps it. */
export type Handler = (request: Request) => Response | Promise<Response>

/** What the gauges read at each scrape. */
export interface MetricSources {
  friends: { all(): Friend[] }
  tracker: { stats(): TrackerStats }
  queue: { countsByState(): Record<TranscodeJob['state'], number> }
  /** The data folder, where the database is. */
  dataDir: string
  media: { readonly ready: boolean }
  version: string
}

/** The size of a file, 0 when there is none (no WAL between checkpoints). */
const sizeOf = (path: string) => statSync(path, { throwIfNoEntry: false })?.size ?? 0

/** The metrics of one pod. */
export class PodMetrics {
  readonly registry = new Registry()
  /** The route pattern of each request the app routed (recorded by routes.ts's `routeLabels`). */
  readonly routes = new WeakMap<Request, string>()
  private readonly requests: Counter
  private readonly requestSeconds: Histogram
  private readonly webseedBytes: Counter
  private readonly inbox: Counter
  private readonly deliveries: Counter
  private readonly deliverySeconds: Histogram
  private readonly transcodeSeconds: Histogram
  private readonly process: { stop(): void }

  constructor() {
    const r = this.registry
    this.requests = r.counter('seedpod_http_requests_total', 'HTTP requests answered, by method, route pattern and status (GET /api/v1/pod, answered before the app, is not counted).', ['method', 'route', 'status'])
    this.requestSeconds = r.histogram('seedpod_http_request_duration_seconds', 'Time to the response headers of a request, by route pattern, in seconds.', ['route'], REQUEST_BUCKETS)
    this.webseedBytes = r.counter('seedpod_webseed_bytes_total', 'Bytes of the web seed responses sent (their Content-Length: a client that stops early is counted in full).')
    this.inbox = r.counter('seedpod_inbox_messages_total', 'Messages of opened inbox payloads, by type and outcome (applied, the error of their handler, or the refusal of their payload).', ['type', 'outcome'])
    this.deliveries = r.counter('seedpod_outbox_deliveries_total', 'Deliveries of queued messages to a friend, by friend and outcome.', ['friend', 'outcome'])
    this.deliverySeconds = r.histogram('seedpod_outbox_delivery_seconds', 'Time a delivery to a friend took (the batch taken, sent and acknowledged), by friend, in seconds.', ['friend'], DELIVERY_BUCKETS)
    this.transcodeSeconds = r.histogram('seedpod_transcode_duration_seconds', "Run time of the pod's own transcoding (transcode) and re-packaging (package) jobs, by outcome, in seconds.", ['kind', 'outcome'], TRANSCODE_BUCKETS)
    this.process = processMetrics(r)
  }

  /** Adds the gauges read from the pod's parts at each scrape. */
  watch(s: MetricSources): void {
    const r = this.registry
    r.gauge('seedpod_info', 'The running seedpod: its version.', ['version'], () => [[{ version: s.version }, 1]])
    r.gauge('seedpod_media_tools_ready', 'Whether ffmpeg and ffprobe were found at start (1) or not (0: uploads are refused).', [], () => (s.media.ready ? 1 : 0))
    r.gauge('seedpod_friends', 'Friends of the pod.', [], () => s.friends.all().length)
    r.gauge('seedpod_friend_info', "A friend's fingerprint with its URL (to join the per-friend series on).", ['friend', 'url'], () => s.friends.all().map((f) => [{ friend: f.fingerprint, url: f.url }, 1]))
    r.gauge('seedpod_friend_score', "A friend's reliability score (0 to score.max).", ['friend'], () => s.friends.all().map((f) => [{ friend: f.fingerprint }, f.score]))
    r.gauge('seedpod_outbox_messages', 'Messages waiting in the outbox of each friend.', ['friend'], () => s.friends.all().map((f) => [{ friend: f.fingerprint }, f.queued]))
    r.gauge('seedpod_tracker_swarms', 'Swarms of the tracker (one per info hash announced).', [], () => s.tracker.stats().torrents)
    r.gauge('seedpod_tracker_peers', 'Peers in the swarms of the tracker, by role (a peer in two swarms counts twice).', ['role'], () => {
      const t = s.tracker.stats()
      return [
        [{ role: 'seeder' }, t.seeders],
        [{ role: 'leecher' }, t.leechers],
      ]
    })
    r.gauge('seedpod_transcode_jobs', 'Transcoding jobs by state.', ['state'], () => Object.entries(s.queue.countsByState()).map(([state, n]) => [{ state }, n]))
    const db = join(s.dataDir, 'seedpod.db')
    r.gauge('seedpod_sqlite_database_bytes', 'Size of the SQLite database file, in bytes.', [], () => sizeOf(db))
    r.gauge('seedpod_sqlite_wal_bytes', 'Size of the SQLite write-ahead log, in bytes.', [], () => sizeOf(`${db}-wal`))
  }

  /** The app's fetch, each request counted and timed with its route (routes.ts's `routeLabels` records it). */
  http(fetch: Handler): Handler {
    return async (request) => {
      const started = performance.now()
      // A WebSocket upgrade (the tracker's) answers nothing, whatever Elysia's type says.
      const res: Response | undefined = await fetch(request)
      const route = this.routes.get(request) ?? UNMATCHED
      const method = METHODS.has(request.method) ? request.method : 'other'
      // That is a 101 Switching Protocols.
      const status = res?.status ?? 101
      this.requests.inc({ method, route, status: String(status) })
      this.requestSeconds.observe({ route }, (performance.now() - started) / 1000)
      if (route === WEBSEED_ROUTE && method === 'GET' && (status === 200 || status === 206)) this.webseedBytes.inc({}, Number(res?.headers.get('content-length') ?? 0))
      return res!
    }
  }

  /** The inbox's message counter (src/federation/inbox.ts). */
  readonly inboxMessage = (type: string, outcome: string): void => this.inbox.inc({ type, outcome })

  /** The friend actors' deliveries (src/friends/actor.ts). */
  readonly delivered: DeliveryObserver = (friend, outcome, seconds) => {
    this.deliveries.inc({ friend, outcome })
    if (outcome === 'delivered') this.deliverySeconds.observe({ friend }, seconds)
  }

  /** A friendship ended: its series go. */
  friendGone(fingerprint: string): void {
    this.deliveries.remove({ friend: fingerprint })
    this.deliverySeconds.remove({ friend: fingerprint })
  }

  /** The transcoder's ports, its jobs timed. */
  timedTranscoder(input: TranscoderActorInput): TranscoderActorInput {
    const timed =
      <A extends unknown[]>(kind: 'transcode' | 'package', run: (...args: A) => Promise<TranscodeOutcome>) =>
      async (...args: A): Promise<TranscodeOutcome> => {
        const started = performance.now()
        const seconds = () => (performance.now() - started) / 1000
        try {
          const outcome = await run(...args)
          this.transcodeSeconds.observe({ kind, outcome: outcome.ok ? 'done' : outcome.error.later ? 'later' : 'failed' }, seconds())
          return outcome
        } catch (e) {
          this.transcodeSeconds.observe({ kind, outcome: 'failed' }, seconds())
          throw e
        }
      }
    return { ...input, transcode: timed('transcode', input.transcode), repackage: timed('package', input.repackage) }
  }

  /** The text of a scrape. */
  render(): string {
    return this.registry.render()
  }

  /** Ends the sampling of the event loop's lag. */
  stop(): void {
    this.process.stop()
  }
}
