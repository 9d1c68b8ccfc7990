/**
 * Redundancy: copies of friends' videos' streams that this pod keeps within a disk budget
 * (the redundancy actor makes and drops them) and serves like their origin does (web seeds,
 * playlists, torrents, seeding), and the mirrors the network announces with `video.mirror` /
 * `video.unmirror`, which this pod checks (checks.ts) before their URLs join a video's own
 * (listing.ts), so that a video still plays when its origin is down.
 */
import type { Database } from 'bun:sqlite'
import type { Chore } from '../../actors/housekeeper'
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
import { MirrorChecks } from './checks'
import type { KnownMirrors } from './known-store'
import { loadStream } from './origin'
import { MirrorProofs } from './proof'
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
  db: Database
  /** The videos' tables (the index, whose videos are copied). */
  videoRows: VideoStore
  config: Config
  self: { fingerprint: string; url: string }
  files: VideoFiles
  store: MirrorStore
  /** The mirrors the network announced, and their proofs. */
  known: KnownMirrors
  inbox: Inbox
  friends: Friends
  outbound: Outbound
  log: Logger
  now?: () => number
}

/** Redundancy of one pod. */
export class Redundancy {
  private readonly db: Database
  private readonly videoRows: VideoStore
  private readonly config: Config
  private readonly self: { fingerprint: string; url: string }
  private readonly files: VideoFiles
  readonly store: MirrorStore
  readonly known: KnownMirrors
  private readonly friends: Friends
  private readonly outbound: Outbound
  private readonly now: () => number
  /** The checks of the mirrors the network announced. */
  readonly checks: MirrorChecks

  constructor(deps: RedundancyDeps) {
    ;({ db: this.db, videoRows: this.videoRows, config: this.config, self: this.self, files: this.files, store: this.store, known: this.known, friends: this.friends, outbound: this.outbound } = deps)
    this.now = deps.now ?? Date.now
    const { inbox } = deps
    const { checkPieces, recheckSeconds, checkBytesPerHour } = this.config.redundancy
    const proofs = new MirrorProofs({
      videoRows: this.videoRows,
      known: this.known,
      outbound: this.outbound,
      selfFingerprint: this.self.fingerprint,
      keepsCopy: (infoHash) => this.store.byInfoHash(infoHash)?.state === 'ready',
      readStored: (key) => this.files.storage.small(key),
      pieces: checkPieces,
      bytesPerHour: checkBytesPerHour,
    })
    this.checks = new MirrorChecks({
      known: this.known,
      check: (m, allowance) => proofs.check(m, allowance),
      settings: { recheckMs: recheckSeconds * 1000, bytesPerHour: checkBytesPerHour },
      log: deps.log,
      now: this.now,
    })
    // Only for a video of this pod or of a friend (the index holds no other), at most a few per
    // video, listed once checked.
    inbox.on('video.mirror', ({ id, infoHash, rendition }, { friend }) => {
      const ok = this.known.announce(id, infoHash, rendition, friend!, (origin) => origin === this.self.fingerprint || this.friends.isFriend(origin), this.now())
      if (ok) this.checks.wake()
      return { ok }
    })
    inbox.on('video.unmirror', ({ id, infoHash }, { sender }) => ({ ok: this.known.withdraw(id, infoHash, sender) }))
    this.friends.onChange((change) => {
      if (change.type === 'removed') this.known.forgetPod(change.fingerprint)
    })
  }

  /** The housekeeper's chores: the checks of mirrors that came due, and forgetting the trusted .torrent files no mirror needs. */
  chores(): Chore[] {
    return [...this.checks.chores(), { name: 'mirror-torrents', everyMs: 10 * 60_000, run: () => void this.known.pruneTrustedTorrents() }]
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
      listing: this.known,
      self: this.self,
      dir: this.files.mirrors,
      seedFile: (m) => ({ infoHash: m.infoHash, key: mirrorKey(m.file), torrentKey: torrentKey(m.infoHash) }),
      fileName: streamFile,
      loadStream: (id, stream) => loadStream(this.videoRows, this.outbound, id, stream),
      ...(this.config.network.allowPrivateAddresses ? {} : { blocklist: PRIVATE_V4 }),
      broadcast: (messages) => this.friends.broadcast(messages),
      atomically: (fn) => this.db.transaction(fn)(),
      // With a bucket, a finished copy moves there like an own file (the budget counts it the same).
      keep: async (m, loaded) => {
        await this.files.storage.keepInPlace(mirrorKey(m.file), typeOf(m.file))
        await this.files.storage.keepBytes(playlistKey(mirrorKey(m.file)), loaded.playlist, typeOf(playlistKey(m.file)))
        await this.files.storage.keepBytes(torrentKey(m.infoHash), loaded.torrentFile, 'application/x-bittorrent')
      },
      discard: (m) => this.files.storage.drop(copyKeys(m)),
      loadWebTorrent,
      log,
      now: this.now,
      diskRoom: () => this.files.disk.room(),
    }
  }
}
