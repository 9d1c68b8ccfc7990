/**
 * Redundancy: copies of friends' videos' streams that this pod keeps within a disk budget
 * (the redundancy actor makes and drops them) and serves like their origin does (web seeds,
 * playlists, torrents, seeding), and the mirrors the network announces with `video.mirror` /
 * `video.unmirror`, whose URLs join a video's own (videos/service.ts, `get`), so that a video
 * still plays when its origin is down.
 */
import type { OwnMirror, RedundancyActorInput } from '../../actors/redundancy'
import type { Inbox } from '../federation/inbox'
import type { Friends } from '../friends/service'
import type { Config } from '../shared/config'
import type { Logger } from '../shared/log'
import type { Outbound } from '../shared/outbound'
import { copyKeys, mirrorKey, playlistKey, streamFile, torrentKey } from '../storage/keys'
import { typeOf } from '../storage/store'
import type { StoredFiles } from '../storage/sweep'
import type { VideoFiles } from '../videos/files'
import type { ServedStreams } from '../videos/served-streams'
import type { LocalFile } from '../videos/service'
import type { VideoStore } from '../videos/store'
import { loadStream } from './origin'
import type { MirrorStore } from './store'

/** IPv4 ranges a copy's peers may not be at, unless `network.allowPrivateAddresses`. */
const PRIVATE_V4 = [
  ['0.0.0.0', '0.255.255.255'],
  ['10.0.0.0', '10.255.255.255'],
  ['100.64.0.0', '100.127.255.255'],
  ['127.0.0.0', '127.255.255.255'],
  ['169.254.0.0', '169.254.255.255'],
  ['172.16.0.0', '172.31.255.255'],
  ['192.168.0.0', '192.168.255.255'],
  ['224.0.0.0', '255.255.255.255'],
].map(([start, end]) => ({ start: start!, end: end! }))

/** What redundancy is built from. */
export interface RedundancyDeps {
  /** The videos' tables (the index, whose videos are copied). */
  videoRows: VideoStore
  config: Config
  self: { fingerprint: string; url: string }
  files: VideoFiles
  store: MirrorStore
  inbox: Inbox
  friends: Friends
  outbound: Outbound
}

/** Redundancy of one pod. */
export class Redundancy {
  private readonly videoRows: VideoStore
  private readonly config: Config
  private readonly self: { fingerprint: string; url: string }
  private readonly files: VideoFiles
  readonly store: MirrorStore
  private readonly friends: Friends
  private readonly outbound: Outbound

  constructor(deps: RedundancyDeps) {
    ;({ videoRows: this.videoRows, config: this.config, self: this.self, files: this.files, store: this.store, friends: this.friends, outbound: this.outbound } = deps)
    const { inbox } = deps
    // Only for a video of this pod or of a friend (the index holds no other), at most a few per
    // video; the player checks every mirror's bytes against the video's torrent anyway.
    inbox.on('video.mirror', ({ id, infoHash, rendition }, { friend }) => ({
      ok: this.store.addKnown(id, infoHash, rendition, friend!, (origin) => origin === this.self.fingerprint || this.friends.isFriend(origin)),
    }))
    inbox.on('video.unmirror', ({ id, infoHash }, { sender }) => ({ ok: this.store.removeKnown(id, infoHash, sender) }))
    this.friends.onChange((change) => {
      if (change.type === 'removed') this.store.removeKnownOf(change.fingerprint)
    })
  }

  /** What `GET /api/v1/videos/mirrors` shows the admin. */
  status() {
    const { enabled, budgetBytes, strategy } = this.config.redundancy
    return { enabled, budgetBytes, strategy, usedBytes: this.store.used(), mirrors: this.store.own() }
  }

  /** The copies' files, as the start's sweep checks them. */
  storedFiles(): StoredFiles {
    return { keys: () => this.store.own().flatMap(copyKeys) }
  }

  /** The info hashes of the copies ready to serve. */
  readyInfoHashes(): string[] {
    return this.store
      .own()
      .filter((m) => m.state === 'ready')
      .map((m) => m.infoHash)
  }

  /** This pod's ready copy of a friend's video's file with this info hash, as a file to seed and serve. */
  mirrorFile(infoHash: string): LocalFile | undefined {
    const m = this.store.byInfoHash(infoHash)
    return m?.state === 'ready' ? this.fileOf(m) : undefined
  }

  private fileOf(m: OwnMirror): LocalFile {
    return { id: m.video, resolution: m.rendition || null, infoHash: m.infoHash, key: mirrorKey(m.file), torrentKey: torrentKey(m.infoHash), mime: typeOf(m.file) }
  }

  /** The streams of a friend's video this pod keeps ready copies of, as it serves them (playlists, web seeds); undefined when none. */
  servedStreams(id: string): ServedStreams | undefined {
    const kept = this.store.keptOf(id)
    if (!kept.length) return undefined
    const copyOf = (rendition: number) => kept.find((m) => m.rendition === rendition)
    // In the order of the origin's master playlist, so that a copy of every stream serves the same one.
    const list = this.videoRows.streams(id).filter((s) => copyOf(s.rendition)?.infoHash === s.infoHash)
    return {
      list,
      file: (rendition) => {
        const m = copyOf(rendition)
        return m && this.fileOf(m)
      },
    }
  }

  /** What the redundancy actor runs on. */
  actorInput(log: Logger, loadWebTorrent: RedundancyActorInput['loadWebTorrent']): RedundancyActorInput {
    return {
      ...this.config.redundancy,
      store: this.store,
      self: this.self,
      dir: this.files.mirrors,
      seedFile: (m) => ({ infoHash: m.infoHash, key: mirrorKey(m.file), torrentKey: torrentKey(m.infoHash) }),
      fileName: streamFile,
      loadStream: (id, stream) => loadStream(this.videoRows, this.outbound, id, stream),
      ...(this.config.network.allowPrivateAddresses ? {} : { blocklist: PRIVATE_V4 }),
      broadcast: (messages) => this.friends.broadcast(messages),
      // With a bucket, a finished copy moves there like an own file (the budget counts it the same).
      keep: async (m, loaded) => {
        await this.files.storage.keepInPlace(mirrorKey(m.file), typeOf(m.file))
        await this.files.storage.keepBytes(playlistKey(mirrorKey(m.file)), loaded.playlist, typeOf(playlistKey(m.file)))
        await this.files.storage.keepBytes(torrentKey(m.infoHash), loaded.torrentFile, 'application/x-bittorrent')
      },
      discard: (m) => this.files.storage.drop(copyKeys(m)),
      loadWebTorrent,
      log,
      now: Date.now,
      diskRoom: () => this.files.disk.room(),
    }
  }
}
