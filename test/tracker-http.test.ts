/**
 * The pod's BitTorrent tracker over HTTP, mounted on an Elysia app listening on loopback
 * (test/helpers/tracker.ts), driven by real clients: webtorrent (seeding and downloading over
 * TCP), aria2c and bittorrent-tracker's own HTTP client; refusals, X-Forwarded-For. Its
 * WebSocket side is test/tracker-websocket.test.ts; compact peer lists,
 * test/unit/torrents.test.ts.
 */
import { afterEach, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Client, type ClientUpdate } from 'bittorrent-tracker'
import WebTorrent, { type Torrent } from 'webtorrent'
import { createTracker, REFUSED_REASON } from '../src/torrents/tracker'
import { cleanups, hex, log, randomBytes, runCleanups, startTracker, TRACKER_DEFAULTS, until, type TrackerFixture } from './helpers/tracker'

/** TCP only: no DHT, LSD, uTP or NAT traversal, so the tracker is the only way peers meet. */
const WT_OPTS = { dht: false, lsd: false, utp: false, natUpnp: false, natPmp: false, webSeeds: false } as const

afterEach(runCleanups)

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'seedpod-tracker-'))
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

function webtorrent(): WebTorrent {
  const client = new WebTorrent(WT_OPTS)
  client.on('error', () => {}) // surfaced through the test's own timeouts and assertions
  cleanups.push(() => new Promise<void>((resolve) => client.destroy(() => resolve())))
  return client
}

/** Seeds `data` from a fresh webtorrent client (its own folder: clients share a default one). */
async function seed(fx: TrackerFixture, data: Uint8Array, name: string): Promise<{ client: WebTorrent; torrent: Torrent }> {
  const client = webtorrent()
  const torrent = await new Promise<Torrent>((resolve) => {
    const t = client.seed(Buffer.from(data), { name, path: tempDir(), announce: [fx.announceUrl] }, resolve)
    // Allowed as soon as the infohash is known, before the first announce.
    t.once('infoHash', () => fx.allowed.add(t.infoHash))
  })
  return { client, torrent }
}

/** bittorrent-tracker's own HTTP client, one announce (or scrape), resolving with its answer. */
function httpClient(fx: TrackerFixture, infoHash: Uint8Array, port: number): Client {
  const client = new Client({ infoHash, peerId: randomBytes(20), announce: [fx.announceUrl], port })
  client.on('error', () => {})
  cleanups.push(() => new Promise<void>((resolve) => client.destroy(() => resolve())))
  return client
}

function nextEvent<T>(emitter: { once(name: string, fn: (v: T) => void): unknown }, name: string, ms = 3000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no '${name}' event`)), ms)
    emitter.once(name, (v: T) => {
      clearTimeout(timer)
      resolve(v)
    })
  })
}

describe('HTTP tracker', () => {
  test('a webtorrent leecher finds a webtorrent seeder through the tracker and downloads over TCP', async () => {
    const fx = startTracker()
    const data = randomBytes(600_000)
    const { torrent: seeded } = await seed(fx, data, 'video.bin')
    await until(() => fx.tracker.stats().seeders === 1, 5000, 'seeder announce')

    const leecher = webtorrent().add(seeded.torrentFile, { path: tempDir() })
    await nextEvent(leecher, 'done', 10_000)
    const got = new Uint8Array(await leecher.files[0]!.arrayBuffer())
    expect(Buffer.compare(got, data)).toBe(0)
    // Really transferred (not found on disk): bytes came over a wire.
    expect(leecher.received).toBeGreaterThanOrEqual(data.length)
    await until(() => fx.tracker.stats().seeders === 2, 5000, 'leecher completed announce')
    expect(fx.tracker.stats()).toEqual({ torrents: 1, peers: 2, seeders: 2, leechers: 0 })
  }, 15_000)

  test('aria2c downloads from a webtorrent seeder it found through the tracker', async () => {
    const fx = startTracker()
    const data = randomBytes(400_000)
    const { torrent } = await seed(fx, data, 'clip.bin')
    const dir = tempDir()
    const torrentPath = join(dir, 'clip.torrent')
    await Bun.write(torrentPath, torrent.torrentFile)
    const out = join(dir, 'out')
    const aria = Bun.spawn(
      [
        'aria2c',
        '--no-conf',
        '--enable-dht=false',
        '--enable-dht6=false',
        '--bt-enable-lpd=false',
        '--enable-peer-exchange=false',
        '--seed-time=0',
        '--bt-tracker-connect-timeout=5',
        '--bt-tracker-timeout=5',
        '--summary-interval=0',
        '--file-allocation=none',
        '--dir',
        out,
        torrentPath,
      ],
      { stdout: 'pipe', stderr: 'pipe' },
    )
    cleanups.push(() => aria.kill())
    const timer = setTimeout(() => aria.kill(), 12_000)
    const [code, stdout] = await Promise.all([aria.exited, new Response(aria.stdout).text()])
    clearTimeout(timer)
    expect(code, stdout).toBe(0)
    const got = new Uint8Array(await Bun.file(join(out, 'clip.bin')).arrayBuffer())
    expect(Buffer.compare(got, data)).toBe(0)
    // aria2c announced `started`, then `stopped` when it was done: only the seeder is left.
    expect(torrent.uploaded).toBeGreaterThanOrEqual(data.length)
    await until(() => fx.tracker.stats().peers === 1, 3000, 'aria2c stopped announce')
  }, 15_000)

  test('announce and scrape with bittorrent-tracker\'s client: counts and peer lists', async () => {
    const fx = startTracker()
    const infoHash = randomBytes(20)
    fx.allowed.add(hex(infoHash))

    const seeder = httpClient(fx, infoHash, 6001)
    seeder.start({ left: 0 })
    const first = await nextEvent<ClientUpdate>(seeder, 'update')
    expect([first.complete, first.incomplete]).toEqual([1, 0])

    const leecher = httpClient(fx, infoHash, 6002)
    const peers: string[] = []
    leecher.on('peer', (addr: string) => peers.push(addr))
    leecher.start({ left: 1000 })
    const second = await nextEvent<ClientUpdate>(leecher, 'update')
    expect([second.complete, second.incomplete]).toEqual([1, 1])
    // Compact peer list: the seeder at the address the tracker saw, with the port it announced.
    await until(() => peers.includes('127.0.0.1:6001'), 2000, 'seeder in peer list')
    expect(fx.tracker.stats()).toEqual({ torrents: 1, peers: 2, seeders: 1, leechers: 1 })

    leecher.scrape()
    const scrape = await nextEvent<{ complete: number; incomplete: number }>(leecher, 'scrape')
    expect([scrape.complete, scrape.incomplete]).toEqual([1, 1])

    leecher.stop()
    await until(() => fx.tracker.stats().leechers === 0, 2000, 'stopped leecher removed')
    expect(fx.tracker.stats().peers).toBe(1)

    // The video is deleted: its swarm goes, and announces for it are refused from now on.
    fx.allowed.delete(hex(infoHash))
    fx.tracker.forget(hex(infoHash))
    expect(fx.tracker.stats()).toEqual({ torrents: 0, peers: 0, seeders: 0, leechers: 0 })
    seeder.update()
    expect((await nextEvent<Error>(seeder, 'warning')).message).toContain(REFUSED_REASON)
  })

  test('an infohash the pod does not serve is refused with a bencoded failure reason', async () => {
    const fx = startTracker()
    const infoHash = randomBytes(20)
    // Binary info_hash, percent-encoded byte by byte, as BitTorrent clients send it.
    const pct = (b: Uint8Array) => [...b].map((x) => '%' + x.toString(16).padStart(2, '0')).join('')
    const query = `info_hash=${pct(infoHash)}&peer_id=${pct(randomBytes(20))}&port=6881&left=0&event=started&compact=1`
    const res = await fetch(`${fx.announceUrl}?${query}`)
    expect(res.status).toBe(200)
    expect(await res.text()).toBe(`d14:failure reason${REFUSED_REASON.length}:${REFUSED_REASON}e`)
    expect(fx.tracker.stats().torrents).toBe(0)

    // Same query once the infohash is served: counts and a compact peer list, no failure.
    // (An HTTP peer list includes the announcing peer itself: upstream leaves it to clients.)
    fx.allowed.add(hex(infoHash))
    const ok = Buffer.from(await (await fetch(`${fx.announceUrl}?${query}`)).arrayBuffer()).toString('latin1')
    expect(ok).toStartWith('d8:completei1e10:incompletei0e8:intervali600e5:peers6:\x7f\x00\x00\x01\x1a\xe1')
    expect(fx.tracker.stats().torrents).toBe(1)

    // bittorrent-tracker's client reports the refusal as a warning carrying the reason.
    const client = httpClient(fx, randomBytes(20), 6003)
    client.start()
    const warning = await nextEvent<Error>(client, 'warning')
    expect(warning.message).toContain(REFUSED_REASON)

    // Malformed announces are refused too, not crashes.
    expect(await (await fetch(`${fx.announceUrl}?info_hash=abc`)).text()).toBe('d14:failure reason17:invalid info_hashe')
  })

  test('X-Forwarded-For: ignored without trustProxy, else its last valid entry; never a crash', async () => {
    const pct = (b: Uint8Array) => [...b].map((x) => '%' + x.toString(16).padStart(2, '0')).join('')
    /** Announces a peer on `port` with this X-Forwarded-For, then lists the peers another client is given. */
    async function seen(fx: TrackerFixture, forwardedFor: string, port: number): Promise<string[]> {
      const infoHash = randomBytes(20)
      fx.allowed.add(hex(infoHash))
      const res = await fetch(`${fx.announceUrl}?info_hash=${pct(infoHash)}&peer_id=${pct(randomBytes(20))}&port=${port}&left=0&event=started&compact=1`, {
        headers: { 'x-forwarded-for': forwardedFor },
      })
      expect(res.status).toBe(200)
      const peers: string[] = []
      const client = httpClient(fx, infoHash, 7001)
      client.on('peer', (addr: string) => peers.push(addr))
      client.start()
      await nextEvent(client, 'update')
      await until(() => peers.length > 1, 2000, 'peer list')
      // The list also holds the asking client itself (127.0.0.1:7001): upstream does not filter it.
      return peers.filter((p) => p !== '127.0.0.1:7001')
    }
    const direct = startTracker({ trustProxy: false })
    expect(await seen(direct, '203.0.113.7', 7000)).toEqual(['127.0.0.1:7000'])

    const proxied = startTracker({ trustProxy: true })
    // A proxy appends the address it saw; whatever the client put before it is not believed.
    expect(await seen(proxied, '198.51.100.1, 203.0.113.7', 7000)).toEqual(['203.0.113.7:7000'])
    expect(await seen(proxied, '203.0.113.8, junk', 7000)).toEqual(['203.0.113.8:7000'])
    // IPv6 peers go to `peers6`.
    expect(await seen(proxied, '2001:db8::7', 7000)).toEqual(['[2001:db8::7]:7000'])
    // Upstream would put "abc" in the swarm and then throw (process exit) encoding it; here it
    // is no address at all, so the TCP peer address is used.
    expect(await seen(proxied, 'abc', 7000)).toEqual(['127.0.0.1:7000'])
  })

  test('without a known client address, announces are refused rather than recorded', async () => {
    const tracker = createTracker({ isAllowed: () => true, trustProxy: false, log, ...TRACKER_DEFAULTS })
    cleanups.push(() => tracker.close())
    const res = await tracker.handleHttp(new Request('http://pod/tracker/announce?x=1'), 'announce', null)
    expect(await res.text()).toBe('d14:failure reason22:unknown client addresse')
  })
})
