/**
 * Redundancy: copies of friends' videos that this pod keeps within a disk budget (the
 * redundancy actor makes and drops them) and the mirrors the network announces with
 * `video.mirror` / `video.unmirror`, whose web seeds join a video's own (videos/service.ts,
 * `get`), so that a video still plays when its origin is down.
 */
import type { Database } from 'bun:sqlite'
import { join } from 'node:path'
import type { RedundancyActorInput } from '../../actors/redundancy'
import type { Inbox } from '../federation/inbox'
import type { Friends } from '../friends/service'
import type { Config } from '../shared/config'
import type { Logger } from '../shared/log'
import { torrentUrl } from '../shared/urls'
import type { VideoFiles } from '../videos/files'
import { videoRowById } from '../videos/model'
import type { LocalFile } from '../videos/service'
import type { MirrorStore } from './store'

/** A .torrent file is small; a larger answer is not one. */
const TORRENT_MAX_BYTES = 4 * 1024 * 1024

/** Redundancy of one pod. */
export class Redundancy {
  constructor(
    private readonly db: Database,
    private readonly config: Config,
    private readonly self: { fingerprint: string; url: string },
    private readonly files: VideoFiles,
    readonly store: MirrorStore,
    inbox: Inbox,
    private readonly friends: Friends,
  ) {
    inbox.on('video.mirror', ({ id, infoHash }, { friend }) => ({ ok: this.store.addKnown(id, infoHash, friend!) }))
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

  /** This pod's ready copy of a friend's video with this info hash, as a file to seed and serve. */
  mirrorFile(infoHash: string): LocalFile | undefined {
    const m = this.store.byInfoHash(infoHash)
    if (!m || m.state !== 'ready') return undefined
    return { id: m.video, resolution: null, infoHash, path: join(this.files.mirrors, m.file), torrentPath: this.files.torrent(infoHash), mime: m.file.endsWith('.webm') ? 'video/webm' : 'video/mp4' }
  }

  /** What the redundancy actor needs to copy a video of the index. */
  private source(id: string): { fileName: string; torrentUrl: string } | undefined {
    const row = videoRowById(this.db, id)
    if (!row) return undefined
    return { fileName: `${id}.${row.ext}`, torrentUrl: torrentUrl(row.pod_url, Buffer.from(row.info_hash).toString('hex')) }
  }

  /** What the redundancy actor runs on. */
  actorInput(log: Logger, loadWebTorrent: RedundancyActorInput['loadWebTorrent']): RedundancyActorInput {
    return {
      ...this.config.redundancy,
      store: this.store,
      self: this.self,
      dir: this.files.mirrors,
      torrentPath: (infoHash) => this.files.torrent(infoHash),
      videoInfo: (id) => this.source(id),
      fetchTorrent: fetchTorrent,
      broadcast: (messages) => this.friends.broadcast(messages),
      loadWebTorrent,
      log,
      now: Date.now,
    }
  }
}

/** Fetches an origin's .torrent: no redirects, a time limit, at most TORRENT_MAX_BYTES. */
async function fetchTorrent(url: string): Promise<Uint8Array> {
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000), redirect: 'error' })
  if (!res.ok) throw new Error(`the origin answered ${res.status} for the torrent`)
  if (Number(res.headers.get('content-length') ?? 0) > TORRENT_MAX_BYTES) throw new Error('the origin\'s torrent is too large')
  const bytes = new Uint8Array(await res.arrayBuffer())
  if (bytes.length > TORRENT_MAX_BYTES) throw new Error('the origin\'s torrent is too large')
  return bytes
}
