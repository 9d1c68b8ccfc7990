/**
 * `npm run release` (src/app/release.ts), for the one target the tests can run: the linux-arm64
 * executable (a Raspberry Pi's), cross-compiled here and started under qemu-user (Debian
 * `qemu-user-static`, with the arm64 C library of `libc6-arm64-cross`; .ci/run installs
 * both). Its Bun runtime comes from the npm registry the first time and from Bun's cache
 * after. The other six targets are made the same way by `npm run release`; building them all
 * here would only add minutes.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import pkg from '../package.json'
import { BUN, Child, logLines, removeTempDirs, ROOT, tempDir, waitForPod } from './helpers/pods'
import { freePort } from './helpers/ports'

afterAll(removeTempDirs)
// A cross-build and a pod emulated on another CPU: far more than they need, never a timing assertion.
setDefaultTimeout(120_000)

/** qemu-user and where its arm64 programs find their C library (libc6-arm64-cross). */
const QEMU = 'qemu-aarch64-static'
const ARM64_SYSROOT = '/usr/aarch64-linux-gnu'

const EXE = `seedpod-${pkg.version}-linux-arm64`
let outdir: string

beforeAll(async () => {
  outdir = tempDir('seedpod-release-')
  const build = Bun.spawn([BUN, join(ROOT, 'src', 'app', 'release.ts'), '--outdir', outdir, '--target', 'linux-arm64'], { cwd: ROOT, stdout: 'pipe', stderr: 'pipe' })
  const [code, stdout, stderr] = await Promise.all([build.exited, new Response(build.stdout).text(), new Response(build.stderr).text()])
  if (code !== 0) throw new Error(`release failed (${code}):\n${stdout}\n${stderr}`)
}, 180_000)

/** Runs the arm64 executable under qemu in `cwd`, with a PATH that has no Bun. */
function emulated(args: string[], cwd: string): Child {
  const env = { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: cwd, QEMU_LD_PREFIX: ARM64_SYSROOT }
  return new Child([QEMU, join(outdir, EXE), ...args], { cwd, env })
}

describe('npm run release', () => {
  test('writes the executable and a SHA256SUMS that sha256sum -c accepts, and nothing else', async () => {
    expect(readdirSync(outdir).sort()).toEqual(['SHA256SUMS', EXE])
    expect(readFileSync(join(outdir, 'SHA256SUMS'), 'utf8')).toMatch(new RegExp(`^[0-9a-f]{64}  ${EXE}\n$`))
    const check = Bun.spawnSync(['sha256sum', '-c', 'SHA256SUMS'], { cwd: outdir })
    expect(check.stdout.toString()).toBe(`${EXE}: OK\n`)
    expect(check.exitCode).toBe(0)
    // An ELF executable for the 64-bit ARM (e_machine 183, EM_AARCH64).
    const head = new Uint8Array(await Bun.file(join(outdir, EXE)).slice(0, 20).arrayBuffer())
    expect([...head.slice(0, 4)]).toEqual([0x7f, 0x45, 0x4c, 0x46])
    expect(new DataView(head.buffer).getUint16(18, true)).toBe(183)
  })

  test('the linux-arm64 executable runs under qemu: --version, and a pod that answers GET /api/v1/pod and stops on SIGTERM', async () => {
    expect(Bun.which(QEMU)).not.toBeNull()
    const dir = tempDir()
    const version = emulated(['--version'], dir)
    expect(await version.exit(60_000)).toBe(0)
    expect(version.stdout.trim()).toBe(pkg.version)

    const port = await freePort()
    const pod = emulated(['serve', '--host', '127.0.0.1', '--port', String(port), '--log-format', 'json'], dir)
    try {
      const info = await waitForPod(`http://127.0.0.1:${port}`, pod, 90_000)
      expect(info.software).toEqual({ name: 'seedpod', version: pkg.version })
      // The app behind it is there too (the database, the pages embedded in the executable).
      expect((await fetch(`http://127.0.0.1:${port}/api/v1/health`)).status).toBe(200)
      expect((await fetch(`http://127.0.0.1:${port}/`)).headers.get('content-type')).toContain('text/html')
      pod.proc.kill('SIGTERM')
      expect(await pod.exit(60_000)).toBe(0)
      expect(logLines(pod.stderr).map((l) => l.event)).toEqual(expect.arrayContaining(['pod.started', 'pod.stopped']))
      expect(logLines(pod.stderr).filter((l) => l.level === 'error')).toEqual([])
    } finally {
      pod.kill()
    }
  })
})
