/**
 * The one failure style of the pod's domain code, in two halves:
 *
 * - An expected failure (a hostile or broken peer, a refused message, a file that is not a
 *   video) is a value, not an exception: the function returns a `Result`, `{ ok: true, value }`
 *   or `{ ok: false, error }`, and its caller decides. Where the failure goes on to an HTTP
 *   answer, its error is a `Failure` (a kind, a stable code, a message); `DomainError.of`
 *   throws it from a route.
 * - Everything else is thrown as a `DomainError`, with the error it comes from as `cause`.
 *   Its kind says what kind of failure it is (a caller's mistake, a missing thing, a refusal,
 *   ...); `internal` is one that whoever asked can do nothing about (a broken assumption of
 *   the pod's own code, a tool or a store that misbehaved): logged, and answered as a 500
 *   that does not repeat its message.
 *
 * Neither knows anything of HTTP; only the HTTP layer (src/shared/error-response.ts, and the
 * app's error plugin, src/app/errors.ts) turns a kind into a status. No `throw new Error(...)`
 * in the code that serves requests (test/unit/failures.test.ts); the CLI and the start have
 * errors of their own, which they turn into exit codes. The results of messages inside a protocol reply keep the protocol's
 * own shape (docs/protocol.md).
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
  | 'insufficient_storage'
  | 'internal'

/** An expected failure as a value: what a DomainError would say, and what goes with it (`Retry-After`'s seconds...). */
export interface Failure {
  readonly kind: ErrorKind
  readonly code: string
  readonly message: string
  readonly extra?: Readonly<Record<string, unknown>>
}

/** A success of a Result. */
export interface Ok<T> {
  readonly ok: true
  readonly value: T
}

/** A failure of a Result. */
export interface Err<E> {
  readonly ok: false
  readonly error: E
}

/** The outcome of something that may fail as a matter of course. */
export type Result<T, E = Failure> = Ok<T> | Err<E>

/** A success (`ok()` for one that carries nothing). */
export function ok(): Ok<void>
export function ok<T>(value: T): Ok<T>
export function ok<T>(value?: T): Ok<T | undefined> {
  return { ok: true, value }
}

/** A failure carrying `error`. */
export function fail<E>(error: E): Err<E> {
  return { ok: false, error }
}

/** A failure carrying a Failure. */
export function failure(kind: ErrorKind, code: string, message: string, extra?: Record<string, unknown>): Err<Failure> {
  return fail(extra ? { kind, code, message, extra } : { kind, code, message })
}

/** A failure meant for whoever asked: its kind, a stable code and a message to show, and what caused it. */
export class DomainError extends Error {
  constructor(
    readonly kind: ErrorKind,
    readonly code: string,
    message: string,
    readonly extra?: Record<string, unknown>,
    options?: ErrorOptions,
  ) {
    super(message, options)
    this.name = 'DomainError'
  }

  /** The DomainError of an expected failure that its caller cannot handle (a route answering it). */
  static of(f: Failure, options?: ErrorOptions): DomainError {
    return new DomainError(f.kind, f.code, f.message, f.extra && { ...f.extra }, options)
  }
}
