/**
 * Benchmark: web-seed range throughput of `serveFile` (Bun.serve) against nginx with
 * sendfile, serving the same 256 MiB file to the same client (Bun's fetch) over loopback.
 *
 * Each server runs in its own process (ours is this file started with `--serve FILE`), so the
 * client competes with neither; both get one core's worth of workers (nginx
 * `worker_processes 1`, Bun's single event loop), so the ratio compares the servers, not the
 * core counts. Patterns: 64 sequential 4 MiB ranges (one web-seed connection streaming a
 * video), and 4 concurrent streams of 16 x 4 MiB (several peers at once). Each pattern runs
 * once to warm the page cache and connections, then 5 times per server, alternating, and the
 * median counts.
 *
 * `bun test/bench/webseed.ts` runs it; test/bench/run.ts imports `run`.
 */
import { chmodSync, existsSync, readFileSync, mkdirSync, mkdtempSync, openSync, closeSync, rmSync, writeFileSync, writeSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { serveFile } from '../../src/torrents/webseed'

const NGINX = '/usr/sbin/nginx'
const MiB = 1024 * 1024
const FILE_SIZE = 256 * MiB
const RANGE_SIZE = 4 * MiB
const RUNS = 5
const GOAL = 0.8

/** The server half: started by `run` as a child process, prints its port, serves until killed. */
function serve(file: string): void {
  const server = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    fetch: (req) => serveFile(req, file, { contentType: 'video/mp4' }),
  })
  console.log(`PORT ${server.port}`)
}

/** A free loopback port for nginx (closed again right away; a race here is harmless in a bench). */
function freePort(): number {
  const l = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } })
  const port = l.port
  l.stop(true)
  return port
}

async function waitUntilUp(url: string, what: string, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs
  let last = 'no answer'
  for (;;) {
    try {
      const r = await fetch(url, { method: 'HEAD' })
      if (r.ok) return
      last = `HTTP ${r.status}`
    } catch (e) {
      last = String(e) // not listening yet
    }
    if (Date.now() > until) throw new Error(`${what} did not come up at ${url} (${last})`)
    await Bun.sleep(50)
  }
}

/** Fetches one range and counts its bytes without keeping them (the client should cost little). */
async function fetchRange(url: string, start: number, length: number): Promise<number> {
  const r = await fetch(url, { headers: { Range: `bytes=${start}-${start + length - 1}` } })
  if (r.status !== 206) throw new Error(`${url}: expected 206, got ${r.status}`)
  let n = 0
  const reader = r.body!.getReader()
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    n += value.byteLength
  }
  if (n !== length) throw new Error(`${url}: got ${n} bytes for a ${length}-byte range`)
  return n
}

/** `streams` concurrent readers, each fetching its share of the file as sequential ranges; returns seconds. */
async function pattern(url: string, streams: number): Promise<number> {
  const perStream = FILE_SIZE / streams / RANGE_SIZE
  const t0 = performance.now()
  await Promise.all(
    Array.from({ length: streams }, async (_, s) => {
      for (let i = 0; i < perStream; i++) await fetchRange(url, (s * perStream + i) * RANGE_SIZE, RANGE_SIZE)
    }),
  )
  return (performance.now() - t0) / 1000
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const mbps = (seconds: number) => FILE_SIZE / 1e6 / seconds

/** Runs the benchmark and prints one line per pattern plus a summary line. */
export async function run(): Promise<void> {
  if (!existsSync(NGINX)) {
    console.log('webseed: skipped: nginx not installed')
    return
  }
  const dir = mkdtempSync(join(tmpdir(), 'seedpod-bench-webseed-'))
  // Started as root, nginx's workers switch to "nobody": they must be able to enter the
  // (mkdtemp's 0700) folder and read the file.
  chmodSync(dir, 0o755)
  const www = join(dir, 'www')
  mkdirSync(www, { mode: 0o755 })
  const file = join(www, 'video.mp4')
  // Random content (one 8 MiB block repeated), written in blocks: never 256 MiB in memory.
  const block = randomBytes(8 * MiB)
  const fd = openSync(file, 'w')
  for (let written = 0; written < FILE_SIZE; written += block.length) writeSync(fd, block)
  closeSync(fd)

  const nginxPort = freePort()
  // Every path nginx may write is inside dir: it runs without root's /var/lib/nginx and /var/log.
  writeFileSync(
    join(dir, 'nginx.conf'),
    `daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log;
events { worker_connections 256; }
http {
  access_log off;
  sendfile on;
  default_type application/octet-stream;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  server { listen 127.0.0.1:${nginxPort}; root ${www}; }
}
`,
  )
  const nginx = Bun.spawn([NGINX, '-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')], {
    stdin: 'ignore', stdout: 'ignore', stderr: 'pipe',
  })
  const ours = Bun.spawn([process.execPath, import.meta.path, '--serve', file], { stdin: 'ignore', stdout: 'pipe', stderr: 'inherit' })
  try {
    const oursPort = await readPort(ours.stdout)
    const urls = { seedpod: `http://127.0.0.1:${oursPort}/video.mp4`, nginx: `http://127.0.0.1:${nginxPort}/video.mp4` }
    await waitUntilUp(urls.seedpod, 'seedpod')
    await waitUntilUp(urls.nginx, 'nginx').catch((e: Error) => {
      const log = existsSync(join(dir, 'error.log')) ? readFileSync(join(dir, 'error.log'), 'utf8').trim() : ''
      throw new Error(`${e.message}${log ? `; nginx error.log: ${log.slice(-1000)}` : ''}`)
    })

    const patterns = [
      { label: `sequential (${FILE_SIZE / RANGE_SIZE} x 4 MiB ranges)`, streams: 1 },
      { label: `concurrent (4 streams x ${FILE_SIZE / RANGE_SIZE / 4} x 4 MiB)`, streams: 4 },
    ]
    const total = { seedpod: 0, nginx: 0 }
    for (const p of patterns) {
      await pattern(urls.seedpod, p.streams) // warm-up: page cache, connections, JIT
      await pattern(urls.nginx, p.streams)
      const times = { seedpod: [] as number[], nginx: [] as number[] }
      for (let i = 0; i < RUNS; i++) {
        // Alternate who goes first so drift (thermal, other load) hits both alike.
        const order = i % 2 === 0 ? (['seedpod', 'nginx'] as const) : (['nginx', 'seedpod'] as const)
        for (const who of order) times[who].push(await pattern(urls[who], p.streams))
      }
      const ourTime = median(times.seedpod)
      const theirTime = median(times.nginx)
      total.seedpod += ourTime
      total.nginx += theirTime
      console.log(line(`webseed ${p.label}`, mbps(ourTime), mbps(theirTime)))
    }
    // The summary weighs both patterns equally: same bytes each, so total bytes over total time.
    console.log(line('webseed', (2 * FILE_SIZE) / 1e6 / total.seedpod, (2 * FILE_SIZE) / 1e6 / total.nginx))
  } finally {
    ours.kill()
    nginx.kill()
    await Promise.all([ours.exited, nginx.exited])
    rmSync(dir, { recursive: true, force: true })
  }
}

function line(label: string, ours: number, nginx: number): string {
  const ratio = ours / nginx
  return `${label}: seedpod ${ours.toFixed(0)} MB/s, nginx ${nginx.toFixed(0)} MB/s, ratio ${ratio.toFixed(2)} (goal >= ${GOAL})${ratio >= GOAL ? '' : ' BELOW GOAL'}`
}

/** Reads the child's "PORT n" line. */
async function readPort(stdout: ReadableStream<Uint8Array>): Promise<number> {
  const reader = stdout.getReader()
  let text = ''
  const decoder = new TextDecoder()
  const until = Date.now() + 10_000
  while (Date.now() < until) {
    const { done, value } = await reader.read()
    if (done) break
    text += decoder.decode(value, { stream: true })
    const m = /PORT (\d+)/.exec(text)
    if (m) {
      reader.releaseLock()
      return Number(m[1])
    }
  }
  throw new Error(`the seedpod bench server did not report its port (said: ${text.trim()})`)
}

if (import.meta.main) {
  const i = process.argv.indexOf('--serve')
  if (i >= 0 && process.argv[i + 1]) serve(process.argv[i + 1]!)
  else await run()
}
