/**
 * The one error style of the pod's domain code: a `DomainError` says what kind of failure
 * it is (a caller's mistake, a missing thing, a refusal, ...), a stable machine code and a
 * human message. It knows nothing of HTTP; only the HTTP layer (src/app/errors.ts) turns a
 * kind into a status. Code that expects failure as a normal outcome (verifying a message,
 * delivering to a friend) returns a result union instead, and its route maps that.
 */

/** What went wrong, as the HTTP layer maps it to a status. */
export type ErrorKind =
  | 'invalid'
  | 'unauthenticated'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'too_large'
  | 'length_required'
  | 'unsupported_media'
  | 'unsupported_version'
  | 'rate_limited'
  | 'upstream_failed'
  | 'upstream_timeout'
  | 'unavailable'

/** A failure meant for whoever asked: its kind, a stable code and a message to show. */
export class DomainError extends Error {
  constructor(
    readonly kind: ErrorKind,
    readonly code: string,
    message: string,
    readonly extra?: Record<string, unknown>,
  ) {
    super(message)
    this.name = 'DomainError'
  }
}
