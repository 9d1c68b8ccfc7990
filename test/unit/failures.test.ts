/**
 * One failure style (src/shared/errors.ts): the code under src/ fails with a Result or a
 * DomainError, never with a bare `throw new Error(...)` (or `throw Error(...)`), which says
 * neither what kind of failure it is nor what caused it. Found on the tokens of each file, so
 * that the words in comments and strings do not count. The CLI and the build have errors of
 * their own (exit codes, a failed build): the files listed below, each with its reason.
 * actors/ is not scanned: it takes nothing but types from src/ (test/unit/layout.test.ts), so
 * DomainError is not its to throw; the pod catches and logs what its actors throw.
 */
import { describe, expect, test } from 'bun:test'
import { readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { DomainError, fail, failure, ok, type Result } from '../../src/shared/errors'
import { sourceFiles, tokenize } from '../helpers/imports'

const ROOT = join(import.meta.dir, '..', '..')

/** Files of src/ that may throw a bare Error, and why. */
const ALLOWED: Record<string, string> = {
  'src/app/build.ts': 'the build script: a failed build ends `npm run build` with the bundler\'s log',
  'src/app/runner-cli.ts': "the runner's commands: the CLI prints the message and exits 1",
}

/** `throw new Error(` and `throw Error(` in a source, by line. */
function bareThrows(source: string): number[] {
  const tokens = tokenize(source)
  const lines: number[] = []
  tokens.forEach((t, i) => {
    if (t.kind !== 'word' || t.value !== 'throw') return
    const next = tokens.slice(i + 1, i + 4).map((n) => n.value)
    const bare = (next[0] === 'new' && next[1] === 'Error' && next[2] === '(') || (next[0] === 'Error' && next[1] === '(')
    if (bare) lines.push(source.slice(0, t.pos).split('\n').length)
  })
  return lines
}

describe('failure style', () => {
  test('the finder finds bare throws in code, and not in comments, strings or other errors', () => {
    const source = [
      "if (a) throw new Error('one')",
      '// throw new Error("in a comment")',
      "const s = 'throw new Error(\"in a string\")'",
      "throw new DomainError('internal', 'x', 'typed')",
      'throw Error(`two`)',
      'throw new ErrorLike()',
    ].join('\n')
    expect(bareThrows(source)).toEqual([1, 5])
  })

  test('no bare throw new Error(...) under src/ but in the files allowed, each of which still needs it', () => {
    const found: string[] = []
    const needed = new Set<string>()
    for (const file of sourceFiles(join(ROOT, 'src'))) {
      const name = relative(ROOT, file).split('\\').join('/')
      for (const line of bareThrows(readFileSync(file, 'utf8'))) {
        if (name in ALLOWED) needed.add(name)
        else found.push(`${name}:${line}`)
      }
    }
    expect(found).toEqual([])
    expect(Object.keys(ALLOWED).filter((f) => !needed.has(f))).toEqual([])
  })
})

describe('Result and DomainError', () => {
  test('a Result is { ok: true, value } or { ok: false, error }; a Failure carries what goes with it', () => {
    const half = (n: number): Result<number, string> => (n % 2 === 0 ? ok(n / 2) : fail(`${n} is odd`))
    expect(half(4)).toEqual({ ok: true, value: 2 })
    expect(half(3)).toEqual({ ok: false, error: '3 is odd' })
    expect(ok()).toEqual({ ok: true, value: undefined })
    expect(failure('rate_limited', 'slow_down', 'wait', { retryAfter: 5 })).toEqual({
      ok: false,
      error: { kind: 'rate_limited', code: 'slow_down', message: 'wait', extra: { retryAfter: 5 } },
    })
    expect(failure('not_found', 'gone', 'no such video').error).not.toHaveProperty('extra')
  })

  test('DomainError.of throws a Failure as it is, with its cause', () => {
    const cause = new Error('ECONNRESET')
    const e = DomainError.of(failure('upstream_failed', 'origin_down', 'the origin did not answer', { url: 'https://a.example' }).error, { cause })
    expect([e.kind, e.code, e.message, e.extra, e.cause]).toEqual(['upstream_failed', 'origin_down', 'the origin did not answer', { url: 'https://a.example' }, cause])
    expect(e).toBeInstanceOf(Error)
    expect(e.name).toBe('DomainError')
  })
})
