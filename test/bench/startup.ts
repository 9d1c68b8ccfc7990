/**
 * Start-up benchmark: the compiled pod (dist/seedpod, built here the way `npm run build`
 * builds it) against a minimal Elysia hello-world compiled the same way, in the same run.
 *  1. time from exec to the first 200 answer of GET /api/v1/pod (goal: seedpod <= 1.5x the
 *     hello-world's), on a restart (data folder with its key) and on a first start (which
 *     also makes the pod's RSA key);
 *  2. resident memory after a second of idling (goal: seedpod <= 120 MB).
 * The pod answers `/api/v1/pod` as soon as it listens, before its database, actors and app
 * are built (src/app/listen.ts); so the time to the first answer of a route that needs all
 * of them (`GET /api/v1/videos`) is measured too, and printed beside it (no goal).
 * Several runs, interleaved, median reported; a warm-up run of each first (page cache).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { compileExecutable, ENTRYPOINT } from '../../src/app/build'
import { freePort } from '../helpers/ports'

const RUNS = 9
const IDLE_MS = 1000
const GOAL_START_RATIO = 1.5
const GOAL_RSS_MB = 120

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

/** Resident set size of a process, in MB, from /proc. */
function rssMB(pid: number): number {
  const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+) kB/m)
  if (!m) throw new Error(`no VmRSS for ${pid}`)
  return Number(m[1]) / 1024
}

/**
 * Starts `cmd`; returns ms until GET /api/v1/pod answers 200, then until `appPath` does (when
 * given), and the RSS after idling; then stops it.
 */
async function measure(cmd: string[], port: number, cwd: string, appPath?: string): Promise<{ startMs: number; appMs: number; rss: number }> {
  const t0 = performance.now()
  const proc = Bun.spawn(cmd, { cwd, stdout: 'ignore', stderr: 'pipe', env: { PATH: '/usr/bin:/bin', HOME: cwd } })
  const answered = async (path: string) => {
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`${cmd.join(' ')} exited ${proc.exitCode}: ${await new Response(proc.stderr).text()}`)
      try {
        const res = await fetch(`http://127.0.0.1:${port}${path}`)
        if (res.status === 200) {
          await res.arrayBuffer()
          return performance.now() - t0
        }
      } catch {
        // not listening yet
      }
      if (performance.now() - t0 > 20_000) throw new Error(`${cmd.join(' ')} did not answer ${path} within 20 s`)
      await Bun.sleep(1)
    }
  }
  try {
    const startMs = await answered('/api/v1/pod')
    const appMs = appPath ? await answered(appPath) : startMs
    await Bun.sleep(IDLE_MS)
    return { startMs, appMs, rss: rssMB(proc.pid) }
  } finally {
    proc.kill('SIGTERM')
    await proc.exited
  }
}

export async function run(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'seedpod-bench-startup-'))
  try {
    const seedpod = join(dir, 'seedpod')
    const hello = join(dir, 'hello-elysia')
    await compileExecutable(ENTRYPOINT, seedpod)
    await compileExecutable(join(import.meta.dir, 'fixtures', 'hello-elysia.ts'), hello)

    const restartDir = join(dir, 'restart')
    const serve = (port: number, data: string) => [seedpod, 'serve', '--host', '127.0.0.1', '--port', String(port), '--data-dir', data, '--log-format', 'json']
    // Warm-up (page cache for both 100 MB executables); also gives the restart folder its key.
    {
      const port = await freePort()
      await measure(serve(port, restartDir), port, dir)
      const hp = await freePort()
      await measure([hello, String(hp)], hp, dir)
    }

    const results = { hello: [] as number[], restart: [] as number[], first: [] as number[], restartApp: [] as number[], helloRss: [] as number[], restartRss: [] as number[], firstRss: [] as number[] }
    for (let i = 0; i < RUNS; i++) {
      let port = await freePort()
      const h = await measure([hello, String(port)], port, dir)
      port = await freePort()
      const r = await measure(serve(port, restartDir), port, dir, '/api/v1/videos')
      port = await freePort()
      const f = await measure(serve(port, join(dir, `first-${i}`)), port, dir)
      results.hello.push(h.startMs)
      results.helloRss.push(h.rss)
      results.restart.push(r.startMs)
      results.restartApp.push(r.appMs)
      results.restartRss.push(r.rss)
      results.first.push(f.startMs)
      results.firstRss.push(f.rss)
    }

    const ms = (x: number) => `${x.toFixed(1)} ms`.padStart(9)
    const mb = (x: number) => `${x.toFixed(1)} MB`.padStart(9)
    const all = (xs: number[], f: (x: number) => string) => xs.map((x) => f(x).trim()).join(', ')
    const hs = median(results.hello)
    const verdict = (ok: boolean) => (ok ? 'goal met' : 'GOAL MISSED')
    console.log(`startup: exec to first 200 of GET /api/v1/pod, median of ${RUNS} runs`)
    console.log(`  hello-world (Elysia, compiled) ${ms(hs)}            (runs: ${all(results.hello, ms)})`)
    for (const [label, xs] of [['seedpod, restart      ', results.restart], ['seedpod, first start  ', results.first]] as const) {
      const m = median(xs)
      const ratio = m / hs
      console.log(`  ${label}         ${ms(m)}  ${ratio.toFixed(2)}x  (goal <= ${GOAL_START_RATIO}x: ${verdict(ratio <= GOAL_START_RATIO)})  (runs: ${all(xs, ms)})`)
    }
    const app = median(results.restartApp)
    console.log(`  seedpod, restart, first 200 of GET /api/v1/videos (database and app): ${ms(app).trim()} = ${(app / hs).toFixed(2)}x  (runs: ${all(results.restartApp, ms)})`)
    console.log(`idle RSS after ${IDLE_MS} ms, median of ${RUNS} runs`)
    const hr = median(results.helloRss)
    console.log(`  hello-world (Elysia, compiled) ${mb(hr)}`)
    for (const [label, xs] of [['seedpod, restart      ', results.restartRss], ['seedpod, first start  ', results.firstRss]] as const) {
      const m = median(xs)
      console.log(`  ${label}         ${mb(m)}  ${(m / hr).toFixed(2)}x  (goal <= ${GOAL_RSS_MB} MB: ${verdict(m <= GOAL_RSS_MB)})`)
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

if (import.meta.main) await run()
