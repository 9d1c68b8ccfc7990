/**
 * The services of one running pod, built once at start and passed to every HTTP plugin and
 * actor that needs them. Several pods can run in one process (tests), so nothing is global.
 */
import type { Database } from 'bun:sqlite'
import type { PodActor } from '../../actors/pod'
import type { Accounts, AttemptLimiter } from '../accounts/service'
import type { Config } from '../shared/config'
import type { Identity } from '../identity/keys'
import type { Friends } from '../friends/service'
import type { VideoDetails } from '../details/service'
import type { Videos } from '../videos/service'
import type { Tracker } from '../torrents/tracker'
import type { Logger } from '../shared/log'

export interface Pod {
  readonly config: Config
  readonly log: Logger
  readonly db: Database
  readonly identity: Identity
  readonly accounts: Accounts
  readonly loginLimiter: AttemptLimiter
  readonly actors: PodActor
  readonly friends: Friends
  readonly videos: Videos
  /** Details of videos (kept by their origin, cached by the others). */
  readonly details: VideoDetails
  readonly tracker: Tracker
  readonly startedAt: number
  readonly version: string
}
