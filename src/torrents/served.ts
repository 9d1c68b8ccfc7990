/**
 * What this pod serves over BitTorrent: its own videos' files (originals and renditions) and
 * its ready copies of friends' videos' streams, whichever feature keeps them. The tracker accepts
 * announces for them, the seeder seeds them over TCP, the web seed and torrent routes serve
 * them (routes.ts).
 */
import type { PodEvents } from '../../actors/pod'
import type { SeederActorInput } from '../../actors/seeder'
import type { TrackerActorInput } from '../../actors/tracker'
import type { Redundancy } from '../redundancy/service'
import type { Config } from '../shared/config'
import type { Logger } from '../shared/log'
import type { PodStorage } from '../storage/service'
import type { ServedStreams } from '../videos/served-streams'
import type { LocalFile, Videos } from '../videos/service'
import { createTracker, type Tracker } from './tracker'

/** The files this pod serves: own videos' and its copies of friends' videos. */
export class ServedFiles {
  constructor(
    private readonly videos: Videos,
    private readonly redundancy: Redundancy,
  ) {}

  /** An own video's file (original, or the rendition of `resolution`), or this pod's copy of a stream of a friend's video. */
  file(id: string, resolution: number | null): LocalFile | undefined {
    return this.videos.localFile(id, resolution) ?? this.redundancy.servedStreams(id)?.file(resolution ?? 0)
  }

  /** The streams this pod serves of a video: its own, or those of its copy of a friend's. */
  streams(id: string): ServedStreams | undefined {
    return this.videos.servedStreams(id) ?? this.redundancy.servedStreams(id)
  }

  /** The own file or copy with this info hash. */
  byInfoHash(infoHash: string): LocalFile | undefined {
    return this.videos.localFileByInfoHash(infoHash) ?? this.redundancy.mirrorFile(infoHash)
  }

  /** The info hashes of every file served now (the tracker's set at start). */
  infoHashes(): string[] {
    return [...this.videos.localFiles().map((f) => f.infoHash), ...this.redundancy.readyInfoHashes()]
  }
}

/**
 * The pod's tracker, serving the served files; the tracker actor keeps its set (`allowed`) in
 * step. A peer that needs an own video is also a request to seed it over TCP (seeding on
 * demand); seeders (left = 0) and goodbyes ask for nothing. Its swarms are shared out by
 * address (`config.tracker`, swarm.ts); `seederPeerId` is the peer id the pod's own seeder is
 * to use (seederInput), which holds its place in every swarm.
 */
export function podTracker(opts: { served: ServedFiles; events: PodEvents; config: Pick<Config, 'trustProxy' | 'tracker'>; log: Logger }): { tracker: Tracker; seederPeerId: string } & TrackerActorInput {
  const allowed = new Set(opts.served.infoHashes())
  // 20 bytes in hex, as trackers see peer ids.
  const seederPeerId = Buffer.from(crypto.getRandomValues(new Uint8Array(20))).toString('hex')
  const tracker = createTracker({
    isAllowed: (infoHash, announce) => {
      if (!allowed.has(infoHash)) return false
      if (announce.left !== 0 && announce.event !== 'stopped') opts.events.send({ type: 'seeder.video.wanted', infoHash })
      return true
    },
    trustProxy: opts.config.trustProxy,
    log: opts.log,
    ...opts.config.tracker,
    isOwnPeer: (peerId) => peerId === seederPeerId,
  })
  return { tracker, allowed, seederPeerId }
}

/** What the seeder actor runs on: the served files, read from the pod's store. */
export function seederInput(opts: { served: ServedFiles; storage: PodStorage; port: number; peerId: string; loadWebTorrent: SeederActorInput['loadWebTorrent']; log: Logger }): SeederActorInput {
  const { served, storage } = opts
  return {
    find: (infoHash) => served.byInfoHash(infoHash),
    port: opts.port,
    peerId: opts.peerId,
    loadWebTorrent: opts.loadWebTorrent,
    log: opts.log,
    readTorrent: (file) => storage.small(file.torrentKey),
    place: (file) => storage.seedPlace(file.key),
  }
}
