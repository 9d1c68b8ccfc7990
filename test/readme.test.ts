/**
 * README.md stays true to the code: it shows the commands of `seedpod --help`. (Its first
 * lines and the configuration table are test/unit/readme.test.ts.)
 */
import { describe, expect, setDefaultTimeout, test } from 'bun:test'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ROOT, runCli } from './helpers/pods'

// Real processes on a shared machine: far more than they need, never a timing assertion.
setDefaultTimeout(60_000)

const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')

describe('README.md', () => {
  test('shows the same commands as seedpod --help', async () => {
    const { stdout } = await runCli(['--help'], { cwd: ROOT })
    const block = readme.slice(readme.indexOf('## The command line'))
    for (const command of ['serve', 'init', 'user add', 'systemd-unit', 'backup', 'restore']) {
      const usage = stdout.split('\n').find((l) => l.trim().startsWith(`seedpod ${command} `))!
      // The synopsis up to the description the help adds after two spaces.
      const synopsis = usage.trim().split(/ {2,}/)[0]!
      expect(block).toContain(synopsis)
    }
  })
})
