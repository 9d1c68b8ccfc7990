/**
 * The parts of one running pod, built once at start (assemble.ts), and what its assembly
 * takes and gives. Several pods can run in one process (tests), so nothing is global. Routes
 * do not get this: each feature's routes are given the few services they use (http.ts).
 */
import type { Database } from 'bun:sqlite'
import type { Server, WebSocketHandler } from 'bun'
import type { PodActor } from '../../actors/pod'
import type { Accounts, AttemptLimiter } from '../accounts/service'
import type { VideoDetails } from '../details/service'
import type { Inbox } from '../federation/inbox'
import type { FriendMaking } from '../friends/making'
import type { Friends } from '../friends/service'
import type { Identity } from '../identity/keys'
import type { MediaTools } from '../media/tools'
import type { PodMetrics } from '../metrics/pod-metrics'
import type { Redundancy } from '../redundancy/service'
import type { Runners } from '../runners/service'
import type { Config } from '../shared/config'
import type { Logger } from '../shared/log'
import type { FetchHandler } from './listen'
import type { ServedFiles } from '../torrents/served'
import type { Tracker } from '../torrents/tracker'
import type { Transcoding } from '../transcoding/service'
import type { Videos } from '../videos/service'

export interface Pod {
  readonly config: Config
  readonly log: Logger
  readonly db: Database
  readonly identity: Identity
  /** ffmpeg and ffprobe, as found at start: without them, uploads are refused. */
  readonly media: MediaTools
  /** What `GET /metrics` shows (src/metrics/). */
  readonly metrics: PodMetrics
  readonly accounts: Accounts
  readonly loginLimiter: AttemptLimiter
  readonly actors: PodActor
  readonly inbox: Inbox
  readonly friends: Friends
  readonly making: FriendMaking
  readonly videos: Videos
  readonly transcoding: Transcoding
  /** Remote transcoding runners: their tokens, leases and results. */
  readonly runners: Runners
  readonly redundancy: Redundancy
  /** Details of videos (kept by their origin, cached by the others). */
  readonly details: VideoDetails
  /** What the pod serves over BitTorrent: own videos' files and copies of friends' videos. */
  readonly served: ServedFiles
  readonly tracker: Tracker
  readonly startedAt: number
  readonly version: string
}

/** A pod's parts, built and not yet started. */
export interface Assembled {
  readonly pod: Pod
  /** The app's request handler and WebSocket events, for the listening server. */
  readonly fetch: FetchHandler
  readonly websocket: WebSocketHandler<any>
  /** Starts what reaches out to other pods; once the pod is served (friends check its URL). */
  start(): void
  /** Stops the actors and closes the database (the server is stopped before). */
  close(): void
}

/** What `assemble` needs besides the configuration. */
export interface AssembleInput {
  config: Config
  log: Logger
  identity: Identity
  /** Where the pod listens (for WebSocket upgrades). */
  server: Server<unknown>
  version: string
  /** Lets the event loop run between steps. */
  pause: () => Promise<void>
}
