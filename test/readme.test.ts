/** README.md stays true to the code: its first lines, every configuration key, the usage. */
import { describe, expect, setDefaultTimeout, test } from 'bun:test'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { configKeys } from '../src/shared/config'
import { ROOT, runCli } from './helpers/pods'

// Real processes on a shared machine: far more than they need, never a timing assertion.
setDefaultTimeout(60_000)

const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')

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

  test('shows the same commands as seedpod --help', async () => {
    const { stdout } = await runCli(['--help'], { cwd: ROOT })
    const block = readme.slice(readme.indexOf('## The command line'))
    for (const command of ['serve', 'init', 'user add', 'systemd-unit']) {
      const usage = stdout.split('\n').find((l) => l.trim().startsWith(`seedpod ${command} `))!
      // The synopsis up to the description the help adds after two spaces.
      const synopsis = usage.trim().split(/ {2,}/)[0]!
      expect(block).toContain(synopsis)
    }
  })
})
