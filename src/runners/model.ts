/** What the runners' API takes and gives (docs/runners.md). */
import { t } from 'elysia'

/** `POST /api/v1/runners/tokens`: a registration token's label. */
export const NewToken = t.Object({ name: t.String({ minLength: 1, maxLength: 100 }) })
export type NewToken = typeof NewToken.static

/** `POST /api/v1/runners/register`: a registration token and the runner's name. */
export const Registration = t.Object({
  token: t.String({ minLength: 1, maxLength: 200 }),
  name: t.String({ minLength: 1, maxLength: 100 }),
})
export type Registration = typeof Registration.static

/** A lease as a runner names it in a request. */
const Lease = t.String({ minLength: 1, maxLength: 100 })

/** `POST /api/v1/runners/jobs/:id/progress`: how far the runner is (0 to 1); extends the lease. */
export const ProgressReport = t.Object({ lease: Lease, progress: t.Number({ minimum: 0, maximum: 1 }) })
export type ProgressReport = typeof ProgressReport.static

/** `POST /api/v1/runners/jobs/:id/fail`: the runner's ffmpeg could not transcode the source. */
export const FailureReport = t.Object({ lease: Lease, error: t.String({ minLength: 1, maxLength: 2000 }) })
export type FailureReport = typeof FailureReport.static

/** The lease query parameter of the source download and the result upload. */
export const LeaseQuery = t.Object({ lease: Lease })

/** A runner that stops (SIGTERM) hands its job back: `POST /jobs/:id/release`. */
export const Release = t.Object({ lease: Lease })

/** A job leased to a runner, as the claim answers it. */
export interface RunnerJob {
  id: number
  video: string
  resolution: number
  /** The source's length in seconds, for the runner's progress. */
  duration: number
  lease: string
  leaseExpiresAt: string
  /** How long each report extends the lease: the runner reports well within it. */
  leaseMs: number
}

/** A registration token as the admin sees it (never its secret, after creation). */
export interface TokenInfo {
  id: number
  name: string
  createdAt: string
  /** Runners registered with it. */
  runners: number
}

/** A runner as the admin sees it. */
export interface RunnerInfo {
  id: number
  name: string
  token: number
  createdAt: string
  lastContactAt: string
  job: { id: number; video: string; resolution: number; progress: number; leaseExpiresAt: string } | null
}
