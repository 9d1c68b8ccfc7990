/**
 * Redundancy: copies of friends' videos that this pod keeps within a disk budget (the
 * redundancy actor makes and drops them) and the mirrors the network announces with
 * `video.mirror` / `video.unmirror`, whose web seeds join a video's own (videos/service.ts,
 * `get`), so that a video still plays when its origin is down.
 */
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import type { OwnMirror, RedundancyActorInput } from '../../actors/redundancy'
import type { Inbox } from '../federation/inbox'
import type { Friends } from '../friends/service'
import type { Config } from '../shared/config'
import { DomainError } from '../shared/errors'
import type { Logger } from '../shared/log'
import type { Outbound } from '../shared/outbound'
import { torrentUrl, trackerUrls, webseedUrl } from '../shared/urls'
import { mirrorKey, originalFile, torrentKey } from '../storage/keys'
import { typeOf } from '../storage/store'
import type { StoredFiles } from '../storage/sweep'
import { retargetTorrent } from '../torrents/torrent-file'
import type { VideoFiles } from '../videos/files'
import type { LocalFile } from '../videos/service'
import type { VideoStore } from '../videos/store'
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

/** A .torrent file is small; a larger answer is not one. */
const TORRENT_MAX_BYTES = 4 * 1024 * 1024

/** Redundancy of one pod. */
export class Redundancy {
  constructor(
    /** The videos' tables (the index, whose videos are copied). */
    private readonly videoRows: VideoStore,
    private readonly config: Config,
    private readonly self: { fingerprint: string; url: string },
    private readonly files: VideoFiles,
    readonly store: MirrorStore,
    inbox: Inbox,
    private readonly friends: Friends,
    private readonly outbound: Outbound,
  ) {
    // Only for a video of this pod or of a friend (the index holds no other), at most a few per
    // video; the player checks every mirror's bytes against the video's torrent anyway.
    inbox.on('video.mirror', ({ id, infoHash }, { friend }) => ({
      ok: this.store.addKnown(id, infoHash, friend!, (origin) => origin === self.fingerprint || friends.isFriend(origin)),
    }))
    inbox.on('video.unmirror', ({ id, infoHash }, { sender }) => ({ ok: this.store.removeKnown(id, infoHash, sender) }))
    friends.onChange((change) => {
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
    return { keys: () => this.store.own().flatMap((m) => [mirrorKey(m.file), torrentKey(m.infoHash)]) }
  }

  /** This pod's ready copy of a friend's video with this info hash, as a file to seed and serve. */
  mirrorFile(infoHash: string): LocalFile | undefined {
    const m = this.store.byInfoHash(infoHash)
    if (!m || m.state !== 'ready') return undefined
    return { id: m.video, resolution: null, infoHash, key: mirrorKey(m.file), torrentKey: torrentKey(infoHash), mime: typeOf(m.file) }
  }

  /** Fetches an origin's .torrent and makes it safe to download: only from the origin, its info hash and length checked by the actor. */
  private async loadTorrent(id: string) {
    const row = this.videoRows.row(id)
    if (!row) throw new DomainError('not_found', 'video_gone', 'the video left the index')
    const file = originalFile(id, row.ext)
    const bytes = await this.fetchTorrent(torrentUrl(row.pod_url, Buffer.from(row.info_hash).toString('hex')))
    const retargeted = await retargetTorrent(bytes, { announce: trackerUrls(row.pod_url), urlList: [webseedUrl(row.pod_url, file)] }).catch((cause) => {
      throw new DomainError('upstream_failed', 'not_a_torrent', 'the origin served something that is not a torrent', undefined, { cause })
    })
    return { ...retargeted, file: bytes }
  }

  /** Fetches an origin's .torrent through the outbound client, at most TORRENT_MAX_BYTES. */
  private async fetchTorrent(url: string): Promise<Uint8Array> {
    const res = await this.outbound.get(url, { maxBytes: TORRENT_MAX_BYTES, accept: 'application/x-bittorrent' })
    if (!res.ok) throw new DomainError('upstream_failed', 'torrent_unreachable', `the origin's torrent could not be fetched: ${res.error.message}`)
    if (res.value.status !== 200) throw new DomainError('upstream_failed', 'torrent_refused', `the origin answered ${res.value.status} for the torrent`)
    return res.value.body
  }

  /** What the redundancy actor runs on. */
  actorInput(log: Logger, loadWebTorrent: RedundancyActorInput['loadWebTorrent']): RedundancyActorInput {
    return {
      ...this.config.redundancy,
      store: this.store,
      self: this.self,
      dir: this.files.mirrors,
      seedFile: (m) => ({ infoHash: m.infoHash, key: mirrorKey(m.file), torrentKey: torrentKey(m.infoHash) }),
      fileName: (id) => {
        const row = this.videoRows.row(id)
        return row ? originalFile(id, row.ext) : undefined
      },
      loadTorrent: (id) => this.loadTorrent(id),
      ...(this.config.network.allowPrivateAddresses ? {} : { blocklist: PRIVATE_V4 }),
      broadcast: (messages) => this.friends.broadcast(messages),
      // With a bucket, a finished copy moves there like an own file (the budget counts it the same).
      keep: async (m, torrentFile) => {
        await this.files.storage.keepInPlace(mirrorKey(m.file), typeOf(m.file))
        await this.files.storage.keepBytes(torrentKey(m.infoHash), torrentFile, 'application/x-bittorrent')
      },
      discard: (m) => this.files.storage.drop([mirrorKey(m.file), torrentKey(m.infoHash)]),
      loadWebTorrent,
      log,
      now: Date.now,
      diskRoom: () => this.files.disk.room(),
    }
  }
}
