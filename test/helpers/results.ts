/** Results in tests: the value of one the test expects to succeed. */
import type { Result } from '../../src/shared/errors'

/** The value of `r`; its failure fails the test, with its message. */
export function valueOf<T>(r: Result<T, { message: string } | string>): T {
  if (!r.ok) throw new Error(typeof r.error === 'string' ? r.error : r.error.message)
  return r.value
}
