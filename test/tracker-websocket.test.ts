/**
 * The pod's BitTorrent tracker over WebSockets (the WebTorrent tracker protocol), mounted on an
 * Elysia app listening on loopback (test/helpers/tracker.ts), driven by raw WebSockets: Bun
 * has no WebRTC, so the WebSocket client is hand-written (offers are opaque to the tracker
 * anyway). Announces and counts, relayed offers and answers, refusals, close(). Its HTTP side
 * is test/tracker-http.test.ts.
 */
import { afterEach, describe, expect, test } from 'bun:test'
import { REFUSED_REASON } from '../src/torrents/tracker'
import { cleanups, hex, randomBytes, runCleanups, startTracker, until } from './helpers/tracker'

afterEach(runCleanups)

/** The WebTorrent tracker protocol carries ids as "binary strings": one char per byte. */
const bin = (b: Uint8Array) => String.fromCharCode(...b)

/** A WebSocket speaking the WebTorrent tracker protocol by hand, with a queue of received messages. */
class RawPeer {
  readonly peerId = randomBytes(20)
  private readonly inbox: any[] = []
  private waiter: (() => void) | undefined
  private constructor(readonly ws: WebSocket) {
    ws.onmessage = (e) => {
      this.inbox.push(JSON.parse(String(e.data)))
      this.waiter?.()
    }
  }

  static async connect(url: string): Promise<RawPeer> {
    const ws = new WebSocket(url)
    cleanups.push(() => ws.close())
    await new Promise((resolve, reject) => {
      ws.onopen = resolve
      ws.onerror = reject
    })
    return new RawPeer(ws)
  }

  send(msg: object | string): void {
    this.ws.send(typeof msg === 'string' ? msg : JSON.stringify(msg))
  }

  announce(infoHash: Uint8Array, extra: Record<string, unknown> = {}): void {
    this.send({
      action: 'announce',
      info_hash: bin(infoHash),
      peer_id: bin(this.peerId),
      numwant: 0,
      uploaded: 0,
      downloaded: 0,
      left: 0,
      event: 'started',
      offers: [],
      ...extra,
    })
  }

  async next(ms = 3000): Promise<any> {
    const end = Date.now() + ms
    while (this.inbox.length === 0) {
      if (Date.now() > end) throw new Error('no tracker message')
      await new Promise<void>((resolve) => {
        this.waiter = resolve
        setTimeout(resolve, 50)
      })
    }
    return this.inbox.shift()
  }
}

describe('WebSocket tracker', () => {
  test('announces are counted, answered with interval and counts, and a closed socket leaves the swarm', async () => {
    const fx = startTracker()
    const infoHash = randomBytes(20)
    fx.allowed.add(hex(infoHash))

    const a = await RawPeer.connect(fx.socketUrl)
    a.announce(infoHash, { left: 0 })
    expect(await a.next()).toEqual({ action: 'announce', interval: 120, info_hash: bin(infoHash), complete: 1, incomplete: 0 })

    const b = await RawPeer.connect(fx.socketUrl)
    b.announce(infoHash, { left: 5000 })
    const answer = await b.next()
    expect([answer.complete, answer.incomplete]).toEqual([1, 1])
    expect(fx.tracker.stats()).toEqual({ torrents: 1, peers: 2, seeders: 1, leechers: 1 })

    // Closing without a `stopped` announce: the tracker learns it from the socket's close.
    b.ws.close()
    await until(() => fx.tracker.stats().peers === 1, 3000, 'closed peer removed')
    expect(fx.tracker.stats()).toEqual({ torrents: 1, peers: 1, seeders: 1, leechers: 0 })

    // A re-announce shows the new counts to the remaining peer.
    a.announce(infoHash, { left: 0, event: 'update' })
    expect(await a.next()).toMatchObject({ complete: 1, incomplete: 0 })
  })

  test('WebRTC offers and answers are relayed between sockets', async () => {
    const fx = startTracker()
    const infoHash = randomBytes(20)
    fx.allowed.add(hex(infoHash))
    const seeder = await RawPeer.connect(fx.socketUrl)
    seeder.announce(infoHash, { left: 0 })
    await seeder.next()

    const leecher = await RawPeer.connect(fx.socketUrl)
    const offer = { type: 'offer', sdp: 'v=0 fake sdp' }
    leecher.announce(infoHash, { left: 100, numwant: 1, offers: [{ offer, offer_id: 'o'.repeat(20) }] })
    expect(await leecher.next()).toMatchObject({ action: 'announce', complete: 1, incomplete: 1 })

    // The seeder receives the leecher's offer, through the tracker.
    const relayed = await seeder.next()
    expect(relayed).toEqual({ action: 'announce', offer, offer_id: 'o'.repeat(20), peer_id: bin(leecher.peerId), info_hash: bin(infoHash) })

    // And its answer goes back to the leecher.
    const sdpAnswer = { type: 'answer', sdp: 'v=0 fake answer' }
    seeder.announce(infoHash, { left: 0, event: 'update', answer: sdpAnswer, offer_id: 'o'.repeat(20), to_peer_id: bin(leecher.peerId) })
    expect(await leecher.next()).toEqual({
      action: 'announce',
      answer: sdpAnswer,
      offer_id: 'o'.repeat(20),
      peer_id: bin(seeder.peerId),
      info_hash: bin(infoHash),
    })
  })

  test('an unknown infohash and malformed frames are refused with a failure reason', async () => {
    const fx = startTracker()
    const infoHash = randomBytes(20)
    const peer = await RawPeer.connect(fx.socketUrl)
    peer.announce(infoHash)
    expect(await peer.next()).toEqual({ action: 'announce', 'failure reason': REFUSED_REASON, info_hash: bin(infoHash) })

    peer.send({ action: 'announce', info_hash: 'short', peer_id: bin(peer.peerId) })
    expect(await peer.next()).toEqual({ 'failure reason': 'invalid info_hash' })
    peer.send('not json')
    expect((await peer.next())['failure reason']).toBeString()
    peer.send({ action: 'dance' })
    expect(await peer.next()).toEqual({ 'failure reason': 'invalid action in WS request: dance' })
    expect(fx.tracker.stats()).toEqual({ torrents: 0, peers: 0, seeders: 0, leechers: 0 })
    // Still connected: a valid announce after the garbage works.
    fx.allowed.add(hex(infoHash))
    peer.announce(infoHash)
    expect(await peer.next()).toMatchObject({ complete: 1, incomplete: 0 })
  })

  test('close() ends tracker sockets and refuses new requests', async () => {
    const fx = startTracker()
    const infoHash = randomBytes(20)
    fx.allowed.add(hex(infoHash))
    const peer = await RawPeer.connect(fx.socketUrl)
    peer.announce(infoHash)
    await peer.next()
    const closed = new Promise<CloseEvent>((resolve) => peer.ws.addEventListener('close', resolve))
    await fx.tracker.close()
    expect((await closed).code).toBe(1001)
    const res = await fetch(`${fx.announceUrl}?info_hash=x`)
    expect(res.status).toBe(503)
  })
})
