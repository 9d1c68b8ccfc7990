/** The API's shapes, as the pages use them (docs/protocol.md and the features' routes); type-only imports of the server's types. */

/** A video of the network index (`GET /api/v1/videos/:id`): the server's own type. */
export type { Video } from '../../src/videos/model'
import type { Video } from '../../src/videos/model'

/** A transcoding job (`transcoding` of an own video, `GET /api/v1/videos/transcoding/jobs`): the server's own type. */
export type { TranscodeJob } from '../../src/transcoding/queue'
import type { TranscodeJob } from '../../src/transcoding/queue'

/** How far the re-packaging of videos of earlier releases is (`GET /api/v1/videos/repackaging`): the server's own type. */
export type { RepackProgress } from '../../src/transcoding/queue'

/** A remote transcoding runner and a registration token (`GET /api/v1/runners`, `GET /api/v1/runners/tokens`): the server's own types. */
export type { RunnerInfo, TokenInfo } from '../../src/runners/model'

/** A job of the admin list: with its video's name, while the video exists. */
export type AdminJob = TranscodeJob & { name?: string }

/** `GET /api/v1/videos/:id` of an own video: with its transcoding jobs. */
export type OwnVideo = Video & { transcoding?: TranscodeJob[] }

/** A page of `GET /api/v1/videos`. */
export interface VideoPage {
  total: number
  totalIsLowerBound?: boolean
  data: Video[]
}

/** An account (`GET /api/v1/users/me`, and an admin's `GET /api/v1/users`). */
export interface User {
  id: number
  username: string
  role: 'user' | 'admin'
  /** `pending`: waits for an admin to accept it; `disabled`: by an admin. */
  status: 'active' | 'pending' | 'disabled'
  createdAt: string
}

/** A friend pod as `GET /api/v1/friends` shows it. */
export interface Friend {
  url: string
  name: string
  fingerprint: string
  score: number
  state: string
  nextRetryAt: string | null
  queued: number
  lastError: string | null
  attempts?: number
  since?: string
}

/** One point of a friend's score history (`GET /api/v1/friends/:fingerprint/scores`). */
export interface ScorePoint {
  at: string
  score: number
}

/** The JSON the HTML shell carries, and the pod's public settings in it: the server's own types. */
export type { Boot } from '../../src/pages/shell'
import type { Boot } from '../../src/pages/shell'
export type PodInfo = Boot['pod']
