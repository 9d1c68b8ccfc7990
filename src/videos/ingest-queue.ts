/**
 * Uploads as a bounded queue (config `uploads.*`). Checking and preparing an upload runs
 * ffprobe and ffmpeg (two at once: the thumbnail while the file is remuxed), so at most
 * `concurrency` uploads are prepared at a time and the others wait their turn in order.
 *
 * An upload is admitted before a byte of it is read, and refused then with the reason and a
 * `Retry-After`: 429 when its user already has `perUser` uploads in flight (their own uploads
 * hold them up: they wait for one to finish), 503 when the pod already has `concurrency +
 * queueLength` uploads in flight (it is busy for everyone). An admitted upload waits rather
 * than failing: its bytes are already on their way, and sending them again costs more than
 * waiting for a turn.
 */
import type { Config } from '../shared/config'
import { failure, ok, type Failure, type Result } from '../shared/errors'

/** An admitted upload: it takes its turn to be prepared, and leaves the queue when done. */
export interface IngestTicket {
  /** Runs `prepare` once one of the `concurrency` turns is free (at once if one is). */
  turn<T>(prepare: () => Promise<T>): Promise<T>
  /** The upload is over (stored, refused or broken off): its user and the pod may take another. */
  release(): void
}

/** How long preparing an upload is taken to last before any has been timed (ms). */
const FIRST_ESTIMATE_MS = 5_000

/** The bounded queue of uploads of one pod. */
export class IngestQueue {
  /** Uploads in flight per user id: being received, waiting for their turn or being prepared. */
  private readonly perUser = new Map<number, number>()
  /** Uploads in flight on the pod: admitted, and not yet prepared nor broken off. */
  private admitted = 0
  /** Uploads being prepared now. */
  private preparing = 0
  /** Uploads that wait for a turn, first come first served. */
  private readonly waiting: (() => void)[] = []
  /** How long preparing an upload lasts lately (ms): what `Retry-After` is made of. */
  private estimateMs = FIRST_ESTIMATE_MS

  constructor(
    private readonly limits: Config['uploads'],
    private readonly now: () => number = Date.now,
  ) {}

  /** Uploads being prepared and waiting, for the pod's health and tests. */
  load(): { preparing: number; waiting: number } {
    return { preparing: this.preparing, waiting: this.admitted - this.preparing }
  }

  /** Admits an upload of user `userId`, or says why not (429 too_many_uploads, 503 uploads_busy) and when to try again. */
  admit(userId: number): Result<IngestTicket, Failure> {
    const mine = this.perUser.get(userId) ?? 0
    if (mine >= this.limits.perUser)
      return failure('rate_limited', 'too_many_uploads', `you already have ${mine} uploads in progress (at most ${this.limits.perUser} at once); send this one when one of them is done`, {
        retryAfter: this.retryAfter(1),
      })
    if (this.admitted >= this.limits.concurrency + this.limits.queueLength)
      return failure('unavailable', 'uploads_busy', `the pod is busy with ${this.admitted} other uploads; try again in a little while`, {
        retryAfter: this.retryAfter(this.admitted / this.limits.concurrency),
      })
    this.perUser.set(userId, mine + 1)
    this.admitted++
    let released = false
    let prepared = false
    return ok({
      turn: async <T>(prepare: () => Promise<T>): Promise<T> => {
        // A turn that ends hands its place to the next in line (it stays counted): nobody overtakes them.
        if (this.preparing >= this.limits.concurrency) await new Promise<void>((resolve) => this.waiting.push(resolve))
        else this.preparing++
        const started = this.now()
        try {
          return await prepare()
        } finally {
          this.estimateMs = (this.estimateMs + (this.now() - started)) / 2
          this.admitted--
          prepared = true
          const next = this.waiting.shift()
          if (next) next()
          else this.preparing--
        }
      },
      release: () => {
        if (released) return
        released = true
        // Broken off before its turn (refused while it was received): it no longer counts as waiting.
        if (!prepared) this.admitted--
        const left = (this.perUser.get(userId) ?? 1) - 1
        if (left > 0) this.perUser.set(userId, left)
        else this.perUser.delete(userId)
      },
    })
  }

  /** Seconds until `turns` uploads have been prepared, at the recent pace; at least 1. */
  private retryAfter(turns: number): number {
    return Math.max(1, Math.ceil((this.estimateMs * Math.max(1, turns)) / 1000))
  }
}
