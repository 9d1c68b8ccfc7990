/**
 * How long a runner waits before it asks its pod again after a failure (the pod restarting,
 * the network down): exponential with "full jitter", so that many runners of one pod that lost
 * it at once do not all come back in the same instant. A pure function of the attempt number
 * and a random number, so tests pass their own.
 */
export interface BackoffPolicy {
  readonly baseMs: number
  readonly maxMs: number
}

/** The wait before retry number `attempt` (0-based): uniform in [0.5, 1] x min(maxMs, baseMs * 2^attempt). */
export function backoffDelay(policy: BackoffPolicy, attempt: number, random: number): number {
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(Math.max(0, attempt), 30))
  // Half fixed, half random: never an immediate retry, never two runners in step.
  return Math.round(ceiling * (0.5 + Math.min(1, Math.max(0, random)) / 2))
}
