/**
 * The retry policy for deliveries to a friend, as a pure function of the attempt number
 * (in the manner of Fedify's): `baseMs * factor^n` for the n-th retry (n = 0 ..
 * retries-1). With the defaults (2 s, 3, 10) the ten waits add up to about 16.4 hours,
 * the 2015 design's "it will finally fail in ~16h".
 *
 * Past the last retry the policy keeps the longest wait instead of giving up: queued
 * messages are never dropped while the friendship lasts, and every failed attempt still
 * costs the friend `score.step`, so a pod that stays down is revoked when its score reaches
 * 0 (after 10 failures from the initial 100), not silently left out of the index.
 */
export interface RetryPolicyConfig {
  readonly baseMs: number
  readonly factor: number
  readonly retries: number
}

/** Delay before retry number `n` (0-based), or null when the policy never retries (retries = 0). */
export function retryDelay(policy: RetryPolicyConfig, n: number): number | null {
  if (policy.retries <= 0) return null
  return Math.round(policy.baseMs * policy.factor ** Math.min(Math.max(0, n), policy.retries - 1))
}
