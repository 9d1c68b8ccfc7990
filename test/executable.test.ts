/**
 * The compiled executable (built once, the way `npm run build` does it) runs from a bare
 * folder: copied there alone, run with that folder as cwd and a PATH without Bun. Where the
 * tests may make a mount namespace (root, `unshare`), the checkout itself (its node_modules
 * included) is hidden from the executable too, as on a server that never had it.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { chmodSync, copyFileSync, existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import pkg from '../package.json'
import { makeClip } from './helpers/clips'
import { until } from './helpers/network'
import { BUN, Child, listTree, logLines, removeTempDirs, ROOT, tempDir, waitForPod } from './helpers/pods'
import { freePort } from './helpers/ports'
import { uploadVideo } from './helpers/videos'

afterAll(removeTempDirs)
// Real processes on a shared machine: far more than they need, never a timing assertion.
setDefaultTimeout(60_000)

/** A PATH with the usual system folders and not Bun's. */
const BARE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'

/** The executable, copied alone into a folder of its own. */
let bare: { dir: string; exe: string }

beforeAll(async () => {
  const built = join(tempDir('seedpod-build-'), 'seedpod')
  const build = Bun.spawn([BUN, join(ROOT, 'src', 'app', 'build.ts'), '--outfile', built], { cwd: ROOT, stdout: 'pipe', stderr: 'pipe' })
  const [code, stderr] = await Promise.all([build.exited, new Response(build.stderr).text()])
  if (code !== 0) throw new Error(`build failed (${code}):\n${stderr}`)
  const dir = tempDir('seedpod-bare-')
  bare = { dir, exe: join(dir, 'seedpod') }
  copyFileSync(built, bare.exe)
  chmodSync(bare.exe, 0o755)
}, 120_000)

/**
 * Whether `unshare` can run a command in a private mount namespace here, where an empty
 * tmpfs mounted over the checkout hides it (and its node_modules) from that command alone.
 */
const canHideCheckout =
  process.platform === 'linux' &&
  Bun.which('unshare') !== null &&
  Bun.spawnSync(['unshare', '-m', '--propagation', 'private', 'sh', '-c', `mount -t tmpfs none ${ROOT} && test -z "$(ls -A ${ROOT})"`], {
    stdout: 'ignore',
    stderr: 'ignore',
  }).exitCode === 0

/** Runs the executable with a bare PATH, in `cwd`, with the checkout hidden when possible. */
function run(exe: string, args: string[], cwd: string, stdin?: string, extraEnv: Record<string, string> = {}): Child {
  const env = { PATH: BARE_PATH, HOME: cwd, ...extraEnv }
  if (!canHideCheckout) return new Child([exe, ...args], { cwd, env, stdin })
  // unshare and sh both exec: the executable keeps the child's pid and gets its signals.
  const script = `mount -t tmpfs none '${ROOT}' && exec "$@"`
  return new Child(['unshare', '-m', '--propagation', 'private', 'sh', '-c', script, 'sh', exe, ...args], { cwd, env, stdin })
}

describe('the executable', () => {
  test('the bare folder really has no Bun and no node_modules to lean on', () => {
    expect(Bun.which('bun', { PATH: BARE_PATH })).toBeNull()
    expect(listTree(bare.dir)).toEqual(['seedpod'])
    for (let d = bare.dir; d !== '/'; d = dirname(d)) expect(existsSync(join(d, 'node_modules'))).toBe(false)
    if (!canHideCheckout) console.warn(`cannot hide ${ROOT} from the executable here (needs root and unshare): it stays visible`)
  })

  test('serves /api/v1/pod from a bare folder, keeps its data in ./data, and exits 0 on SIGTERM', async () => {
    const { dir, exe } = bare
    const port = await freePort()
    const child = run(exe, ['serve', '--host', '127.0.0.1', '--port', String(port), '--log-format', 'json'], dir)
    try {
      const info = await waitForPod(`http://127.0.0.1:${port}`, child)
      expect(info.software).toEqual({ name: 'seedpod', version: pkg.version })
      expect(info.url).toBe(`http://localhost:${port}`)
      expect(existsSync(join(dir, 'data', 'keys', 'pod.key'))).toBe(true)
      child.proc.kill('SIGTERM')
      expect(await child.exit()).toBe(0)
      expect(logLines(child.stderr).map((r) => r.event)).toEqual(expect.arrayContaining(['identity.created', 'pod.started', 'pod.stopped']))
      // Nothing but log lines: no warning from a dependency missing what it looked for.
      expect(child.stderr.trim().split('\n').filter((l) => !l.startsWith('{"time":'))).toEqual([])
    } finally {
      child.kill()
    }
  })

  test('runs the other commands too: --version, init, a config error (78), systemd-unit naming itself', async () => {
    // Another empty folder as the working directory, the executable called by its path.
    const dir = tempDir()
    const { exe } = bare
    const version = run(exe, ['--version'], dir)
    expect(await version.exit()).toBe(0)
    expect(version.stdout.trim()).toBe(pkg.version)

    const init = run(exe, ['init', 'seedpod.toml'], dir)
    expect(await init.exit()).toBe(0)
    expect(existsSync(join(dir, 'seedpod.toml'))).toBe(true)

    const bad = run(exe, ['serve', '--config', 'seedpod.toml', '--port', 'ninety'], dir)
    expect(await bad.exit()).toBe(78)
    expect(bad.stderr).toContain('command line: port = "ninety" is not valid')
    expect(existsSync(join(dir, 'data'))).toBe(false)

    const unit = run(exe, ['systemd-unit'], dir)
    expect(await unit.exit()).toBe(0)
    expect(unit.stdout).toContain(`ExecStart=${exe} serve --config /etc/seedpod/seedpod.toml`)
  })

  test('loads what it loads at first use from inside itself: takes an upload, tracks it and seeds it over TCP', async () => {
    // The executable keeps uploads (busboy), torrent making, the tracker and webtorrent in
    // modules of their own, loaded when first needed (src/app/lazy.ts): each is used here.
    const dir = tempDir()
    const add = run(bare.exe, ['user', 'add', 'alice', '--password-stdin', '--data-dir', 'data'], dir, 'correct horse battery staple\n')
    expect(await add.exit()).toBe(0)
    const port = await freePort()
    const child = run(bare.exe, ['serve', '--host', '127.0.0.1', '--port', String(port), '--data-dir', 'data', '--log-format', 'json', '--log-level', 'debug'], dir)
    try {
      const base = `http://127.0.0.1:${port}`
      await waitForPod(base, child)
      const login = await fetch(`${base}/api/v1/auth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'alice', password: 'correct horse battery staple' }),
      })
      const { accessToken } = (await login.json()) as { accessToken: string }
      const res = await uploadVideo(base, accessToken, { file: Bun.file(await makeClip(dir)), name: 'From the executable' })
      expect(res.status).toBe(201)
      const video = (await res.json()) as { infoHash: string; magnetUri: string }
      expect(video.magnetUri).toContain(`xt=urn:btih:${video.infoHash}`)
      // A leecher announces: the tracker answers, and the pod starts seeding the video over TCP.
      const infoHash = Array.from(Buffer.from(video.infoHash, 'hex'), (b) => `%${b.toString(16).padStart(2, '0')}`).join('')
      const announce = await fetch(`${base}/tracker/announce?info_hash=${infoHash}&peer_id=-SP0001-abcdefghijkl&port=6881&uploaded=0&downloaded=0&left=100&compact=1&event=started`)
      expect(Buffer.from(await announce.arrayBuffer()).toString('latin1')).toContain('8:interval')
      await until(() => logLines(child.stderr).some((l) => l.event === 'seeder.seeding' && l.infoHash === video.infoHash), 10_000, 'seeding over TCP')
      child.proc.kill('SIGTERM')
      expect(await child.exit()).toBe(0)
      expect(logLines(child.stderr).filter((l) => l.level === 'error')).toEqual([])
      expect(child.stderr.trim().split('\n').filter((l) => !l.startsWith('{"time":'))).toEqual([])
    } finally {
      child.kill()
    }
  })

  test('is the transcoding runner too: token, register and serve, with the pod leaving its job to it', async () => {
    const dir = tempDir()
    const port = await freePort()
    const base = `http://127.0.0.1:${port}`
    const env = { SEEDPOD_TRANSCODING_LOCAL: 'false', SEEDPOD_TRANSCODING_RESOLUTIONS: '240', SEEDPOD_NETWORK_ALLOW_PRIVATE_ADDRESSES: 'true' }
    const add = run(bare.exe, ['user', 'add', 'alice', '--password-stdin', '--data-dir', 'pod'], dir, 'correct horse battery staple\n', env)
    expect(await add.exit()).toBe(0)
    const pod = run(bare.exe, ['serve', '--host', '127.0.0.1', '--port', String(port), '--url', base, '--data-dir', 'pod', '--log-format', 'json'], dir, undefined, env)
    let runner: Child | undefined
    try {
      await waitForPod(base, pod)
      const token = run(bare.exe, ['runner', 'token', 'create', 'bare', '--data-dir', 'pod'], dir, undefined, env)
      expect(await token.exit()).toBe(0)
      const register = run(bare.exe, ['runner', 'register', '--pod', base, '--token', token.stdout.trim(), '--data-dir', 'runner'], dir)
      expect(await register.exit()).toBe(0)
      runner = run(bare.exe, ['runner', 'serve', '--data-dir', 'runner', '--poll-ms', '100', '--log-format', 'json'], dir)
      const login = await fetch(`${base}/api/v1/auth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'alice', password: 'correct horse battery staple' }) })
      const { accessToken } = (await login.json()) as { accessToken: string }
      const res = await uploadVideo(base, accessToken, { file: Bun.file(await makeClip(dir, { size: '640x360' })), name: 'For the runner' })
      const video = (await res.json()) as { id: string }
      await until(async () => ((await (await fetch(`${base}/api/v1/videos/${video.id}`)).json()) as { files: { resolution: number }[] }).files?.length === 1, 30_000, 'the runner\'s rendition')
      expect(logLines(runner.stderr).map((l) => l.event)).toEqual(expect.arrayContaining(['runner.started', 'runner.job.started', 'runner.job.done']))
      runner.proc.kill('SIGTERM')
      expect(await runner.exit()).toBe(0)
    } finally {
      runner?.kill()
      pod.kill()
    }
  })

  test('ignores a .env and a bunfig.toml in the folder it starts in', async () => {
    const dir = tempDir()
    await Bun.write(join(dir, '.env'), 'SEEDPOD_PORT=not-a-port\n')
    await Bun.write(join(dir, 'bunfig.toml'), 'preload = ["./missing-preload.ts"]\n')
    const port = await freePort()
    const child = run(bare.exe, ['serve', '--host', '127.0.0.1', '--port', String(port), '--log-format', 'json'], dir)
    try {
      await waitForPod(`http://127.0.0.1:${port}`, child)
      child.proc.kill('SIGTERM')
      expect(await child.exit()).toBe(0)
    } finally {
      child.kill()
    }
  })
})
