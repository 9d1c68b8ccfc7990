/**
 * README.md stays true to the code: its first lines and every configuration key. (Its
 * command list against `seedpod --help` is test/readme.test.ts.)
 */
import { describe, expect, test } from 'bun:test'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { configKeys } from '../../src/shared/config'

const readme = readFileSync(join(import.meta.dir, '..', '..', 'README.md'), 'utf8')

/** The rows of the configuration table: key -> [default, variable]. */
function configTable(): Map<string, [string, string]> {
  const rows = new Map<string, [string, string]>()
  for (const line of readme.split('\n')) {
    const m = line.match(/^\| `([\w.]+)` \| `([^`]*)` \| `(SEEDPOD_\w+)` \|/)
    if (m) rows.set(m[1]!, [m[2]!, m[3]!])
  }
  return rows
}

describe('README.md', () => {
  test('starts with npm install && npm start (port 9000, ./data) and npm test', () => {
    const start = readme.split('\n').slice(0, 6).join('\n')
    expect(start).toContain('npm install && npm start')
    expect(start).toContain('http://localhost:9000')
    expect(start).toContain('./data')
    expect(start).toContain('npm test')
  })

  test('documents every configuration key with its default and variable, and no other', () => {
    const rows = configTable()
    for (const { key, dflt, env } of configKeys()) {
      expect(rows.has(key) ? key : `${key} (missing from the README table)`).toBe(key)
      const [documented, variable] = rows.get(key)!
      expect(variable).toBe(env)
      if (dflt !== undefined) expect(`${key} = ${documented}`).toBe(`${key} = ${JSON.stringify(dflt)}`)
    }
    expect([...rows.keys()].sort()).toEqual(configKeys().map((k) => k.key).sort())
  })
})
