/**
 * Rate limits by key (a friend, an address): at most `limit` events per `windowMs`, counted
 * in fixed windows. A fixed window lets a burst of up to twice the limit straddle a boundary,
 * which is fine for what these protect (the inbox, friend requests), and costs one small
 * record per key. Memory is bounded: past `maxKeys`, the oldest keys are forgotten (which
 * only ever lets a forgotten key start afresh).
 */
import { fail, ok, type Result } from './errors'

/** What `take` decided: allowed, or refused with the seconds until the window ends. */
export type RateDecision = Result<void, { retryAfterSeconds: number }>

/** A rate limit over many keys. */
export class RateLimiter {
  private readonly windows = new Map<string, { start: number; count: number }>()

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
    private readonly maxKeys = 100_000,
  ) {}

  /** Counts one event for `key` if it is within the limit. */
  take(key: string): RateDecision {
    const now = this.now()
    let w = this.windows.get(key)
    if (!w || now - w.start >= this.windowMs) {
      // Re-inserted, so that the map's order stays oldest window first.
      this.windows.delete(key)
      w = { start: now, count: 0 }
      this.windows.set(key, w)
      if (this.windows.size > this.maxKeys) this.windows.delete(this.windows.keys().next().value!)
    }
    if (w.count >= this.limit) return fail({ retryAfterSeconds: Math.max(1, Math.ceil((w.start + this.windowMs - now) / 1000)) })
    w.count++
    return ok()
  }
}
