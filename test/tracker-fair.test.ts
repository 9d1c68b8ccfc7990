/**
 * Crowded swarms, tried on the pod's real tracker (test/helpers/tracker.ts) over HTTP and
 * WebSocket: 5,000 fake leechers announced from one address used to push every other peer out
 * of a swarm of 1,000, the pod's own seeder and a real viewer included. Now one address block
 * holds at most `tracker.peersPerAddress` peers of a swarm, a full swarm makes room at the
 * expense of the block that holds the most, a seeder (the pod's own above all) is never pushed
 * out by a leecher, and one address makes at most `tracker.announcesPerMinute` requests a
 * minute. Measured and asserted: the answers, and who is in the swarm after.
 */
import { afterEach, describe, expect, test } from 'bun:test'
import { request } from 'node:http'
import { hex, randomBytes, runCleanups, startTracker, TRACKER_DEFAULTS, cleanups, type TrackerFixture } from './helpers/tracker'

afterEach(runCleanups)

const pct = (b: Uint8Array) => [...b].map((x) => '%' + x.toString(16).padStart(2, '0')).join('')

/** An HTTP announce from `from` (a loopback address, or a forwarded one); its status and the compact peers it lists. */
function announce(
  fx: TrackerFixture,
  infoHash: Uint8Array,
  a: { from?: string; forwardedFor?: string; peerId?: Uint8Array; port: number; left: number; numwant?: number; event?: string },
): Promise<{ status: number; peers: string[]; retryAfter?: string }> {
  const query = `info_hash=${pct(infoHash)}&peer_id=${pct(a.peerId ?? randomBytes(20))}&port=${a.port}&left=${a.left}&event=${a.event ?? 'started'}&compact=1&numwant=${a.numwant ?? 0}`
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port: fx.port, path: `/tracker/announce?${query}`, localAddress: a.from ?? '127.0.0.1', agent: false, headers: a.forwardedFor ? { 'x-forwarded-for': a.forwardedFor } : {} },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, peers: compactPeers(Buffer.concat(chunks)), retryAfter: res.headers['retry-after'] }))
      },
    )
    req.on('error', reject)
    req.end()
  })
}

/** The IPv4 peers of a bencoded announce answer (`5:peers<n>:` and 6 bytes per peer). */
function compactPeers(body: Buffer): string[] {
  const text = body.toString('latin1')
  const m = /5:peers(\d+):/.exec(text)
  if (!m) return []
  const bytes = body.subarray(m.index + m[0].length, m.index + m[0].length + Number(m[1]))
  const out: string[] = []
  for (let i = 0; i + 6 <= bytes.length; i += 6) out.push(`${bytes[0 + i]}.${bytes[1 + i]}.${bytes[2 + i]}.${bytes[3 + i]}:${bytes.readUInt16BE(i + 4)}`)
  return out
}

/**
 * Who is in the swarm, as a checker that asks for every peer sees it: a `stopped` announce
 * gets the list without joining (swarms here stay under the 82 peers a list may hold).
 */
async function members(fx: TrackerFixture, infoHash: Uint8Array): Promise<string[]> {
  return (await announce(fx, infoHash, { from: '127.0.0.250', port: 9, left: 0, numwant: 200, event: 'stopped' })).peers
}

/** Announces the pod's seeder (its own peer id), a seeder and a viewer of other addresses; returns the swarm's infohash and the pod's peer id. */
async function swarmWithRealPeers(fx: TrackerFixture): Promise<Uint8Array> {
  const infoHash = randomBytes(20)
  fx.allowed.add(hex(infoHash))
  expect((await announce(fx, infoHash, { from: '127.0.0.1', peerId: OWN, port: 6881, left: 0 })).status).toBe(200)
  expect((await announce(fx, infoHash, { from: '127.0.0.2', port: 6000, left: 0 })).status).toBe(200)
  expect((await announce(fx, infoHash, { from: '127.0.0.3', port: 7000, left: 1000 })).status).toBe(200)
  return infoHash
}

const OWN = randomBytes(20)
const isOwnPeer = (peerId: string) => peerId === hex(OWN)

describe('fair swarms over HTTP', () => {
  test('5,000 fake leechers from one address: 300 announces taken, the rest 429; 32 of them kept; the seeders and the viewer stay', async () => {
    const fx = startTracker({ isOwnPeer })
    const infoHash = await swarmWithRealPeers(fx)
    const answers: { status: number; retryAfter?: string }[] = []
    // From the pod's own address, as an attacker on its machine (or behind its NAT) would be.
    for (let i = 0; i < 5000; i += 50) answers.push(...(await Promise.all(Array.from({ length: 50 }, (_, k) => announce(fx, infoHash, { from: '127.0.0.1', port: 10_000 + i + k, left: 1000 })))))
    const taken = answers.filter((a) => a.status === 200).length
    const refused = answers.filter((a) => a.status === 429)
    const inSwarm = await members(fx, infoHash)
    const fake = inSwarm.filter((p) => p.startsWith('127.0.0.1:') && p !== '127.0.0.1:6881')
    console.log(`5,000 fake leechers from one address: ${taken} announces taken, ${refused.length} refused (429); swarm: ${inSwarm.length} peers, ${fake.length} fake; stats ${JSON.stringify(fx.tracker.stats())}`)
    // The three real peers' announces counted toward their own addresses' rates, one of them this one's.
    expect(taken).toBe(TRACKER_DEFAULTS.announcesPerMinute - 1)
    expect(refused.length).toBe(5000 - taken)
    for (const r of refused) expect(Number(r.retryAfter)).toBeGreaterThan(0)
    expect(fake.length).toBe(TRACKER_DEFAULTS.peersPerAddress)
    expect(inSwarm).toContain('127.0.0.1:6881')
    expect(inSwarm).toContain('127.0.0.2:6000')
    expect(inSwarm).toContain('127.0.0.3:7000')
    expect(fx.tracker.stats()).toMatchObject({ seeders: 2, leechers: 1 + TRACKER_DEFAULTS.peersPerAddress })
  })

  test('without the rate limit, the share alone holds: 5,000 from one address keep 32 places, the most recent', async () => {
    const fx = startTracker({ isOwnPeer, announcesPerMinute: 1_000_000 })
    const infoHash = await swarmWithRealPeers(fx)
    for (let i = 0; i < 5000; i += 100) await Promise.all(Array.from({ length: 100 }, (_, k) => announce(fx, infoHash, { from: '127.0.0.4', port: 10_000 + i + k, left: 1000 })))
    const inSwarm = await members(fx, infoHash)
    const fake = inSwarm.filter((p) => p.startsWith('127.0.0.4:')).map((p) => Number(p.split(':')[1]))
    expect(fake.length).toBe(TRACKER_DEFAULTS.peersPerAddress)
    // The most recent: all of the last hundred sent.
    expect(Math.min(...fake)).toBeGreaterThanOrEqual(14_900)
    expect(inSwarm).toEqual(expect.arrayContaining(['127.0.0.1:6881', '127.0.0.2:6000', '127.0.0.3:7000']))
  })

  test('a full swarm makes room from the block with the most peers; seeders are never pushed out by leechers', async () => {
    // A swarm of 40 places, 10 per address: four attacker addresses fill it and churn among themselves.
    const fx = startTracker({ isOwnPeer, announcesPerMinute: 1_000_000, peersPerAddress: 10, swarmPeers: 40 })
    const infoHash = await swarmWithRealPeers(fx)
    for (let a = 0; a < 6; a++) await Promise.all(Array.from({ length: 30 }, (_, k) => announce(fx, infoHash, { from: `127.0.1.${a + 1}`, port: 20_000 + k, left: 1000 })))
    const inSwarm = await members(fx, infoHash)
    expect(inSwarm.length).toBe(40)
    expect(inSwarm).toEqual(expect.arrayContaining(['127.0.0.1:6881', '127.0.0.2:6000', '127.0.0.3:7000']))
    for (let a = 0; a < 6; a++) expect(inSwarm.filter((p) => p.startsWith(`127.0.1.${a + 1}:`)).length).toBeLessThanOrEqual(10)
    // Seeders from one address: the viewer's block keeps its leecher, the seeders their places.
    const seeders = await Promise.all(Array.from({ length: 12 }, (_, k) => announce(fx, infoHash, { from: '127.0.2.1', port: 30_000 + k, left: 0 })))
    expect(seeders.every((s) => s.status === 200)).toBe(true)
    const after = await members(fx, infoHash)
    expect(after.filter((p) => p.startsWith('127.0.2.1:')).length).toBe(10)
    expect(after).toEqual(expect.arrayContaining(['127.0.0.1:6881', '127.0.0.2:6000', '127.0.0.3:7000']))
    // Now leechers cannot push those seeders out, only each other.
    await Promise.all(Array.from({ length: 30 }, (_, k) => announce(fx, infoHash, { from: '127.0.1.9', port: 40_000 + k, left: 1000 })))
    const last = await members(fx, infoHash)
    expect(last.filter((p) => p.startsWith('127.0.2.1:')).length).toBe(10)
    expect(last).toEqual(expect.arrayContaining(['127.0.0.1:6881', '127.0.0.2:6000', '127.0.0.3:7000']))
    expect(fx.tracker.stats().seeders).toBe(12)
  })

  test('the addresses of one IPv6 /64 share one place (behind a proxy, X-Forwarded-For)', async () => {
    const fx = startTracker({ trustProxy: true, announcesPerMinute: 1_000_000 })
    const infoHash = randomBytes(20)
    fx.allowed.add(hex(infoHash))
    for (let i = 0; i < 100; i++) await announce(fx, infoHash, { forwardedFor: `2001:db8:5:5::${(i + 1).toString(16)}`, port: 5000 + i, left: 1000 })
    await announce(fx, infoHash, { forwardedFor: '2001:db8:5:6::1', port: 5000, left: 1000 })
    expect(fx.tracker.stats().leechers).toBe(TRACKER_DEFAULTS.peersPerAddress + 1)
  })
})

/** A WebSocket speaking the WebTorrent tracker protocol, forwarded-for `from` (the fixture trusts the proxy). */
async function socket(fx: TrackerFixture, from: string): Promise<{ ws: WebSocket; received: any[] }> {
  const ws = new WebSocket(fx.socketUrl, { headers: { 'x-forwarded-for': from } } as unknown as string[])
  cleanups.push(() => ws.close())
  const received: any[] = []
  ws.onmessage = (e) => received.push(JSON.parse(String(e.data)))
  await new Promise((resolve, reject) => {
    ws.onopen = resolve
    ws.onerror = reject
  })
  return { ws, received }
}
const bin = (b: Uint8Array) => String.fromCharCode(...b)
const wsAnnounce = (infoHash: Uint8Array, peerId: Uint8Array, left: number, offers: unknown[] = []) =>
  JSON.stringify({ action: 'announce', info_hash: bin(infoHash), peer_id: bin(peerId), numwant: offers.length, uploaded: 0, downloaded: 0, left, event: 'started', offers })

async function settle(what: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms
  while (!what() && Date.now() < end) await Bun.sleep(20)
}

describe('fair swarms over WebSocket', () => {
  test('5,000 fake leechers on one socket: 300 frames taken, the rest dropped (told once); 32 kept; a viewer and a seeder still get offers', async () => {
    const fx = startTracker({ trustProxy: true })
    const infoHash = randomBytes(20)
    fx.allowed.add(hex(infoHash))
    const viewer = await socket(fx, '198.51.100.2')
    const seeder = await socket(fx, '198.51.100.3')
    viewer.ws.send(wsAnnounce(infoHash, randomBytes(20), 1000))
    seeder.ws.send(wsAnnounce(infoHash, randomBytes(20), 0))
    await settle(() => viewer.received.length > 0 && seeder.received.length > 0)

    const attacker = await socket(fx, '203.0.113.66')
    for (let i = 0; i < 5000; i++) attacker.ws.send(wsAnnounce(infoHash, randomBytes(20), 1000))
    const isRefusal = (m: any) => String(m['failure reason'] ?? '').startsWith('too many requests')
    await settle(() => attacker.received.length >= TRACKER_DEFAULTS.announcesPerMinute + 1, 20_000)
    // Whatever else was coming has come by now.
    await Bun.sleep(500)
    const refused = attacker.received.filter(isRefusal)
    const answered = attacker.received.filter((m) => !isRefusal(m))
    console.log(`5,000 fake WebSocket leechers: ${answered.length} answered, ${refused.length} refusal sent; stats ${JSON.stringify(fx.tracker.stats())}`)
    expect(answered.length).toBe(TRACKER_DEFAULTS.announcesPerMinute)
    expect(refused.length).toBe(1)
    expect(refused[0].info_hash).toBe(bin(infoHash))
    expect(refused[0]['retry in']).toBeGreaterThanOrEqual(1)
    expect(fx.tracker.stats()).toMatchObject({ peers: 2 + TRACKER_DEFAULTS.peersPerAddress, seeders: 1, leechers: 1 + TRACKER_DEFAULTS.peersPerAddress })

    // A newcomer's offers reach every peer kept (fewer than it offers to): the viewer and the seeder among them.
    const newcomer = await socket(fx, '192.0.2.9')
    const offers = Array.from({ length: 50 }, (_, i) => ({ offer: { type: 'offer', sdp: `sdp-${i}` }, offer_id: bin(randomBytes(20)) }))
    newcomer.ws.send(wsAnnounce(infoHash, randomBytes(20), 1000, offers))
    await settle(() => viewer.received.some((m) => m.offer) && seeder.received.some((m) => m.offer))
    expect(viewer.received.some((m) => m.offer)).toBe(true)
    expect(seeder.received.some((m) => m.offer)).toBe(true)
  })
})
