/**
 * What `seedpod serve` (and `seedpod user add`) do with a bad configuration: a message that
 * says what is wrong, exit 78, nothing created. (The configuration itself is
 * test/unit/config.test.ts.)
 */
import { afterAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { childEnv, listTree, removeTempDirs, runCli, tempDir } from './helpers/pods'

afterAll(removeTempDirs)
// Real processes on a shared machine: far more than they need, never a timing assertion.
setDefaultTimeout(60_000)

describe('seedpod serve with a bad configuration', () => {
  /** Each case: files to write into an empty folder, the command line, the environment, and what stderr must say. */
  const cases: { name: string; files?: Record<string, string>; args: string[]; env?: Record<string, string>; says: string[] }[] = [
    { name: 'bad port flag', args: ['--port', '70000'], says: ['command line: port = "70000"', 'expected an integer from 1 to 65535'] },
    { name: 'bad port variable', args: [], env: { SEEDPOD_PORT: 'http' }, says: ['environment: port = "http"', 'expected an integer'] },
    {
      name: 'unknown key',
      files: { 'seedpod.toml': 'prot = 9001\n' },
      args: ['--config', 'seedpod.toml'],
      says: ['seedpod.toml: unknown key prot = 9001', 'did you mean port?'],
    },
    {
      name: 'wrong type',
      files: { 'seedpod.toml': 'registrations = true\n' },
      args: ['--config', 'seedpod.toml'],
      says: ['registrations = true is not valid', 'expected one of "open", "approval", "closed"'],
    },
    { name: 'missing file', args: ['--config', 'nowhere.toml'], says: ['config file = "nowhere.toml" cannot be read (ENOENT'] },
    { name: 'file is a folder', files: { 'conf/.keep': '' }, args: ['--config', 'conf'], says: ['config file = "conf" cannot be read (EISDIR'] },
    { name: 'path through a file', files: { plain: 'x' }, args: ['--config', 'plain/seedpod.toml'], says: ['cannot be read (ENOTDIR'] },
    { name: 'malformed file', files: { 'seedpod.toml': '[log\n' }, args: ['--config', 'seedpod.toml'], says: ['is not valid TOML'] },
    { name: 'bad URL', args: ['--url', 'ftp://pod.example'], says: ['url = "ftp://pod.example" is not valid', 'http:// or https://'] },
  ]

  for (const c of cases) {
    test(`${c.name}: says what is wrong, exits 78, creates nothing`, async () => {
      const dir = tempDir()
      for (const [name, text] of Object.entries(c.files ?? {})) {
        mkdirSync(dirname(join(dir, name)), { recursive: true })
        writeFileSync(join(dir, name), text)
      }
      const before = listTree(dir)
      const { code, stderr } = await runCli(['serve', ...c.args], { cwd: dir, env: childEnv(c.env) })
      expect(stderr).toContain('configuration error')
      for (const s of c.says) expect(stderr).toContain(s)
      expect(code).toBe(78)
      // No data folder, no key: the default data folder would be ./data here.
      expect(listTree(dir)).toEqual(before)
    })
  }

  test.skipIf(process.getuid?.() === 0)('a config file without read permission (not as root, who reads anything)', async () => {
    const dir = tempDir()
    writeFileSync(join(dir, 'seedpod.toml'), 'port = 9001\n', { mode: 0o000 })
    const { code, stderr } = await runCli(['serve', '--config', 'seedpod.toml'], { cwd: dir })
    expect(stderr).toContain('cannot be read (EACCES: permission denied)')
    expect(code).toBe(78)
    expect(listTree(dir)).toEqual(['seedpod.toml'])
  })

  test('seedpod user add with a bad configuration creates no data folder either', async () => {
    const dir = tempDir()
    const { code, stderr } = await runCli(['user', 'add', 'alice', '--password-stdin'], {
      cwd: dir,
      env: childEnv({ SEEDPOD_DATA_DIR: '' }),
      stdin: 'a long secret 123\n',
    })
    expect(stderr).toContain('dataDir = "" is not valid: expected a non-empty string')
    expect(code).toBe(78)
    expect(listTree(dir)).toEqual([])
  })
})
