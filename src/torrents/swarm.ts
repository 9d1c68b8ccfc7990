/**
 * A fair swarm: bittorrent-tracker's swarm (lib/server/swarm.js) with room shared out by
 * address. Upstream keeps the 1,000 peers that announced last, whoever they are: one address
 * announcing 5,000 fake leechers pushed out every real peer, the pod's own seeder included.
 * Here:
 * - one address block (an IPv4 address, an IPv6 /64: src/shared/client-address.ts) holds at
 *   most `peersPerAddress` peers of a swarm; a new one past that takes the place of that
 *   block's own least recent leecher (or, for a seeder, peer), or is not kept;
 * - a full swarm makes room by dropping the least recent leecher of the block with the most
 *   peers (that has one); a seeder is dropped only for another seeder, when the swarm holds
 *   no leecher at all, never for a leecher;
 * - the pod's own peers (its seeder, `isOwn`) are never dropped and take no block's room.
 * A peer not kept still gets its answer (and its peer list): it is only not handed to others.
 * Peers leave as upstream's do (`stopped`, a closed socket, the TTL); this module follows them.
 */
import type { AnnounceParams, SwarmBase, SwarmPeer } from 'bittorrent-tracker'
import { addressBlock } from '../shared/client-address'

/** How a swarm's room is shared. */
export interface SwarmPolicy {
  /** Most peers of one swarm. */
  maxPeers: number
  /** Most peers of one address block in one swarm. */
  peersPerAddress: number
  /** Whether a peer id (hex) is one of the pod's own (its seeder). */
  isOwn(peerId: string): boolean
}

/** The fair swarm class over upstream's (`Server.Swarm`, loaded lazily with the tracker). */
export function fairSwarm(Base: typeof SwarmBase, policy: SwarmPolicy): typeof SwarmBase {
  return class FairSwarm extends Base {
    /** Each block's peers (keys of `peers`), least recently announced first. */
    private readonly byBlock = new Map<string, Set<string>>()
    /** The block of each peer kept in `byBlock` (the pod's own peers are in none). */
    private readonly blockOf = new Map<string, string>()

    constructor(...args: ConstructorParameters<typeof SwarmBase>) {
      super(...args)
      // Room is this class's to share: upstream's cache only ages peers out.
      this.peers.max = Infinity
      this.peers.on('evict', ({ key }) => this.forget(key))
    }

    override _onAnnounceStarted(params: AnnounceParams, peer: SwarmPeer | undefined, id: string): void {
      if (peer) return super._onAnnounceStarted(params, peer, id)
      const peerId = String(params.peer_id)
      if (policy.isOwn(peerId)) return super._onAnnounceStarted(params, peer, id)
      const block = addressBlock(String(params.ip))
      const seeder = params.left === 0
      const mine = this.byBlock.get(block)
      if (mine && mine.size >= policy.peersPerAddress) {
        const victim = this.leastRecent(mine, seeder)
        if (!victim) return
        this.drop(victim)
      }
      if (this.peers.length >= policy.maxPeers) {
        const victim = this.victimOfAll(seeder)
        if (!victim) return
        this.drop(victim)
      }
      super._onAnnounceStarted(params, peer, id)
      this.blockOf.set(id, block)
      this.byBlock.set(block, (this.byBlock.get(block) ?? new Set()).add(id))
    }

    override _onAnnounceUpdate(params: AnnounceParams, peer: SwarmPeer | undefined, id: string): void {
      super._onAnnounceUpdate(params, peer, id)
      // Announced again: the most recent of its block now.
      const block = this.blockOf.get(id)
      const ids = block === undefined ? undefined : this.byBlock.get(block)
      if (ids?.delete(id)) ids.add(id)
    }

    override _onAnnounceStopped(params: AnnounceParams, peer: SwarmPeer | undefined, id: string): void {
      super._onAnnounceStopped(params, peer, id)
      this.forget(id)
    }

    /** The least recent leecher of `ids` (or, for a seeder, also a seeder), if any. */
    private leastRecent(ids: Set<string> | undefined, seeder: boolean): string | undefined {
      let oldestSeeder: string | undefined
      for (const id of ids ?? []) {
        const p = this.peers.cache[id]?.value
        if (!p) continue
        if (!p.complete) return id
        oldestSeeder ??= id
      }
      return seeder ? oldestSeeder : undefined
    }

    /**
     * Who makes room in a full swarm: the least recent leecher of the block that holds the most
     * (of those with one); for a seeder, when there is no leecher at all, a seeder likewise.
     */
    private victimOfAll(seeder: boolean): string | undefined {
      const blocks = [...this.byBlock.values()].sort((a, b) => b.size - a.size)
      for (const ids of blocks) {
        const victim = this.leastRecent(ids, false)
        if (victim) return victim
      }
      return seeder ? blocks.map((ids) => this.leastRecent(ids, true)).find((id) => id !== undefined) : undefined
    }

    /** Drops a peer as upstream drops one it evicts (a synthetic `stopped`, its socket let go). */
    private drop(id: string): void {
      const value = this.peers.remove(id)
      if (value) this.peers.emit('evict', { key: id, value })
    }

    private forget(id: string): void {
      const block = this.blockOf.get(id)
      if (block === undefined) return
      this.blockOf.delete(id)
      const ids = this.byBlock.get(block)
      ids?.delete(id)
      if (ids && ids.size === 0) this.byBlock.delete(block)
    }
  }
}
