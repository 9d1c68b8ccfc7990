/**
 * Tracker throughput: announces per second against seedpod's tracker (bittorrent-tracker's
 * logic mounted on Elysia/Bun, `src/torrents/`) and against bittorrent-tracker's own
 * standalone server on Node, with the same load generator.
 *
 * Both servers run as child processes, so neither shares an event loop with the load
 * generator (this process). Same filter in both (a Set lookup, as the pod's is), same
 * workload: a steady population of peers (16 videos x 50 peers, distinct peer ids and ports)
 * re-announcing over and over, so every HTTP answer carries a ~50-peer compact list, as a
 * pod with moderately popular videos would see.
 *
 * `bun test/bench/tracker.ts` runs it; `run()` is what test/bench/run.ts calls.
 * `bun test/bench/tracker.ts --serve` is the seedpod child (prints its port, serves until killed).
 */
import { join } from 'node:path'
import type { Subprocess } from 'bun'

const ROOT = join(import.meta.dir, '..', '..')
/** Infohashes the servers accept (hex). Fixed, so both children agree without talking. */
const INFO_HASHES = Array.from({ length: 16 }, (_, i) => new Bun.CryptoHasher('sha1').update(`bench-${i}`).digest('hex'))
const PEERS_PER_SWARM = 50
const HTTP_CONCURRENCY = 32
const HTTP_ANNOUNCES = 10_000
const HTTP_WARMUP = 1_000
const WS_SOCKETS = 32
const WS_ANNOUNCES = 10_000

/** bittorrent-tracker standalone: its own http + ws servers, as `bittorrent-tracker` the CLI would run it. */
const NODE_SERVER = `
import { Server } from 'bittorrent-tracker'
const allowed = new Set(${JSON.stringify(INFO_HASHES)})
const server = new Server({ udp: false, http: true, ws: true, stats: false,
  filter: (infoHash, params, cb) => cb(allowed.has(infoHash) ? null : new Error('infohash not served by this pod')) })
server.on('warning', () => {})
server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: server.http.address().port })))
process.stdin.on('end', () => process.exit(0)).resume()
`

/** The seedpod child: the real module and plugin on an Elysia app, nothing else. */
async function serve(): Promise<void> {
  const { Elysia } = await import('elysia')
  const { createLogger } = await import('../../src/shared/log')
  const { createTracker } = await import('../../src/torrents/tracker')
  const { trackerRoutes } = await import('../../src/torrents/tracker-routes')
  const allowed = new Set(INFO_HASHES)
  // Upstream's standalone server shares nothing out: neither does this one (the bookkeeping runs, never a limit).
  const tracker = createTracker({ isAllowed: (h) => allowed.has(h), trustProxy: false, log: createLogger({ level: 'error', format: 'json' }), peersPerAddress: 1000, announcesPerMinute: 1_000_000 })
  const app = new Elysia().use(trackerRoutes(tracker)).listen({ hostname: '127.0.0.1', port: 0 })
  console.log(JSON.stringify({ port: app.server!.port }))
  exitWithParent()
}

/** Children end when the bench closes their stdin, or dies without doing so: never an orphan server. */
function exitWithParent(): void {
  process.stdin.on('end', () => process.exit(0)).resume()
}

/** Starts a child that prints `{"port":N}` on its first line; resolves once it has. */
async function startChild(cmd: string[]): Promise<{ proc: Subprocess<'pipe', 'pipe', 'inherit'>; port: number }> {
  const proc = Bun.spawn(cmd, { cwd: ROOT, stdin: 'pipe', stdout: 'pipe', stderr: 'inherit' })
  const reader = proc.stdout.getReader()
  let text = ''
  const deadline = setTimeout(() => proc.kill(), 10_000)
  try {
    while (!text.includes('\n')) {
      const { value, done } = await reader.read()
      if (done) throw new Error(`${cmd.join(' ')} exited before listening`)
      text += new TextDecoder().decode(value)
    }
  } finally {
    clearTimeout(deadline)
    reader.releaseLock()
  }
  return { proc, port: JSON.parse(text.slice(0, text.indexOf('\n'))).port }
}

const pct = (b: Uint8Array) => Array.from(b, (x) => '%' + x.toString(16).padStart(2, '0')).join('')
const bin = (b: Uint8Array) => String.fromCharCode(...b)
const hexBytes = (h: string) => Uint8Array.from(Buffer.from(h, 'hex'))

/**
 * Announce query strings, made up front so the loop measures the server, not URL building:
 * the peer population's first announces (`started`), then plain re-announces.
 */
function httpQueries(n: number): string[] {
  const population = INFO_HASHES.length * PEERS_PER_SWARM
  const peers = Array.from({ length: population }, (_, p) => ({
    peerId: pct(crypto.getRandomValues(new Uint8Array(20))),
    infoHash: pct(hexBytes(INFO_HASHES[p % INFO_HASHES.length]!)),
    port: 10_000 + p,
    left: p % 3 === 0 ? 0 : 1000,
  }))
  return Array.from({ length: n }, (_, i) => {
    const p = peers[i % population]!
    const event = i < population ? '&event=started' : ''
    return `?info_hash=${p.infoHash}&peer_id=${p.peerId}&port=${p.port}&uploaded=0&downloaded=0&left=${p.left}${event}&compact=1&numwant=50`
  })
}

/** Runs `queries` through `concurrency` sequential fetch loops; announces per second. */
async function httpLoad(url: string, queries: string[], concurrency: number): Promise<number> {
  let next = 0
  let failures = 0
  const start = performance.now()
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < queries.length) {
        const res = await fetch(url + queries[next++]!)
        const body = new Uint8Array(await res.arrayBuffer())
        // 'd8:complete' starts every successful answer; a failure starts 'd14:failure'.
        if (body[3] !== 0x63) failures++
      }
    }),
  )
  const seconds = (performance.now() - start) / 1000
  if (failures) throw new Error(`${failures} HTTP announces failed against ${url}`)
  return queries.length / seconds
}

/** `sockets` WebSockets, each announcing (numwant 0, as a seeder with no offers) and awaiting the answer, in turn. */
async function wsLoad(url: string, total: number, sockets: number): Promise<number> {
  const conns = await Promise.all(
    Array.from({ length: sockets }, () => {
      const ws = new WebSocket(url)
      return new Promise<WebSocket>((resolve, reject) => {
        ws.onopen = () => resolve(ws)
        ws.onerror = () => reject(new Error(`cannot connect to ${url}`))
      })
    }),
  )
  let sent = 0
  let failures = 0
  const start = performance.now()
  await Promise.all(
    conns.map(
      (ws, k) =>
        new Promise<void>((resolve) => {
          const peerId = bin(crypto.getRandomValues(new Uint8Array(20)))
          const infoHash = bin(hexBytes(INFO_HASHES[k % INFO_HASHES.length]!))
          const send = () => {
            if (sent >= total) return resolve()
            const event = sent++ < sockets ? 'started' : 'update'
            ws.send(JSON.stringify({ action: 'announce', info_hash: infoHash, peer_id: peerId, numwant: 0, uploaded: 0, downloaded: 0, left: 0, event, offers: [] }))
          }
          ws.onmessage = (e) => {
            if (String(e.data).includes('failure reason')) failures++
            send()
          }
          send()
        }),
    ),
  )
  const seconds = (performance.now() - start) / 1000
  for (const ws of conns) ws.close()
  if (failures) throw new Error(`${failures} WebSocket announces failed against ${url}`)
  return total / seconds
}

/** Runs the bench against both servers and prints one line per transport. */
export async function run(): Promise<void> {
  const children: Subprocess[] = []
  try {
    const seedpod = await startChild([process.execPath, import.meta.path, '--serve'])
    children.push(seedpod.proc)
    const node = await startChild(['node', '--input-type=module', '-e', NODE_SERVER])
    children.push(node.proc)
    const targets = [
      { name: 'seedpod', announce: `http://127.0.0.1:${seedpod.port}/tracker/announce`, socket: `ws://127.0.0.1:${seedpod.port}/tracker/socket` },
      { name: 'node', announce: `http://127.0.0.1:${node.port}/announce`, socket: `ws://127.0.0.1:${node.port}` },
    ]
    const best = { seedpod: { http: 0, ws: 0 }, node: { http: 0, ws: 0 } } as Record<string, { http: number; ws: number }>
    // Two alternating rounds, best of each: evens out JIT warm-up and machine noise.
    for (let round = 0; round < 2; round++) {
      for (const t of targets) {
        await httpLoad(t.announce, httpQueries(HTTP_WARMUP), HTTP_CONCURRENCY)
        const http = await httpLoad(t.announce, httpQueries(HTTP_ANNOUNCES), HTTP_CONCURRENCY)
        const ws = await wsLoad(t.socket, WS_ANNOUNCES, WS_SOCKETS)
        best[t.name]!.http = Math.max(best[t.name]!.http, http)
        best[t.name]!.ws = Math.max(best[t.name]!.ws, ws)
      }
    }
    const line = (what: string, a: number, b: number) =>
      console.log(`${what}: seedpod ${Math.round(a)}/s, standalone node ${Math.round(b)}/s, ratio ${(a / b).toFixed(2)} (goal >= 1)`)
    line('tracker', best.seedpod!.http, best.node!.http)
    line('tracker (websocket)', best.seedpod!.ws, best.node!.ws)
  } finally {
    for (const child of children) child.kill()
    await Promise.all(children.map((c) => c.exited))
  }
}

if (import.meta.main) {
  if (process.argv.includes('--serve')) await serve()
  else await run()
}
