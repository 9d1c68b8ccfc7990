/**
 * P2P first: decides, piece by piece, what the web seed may serve (the rules are
 * buffer/policy.ts `webSeedMay`; this is where they meet WebTorrent).
 *
 * Plain WebTorrent treats a web seed as one more peer, and a fast one: it asks it for whole
 * pieces, and on a good link the web seed wins nearly every piece, so viewers who could serve
 * each other sit idle. Here the web seeds are attached from the start (no delay when they are
 * needed) but masked: the piece map WebTorrent sees for a web seed holds only the pieces it
 * is allowed to serve, and WebTorrent's own scheduler does the rest (it asks peers for
 * everything selected, and the web seeds for the allowed pieces only).
 *
 * The mask works by giving each web seed wire a `peerPieces` view (an accessor on that one
 * wire object): WebTorrent consults `wire.peerPieces.get(i)` for interest and for every
 * request it makes (lib/torrent.js `_updateWire`, `_updateWireInterest`).
 */
import { DEFAULT_GOVERNOR } from '../../../src/shared/playback'
import { othersIn, webSeedMay, type Swarm } from '../buffer/policy'
import { debug } from '../debug'
import type { BitFieldLike, Torrent, Wire } from './webtorrent'

/**
 * Gives every web seed wire of `torrent` (now and to come) a masked piece map: WebTorrent sees
 * the web seed holding only the pieces `allowed` lets it serve; `onUnchoke` runs when a web
 * seed unchokes (answers our interest), to ask it at once.
 */
function maskWebSeeds(torrent: Torrent, allowed: (i: number) => boolean, onUnchoke: () => void): void {
  const mask = (wire: Wire) => {
    if (wire.type !== 'webSeed') return
    wire.on('unchoke', () => queueMicrotask(onUnchoke))
    let real: BitFieldLike = wire.peerPieces
    const view: BitFieldLike = {
      get: (i) => allowed(i) && real.get(i),
      set: (i, v) => real.set(i, v),
      get buffer() {
        return real.buffer
      },
    }
    // bittorrent-protocol replaces peerPieces when the (fake) bitfield message arrives: keep
    // the real map behind the view whatever it assigns.
    Object.defineProperty(wire, 'peerPieces', {
      configurable: true,
      get: () => view,
      set: (v: BitFieldLike) => {
        real = v
      },
    })
  }
  for (const w of torrent.wires) mask(w)
  torrent.on('wire', mask)
}

/**
 * Makes WebTorrent look at a changed mask now: interest first (a masked-out web seed was told
 * "not interested"), then a request pass, run at once: WebTorrent's own `_update` waits for
 * an idle moment, which a page busy decoding video may not have for 250 ms.
 */
function kick(t: Torrent): void {
  if (t.destroyed || !t.ready) return
  t._updateInterest()
  t._updateWireWrapper()
}

/** The web seeds' mask of one torrent, for its life. */
export class Governor {
  private readonly allowed = new Set<number>()
  private readonly opened = performance.now()
  /** Other viewers in the swarm by the tracker's last count; undefined before its first answer. */
  private others: number | undefined

  constructor(private readonly torrent: Torrent) {
    maskWebSeeds(torrent, (i) => this.allowed.has(i), () => kick(torrent))
    torrent.on('verified', (i) => this.allowed.delete(i))
    torrent.discovery?.tracker?.on('update', (d) => {
      this.others = othersIn(d.complete, d.incomplete, DEFAULT_GOVERNOR)
      debug('tracker update', { complete: d.complete, incomplete: d.incomplete, others: this.others })
    })
  }

  private swarm(): Swarm {
    return { others: this.others, peers: this.torrent.wires.some((w) => w.type !== 'webSeed' && !w.destroyed), openMs: performance.now() - this.opened }
  }

  private peerHas(i: number): boolean {
    return this.torrent.wires.some((w) => w.type !== 'webSeed' && !w.destroyed && w.peerPieces.get(i))
  }

  /**
   * Lets the web seeds serve the missing pieces from..to that the policy allows to a read that
   * has waited `waitedMs` of its `deadlineMs`; kicks WebTorrent if that changed anything.
   */
  release(from: number, to: number, waitedMs: number, deadlineMs: number): void {
    const t = this.torrent
    const swarm = this.swarm()
    let changed = false
    for (let i = from; i <= to; i++) {
      if (t.bitfield.get(i) || this.allowed.has(i)) continue
      if (!webSeedMay(swarm, { waitedMs, deadlineMs, peerHas: this.peerHas(i) })) continue
      this.allowed.add(i)
      changed = true
    }
    if (changed) kick(t)
  }

  /** A read of from..to ended (done or aborted): what it let the web seeds serve goes back to peers. */
  end(from: number, to: number): void {
    for (let i = from; i <= to; i++) this.allowed.delete(i)
  }
}
