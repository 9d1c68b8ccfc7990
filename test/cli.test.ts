/**
 * The `seedpod` command as a user runs it (`bun src/app/cli.ts ...` child processes): usage
 * errors, init, user add, systemd-unit, and how serve takes its settings and logs.
 */
import { afterAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import pkg from '../package.json'
import { sampleConfig } from '../src/app/sample-config'
import { childEnv, listTree, logLines, removeTempDirs, runCli, spawnCli, tempDir, waitForPod } from './helpers/pods'
import { freePort } from './helpers/ports'

afterAll(removeTempDirs)
// Real processes on a shared machine: far more than they need, never a timing assertion.
setDefaultTimeout(60_000)

const PASSWORD = 'correct horse battery'

describe('usage', () => {
  const bad: [string, string[], string][] = [
    ['an unknown command', ['frobnicate'], 'unknown command: frobnicate'],
    ['an unknown flag', ['serve', '--bogus'], "Unknown option '--bogus'"],
    ['an unknown flag of init', ['init', '--port', '1'], "Unknown option '--port'"],
    ['an unknown user subcommand', ['user', 'remove', 'x'], 'unknown command: user remove'],
    ['user add without a name', ['user', 'add'], 'user add needs a NAME'],
    ['an extra argument', ['serve', 'now'], 'unexpected argument now'],
  ]
  for (const [what, args, says] of bad) {
    test(`${what} prints usage and exits 2, creating nothing`, async () => {
      const dir = tempDir()
      const { code, stderr } = await runCli(args, { cwd: dir })
      expect(stderr).toContain(says)
      expect(stderr).toContain('Usage:')
      expect(stderr).toContain('seedpod serve [--config FILE]')
      expect(code).toBe(2)
      expect(listTree(dir)).toEqual([])
    })
  }

  test('no command at all prints usage and exits 2', async () => {
    const { code, stdout } = await runCli([], { cwd: tempDir() })
    expect(stdout).toContain('Usage:')
    expect(code).toBe(2)
  })

  test('--help (also after a command) prints usage and exits 0; --version prints the version', async () => {
    for (const args of [['--help'], ['serve', '--help'], ['user', 'add', '-h']]) {
      const { code, stdout } = await runCli(args, { cwd: tempDir() })
      expect(stdout).toContain('seedpod systemd-unit')
      expect(code).toBe(0)
    }
    const { code, stdout } = await runCli(['--version'], { cwd: tempDir() })
    expect(stdout.trim()).toBe(pkg.version)
    expect(code).toBe(0)
  })
})

describe('seedpod init', () => {
  test('writes the commented sample config, which serve accepts', async () => {
    const dir = tempDir()
    const { code, stdout } = await runCli(['init'], { cwd: dir })
    expect(code).toBe(0)
    expect(stdout).toContain('wrote seedpod.toml')
    const text = readFileSync(join(dir, 'seedpod.toml'), 'utf8')
    expect(text).toBe(sampleConfig())
    expect(text.split('\n').filter((l) => l.startsWith('#')).length).toBeGreaterThan(10)

    // serve takes it (on another port), and the data goes where it says: ./data.
    const port = await freePort()
    const child = spawnCli(['serve', '--config', 'seedpod.toml', '--port', String(port), '--host', '127.0.0.1'], { cwd: dir })
    try {
      const info = await waitForPod(`http://127.0.0.1:${port}`, child)
      expect(info.name).toBe('seedpod')
      expect(existsSync(join(dir, 'data', 'keys', 'pod.key'))).toBe(true)
    } finally {
      child.proc.kill('SIGTERM')
      expect(await child.exit()).toBe(0)
    }
  })

  test('never overwrites a file unless told to with --force', async () => {
    const dir = tempDir()
    writeFileSync(join(dir, 'seedpod.toml'), 'port = 9001\n')
    const refused = await runCli(['init'], { cwd: dir })
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain('seedpod.toml exists; use --force')
    expect(readFileSync(join(dir, 'seedpod.toml'), 'utf8')).toBe('port = 9001\n')
    expect((await runCli(['init', '--force'], { cwd: dir })).code).toBe(0)
    expect(readFileSync(join(dir, 'seedpod.toml'), 'utf8')).toBe(sampleConfig())
  })

  test('writes to a named file (making its folder) or to stdout with -', async () => {
    const dir = tempDir()
    expect((await runCli(['init', 'etc/seedpod/pod.toml'], { cwd: dir })).code).toBe(0)
    expect(readFileSync(join(dir, 'etc/seedpod/pod.toml'), 'utf8')).toBe(sampleConfig())
    const out = await runCli(['init', '-'], { cwd: dir })
    expect(out.stdout).toBe(sampleConfig())
    expect(listTree(dir)).toEqual(['etc', 'etc/seedpod', 'etc/seedpod/pod.toml'])
  })
})

describe('seedpod user add', () => {
  test('makes an admin who can then log in to the running pod and list accounts', async () => {
    const dir = tempDir()
    const add = await runCli(['user', 'add', 'root', '--admin', '--password-stdin'], { cwd: dir, stdin: `${PASSWORD}\n` })
    expect(add.stdout).toContain('created admin root')
    expect(add.code).toBe(0)
    const user = await runCli(['user', 'add', 'bob', '--password-stdin'], { cwd: dir, stdin: 'a different long password' })
    expect(user.stdout).toContain('created user bob')

    const port = await freePort()
    const child = spawnCli(['serve', '--port', String(port), '--host', '127.0.0.1'], { cwd: dir })
    try {
      const base = `http://127.0.0.1:${port}`
      await waitForPod(base, child)
      const res = await fetch(`${base}/api/v1/auth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'root', password: PASSWORD }),
      })
      expect(res.status).toBe(200)
      const { accessToken } = (await res.json()) as { accessToken: string }
      const list = await fetch(`${base}/api/v1/users`, { headers: { authorization: `Bearer ${accessToken}` } })
      const body = (await list.json()) as { data: { username: string; role: string }[] }
      expect(body.data.map((u) => [u.username, u.role])).toEqual([
        ['root', 'admin'],
        ['bob', 'user'],
      ])
      // While the pod runs, too: the new account can log in at once.
      const late = await runCli(['user', 'add', 'carol', '--password-stdin'], { cwd: dir, stdin: 'late arrival passphrase' })
      expect(late.code).toBe(0)
      const carol = await fetch(`${base}/api/v1/auth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'carol', password: 'late arrival passphrase' }),
      })
      expect(carol.status).toBe(200)
    } finally {
      child.proc.kill('SIGTERM')
      expect(await child.exit()).toBe(0)
    }
  })

  test('refuses a taken name and a weak password with exit 1 and a reason', async () => {
    const dir = tempDir()
    expect((await runCli(['user', 'add', 'root', '--password-stdin'], { cwd: dir, stdin: PASSWORD })).code).toBe(0)
    const taken = await runCli(['user', 'add', 'ROOT', '--password-stdin'], { cwd: dir, stdin: 'some other password' })
    expect(taken.stderr).toContain('the user name ROOT is taken')
    expect(taken.code).toBe(1)
    const weak = await runCli(['user', 'add', 'alice', '--password-stdin'], { cwd: dir, stdin: 'short\n' })
    expect(weak.stderr).toContain('at least 10 characters')
    expect(weak.code).toBe(1)
  })

  test('without --password-stdin and without a terminal it asks for the flag instead of hanging', async () => {
    const dir = tempDir()
    const { code, stderr } = await runCli(['user', 'add', 'root'], { cwd: dir, stdin: PASSWORD })
    expect(stderr).toContain('pass --password-stdin')
    expect(code).toBe(2)
    expect(listTree(dir)).toEqual([])
  })

  test('uses the data folder of --config and of --data-dir', async () => {
    const dir = tempDir()
    writeFileSync(join(dir, 'pod.toml'), 'dataDir = "from-config"\n')
    expect((await runCli(['user', 'add', 'root', '--password-stdin', '--config', 'pod.toml'], { cwd: dir, stdin: PASSWORD })).code).toBe(0)
    expect(existsSync(join(dir, 'from-config', 'seedpod.db'))).toBe(true)
    expect((await runCli(['user', 'add', 'root', '--password-stdin', '--data-dir', 'other'], { cwd: dir, stdin: PASSWORD })).code).toBe(0)
    expect(existsSync(join(dir, 'other', 'seedpod.db'))).toBe(true)
  })
})

describe('seedpod systemd-unit', () => {
  test('prints a hardened unit that runs the pod as its own user', async () => {
    const { code, stdout } = await runCli(['systemd-unit'], { cwd: tempDir() })
    expect(code).toBe(0)
    const lines = stdout.split('\n')
    for (const line of [
      '[Service]',
      'User=seedpod',
      'ProtectSystem=strict',
      'ReadWritePaths=/var/lib/seedpod',
      'NoNewPrivileges=yes',
      'Restart=on-failure',
      'RestartPreventExitStatus=70 78',
      'ExecStart=/usr/local/bin/seedpod serve --config /etc/seedpod/seedpod.toml --data-dir /var/lib/seedpod --log-format json',
      'WantedBy=multi-user.target',
    ])
      expect(lines).toContain(line)
  })

  test('follows --user, --data-dir, and the data folder of --config', async () => {
    const dir = tempDir()
    const custom = await runCli(['systemd-unit', '--user', 'pods', '--data-dir', '/srv/pods'], { cwd: dir })
    expect(custom.stdout.split('\n')).toEqual(expect.arrayContaining(['User=pods', 'Group=pods', 'ReadWritePaths=/srv/pods']))
    writeFileSync(join(dir, 'pod.toml'), 'dataDir = "/srv/from-config"\n')
    const fromConfig = await runCli(['systemd-unit', '--config', 'pod.toml'], { cwd: dir })
    expect(fromConfig.stdout).toContain('ReadWritePaths=/srv/from-config\n')
    expect(fromConfig.stdout).toContain(`--config ${join(dir, 'pod.toml')} `)
  })
})

describe('seedpod serve', () => {
  /** Serves with the given arguments/environment, returns /api/v1/pod and the log, stops with SIGTERM. */
  async function serve(args: string[], opts: { env?: Record<string, string>; files?: Record<string, string> } = {}) {
    const dir = tempDir()
    for (const [name, text] of Object.entries(opts.files ?? {})) writeFileSync(join(dir, name), text)
    const port = await freePort()
    const child = spawnCli(['serve', '--host', '127.0.0.1', '--port', String(port), ...args], { cwd: dir, env: childEnv(opts.env) })
    try {
      const info = await waitForPod(`http://127.0.0.1:${port}`, child)
      child.proc.kill('SIGTERM')
      const code = await child.exit()
      return { info, code, stderr: child.stderr, dir }
    } finally {
      child.kill()
    }
  }

  test('takes the file, then SEEDPOD_* variables, then flags', async () => {
    const files = { 'pod.toml': 'name = "file"\nregistrations = "open"\nrequireLoginToWatch = true\n' }
    const env = { SEEDPOD_NAME: 'environment', SEEDPOD_REGISTRATIONS: 'closed', SEEDPOD_URL: 'https://pod.example/' }
    const { info } = await serve(['--config', 'pod.toml', '--name', 'flag'], { env, files })
    expect(info).toMatchObject({ name: 'flag', registrations: 'closed', requireLoginToWatch: true, url: 'https://pod.example' })
  })

  test('keeps its data in ./data by default, or in --data-dir', async () => {
    const plain = await serve([])
    expect(existsSync(join(plain.dir, 'data', 'seedpod.db'))).toBe(true)
    const other = await serve(['--data-dir', 'elsewhere'])
    expect(existsSync(join(other.dir, 'elsewhere', 'keys', 'pod.key'))).toBe(true)
    expect(existsSync(join(other.dir, 'data'))).toBe(false)
  })

  test('--log-format json writes one JSON object per line with time, level and event', async () => {
    const { stderr, info } = await serve(['--log-format', 'json'])
    const lines = stderr.trim().split('\n')
    const records = logLines(stderr)
    expect(records.length).toBe(lines.length)
    for (const r of records) {
      expect(typeof r.time).toBe('string')
      expect(['debug', 'info', 'warn', 'error']).toContain(r.level as string)
      expect(r.event).toMatch(/^[a-z]+(\.[a-z]+)+$/)
    }
    const started = records.find((r) => r.event === 'pod.started')
    expect(started).toMatchObject({ level: 'info', fingerprint: info.fingerprint })
    expect(records.map((r) => r.event)).toContain('pod.stopped')
  })

  test('--log-format pretty writes readable lines; when not a terminal, JSON is the default', async () => {
    const pretty = await serve(['--log-format', 'pretty'])
    const line = pretty.stderr.split('\n').find((l) => l.includes('pod.started'))
    expect(line).toMatch(/^\d\d:\d\d:\d\d\.\d{3} .*INFO.* pod\.started url=http:\/\/localhost:\d+ /)
    const auto = await serve([])
    expect(logLines(auto.stderr).map((r) => r.event)).toContain('pod.started')
  })

  test('--log-level warn leaves out info lines; debug adds debug lines', async () => {
    const quiet = await serve(['--log-level', 'warn', '--log-format', 'json'])
    expect(quiet.stderr.trim()).toBe('')
    const loud = await serve(['--log-level', 'debug', '--log-format', 'json'])
    const loaded = logLines(loud.stderr).find((r) => r.event === 'config.loaded')
    expect(loaded).toMatchObject({ level: 'debug', config: { port: expect.any(Number), log: { level: 'debug', format: 'json' } } })
  })
})
