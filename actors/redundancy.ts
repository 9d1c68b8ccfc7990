/**
 * The redundancy actor: keeps copies of friends' videos within a disk budget. A copy keeps
 * every stream of its video (src/videos/streams.ts): each stream's file is downloaded over
 * BitTorrent (the origin's web seed and TCP seeder), kept with its .torrent and media
 * playlist, then seeded and served (web seed and playlists) by this pod, and announced to
 * every friend with `video.mirror`, so the video still plays, bounded and adaptive, when its
 * origin is down. Copies are dropped, files and all, beyond the budget (a video's streams
 * together), when the video or the stream leaves the index (removed at its origin, the
 * friendship ended, the stream replaced), and announced gone with `video.unmirror`.
 */
import { mkdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import type WebTorrent from 'webtorrent'
import { fromCallback } from 'xstate'
import type { ActorLog, LoadWebTorrent, SeedFile } from './ports'
import type { SeederEvent } from './seeder'
import type { TrackerEvent } from './tracker'

export type RedundancyEvent = { type: 'redundancy.check' }

/** A copy this pod keeps: one stream of a friend's video. */
export interface OwnMirror {
  infoHash: string
  video: string
  /** The stream it keeps (0: the original, else the height); null: a whole-file copy of an earlier release, dropped at start. */
  rendition: number | null
  /** Path of the file, relative to the data folder's mirrors/ folder (`<infoHash>/<file>`; its media playlist beside it). */
  file: string
  size: number
  state: 'downloading' | 'ready'
  createdAt: number
}

/** A stream of a video to copy. */
export interface StreamCandidate {
  rendition: number
  infoHash: string
  size: number
}

/** A friend's video worth a copy: the streams no copy keeps yet, and their bytes together. */
export interface CopyCandidate {
  id: string
  size: number
  streams: StreamCandidate[]
}

/** A stream fetched from its origin and checked (src/redundancy/origin.ts): ready for download. */
export interface LoadedStream {
  /** The torrent to hand webtorrent (its trackers and web seeds are the origin's own, whatever the file said). */
  torrent: object
  /** The origin's .torrent as it is, to keep and serve. */
  torrentFile: Uint8Array
  /** The stream's media playlist, naming the file as this pod serves it. */
  playlist: string
}

/** The messages the redundancy actor has friends told. */
export type MirrorMessage = { type: 'video.mirror' | 'video.unmirror'; data: { id: string; infoHash: string; rendition?: number } }

/** The durable side of redundancy, as the actor uses it (src/redundancy/store.ts). */
export interface MirrorPort {
  /** The copies this pod keeps, oldest first. */
  own(): OwnMirror[]
  /** Copies whose stream left the index, with why. */
  orphans(): { mirror: OwnMirror; reason: string }[]
  /** Bytes used (and reserved by downloads) by this pod's copies. */
  used(): number
  /** Friends' videos worth a copy, best first by the strategy, whose missing streams fit in `room` bytes. */
  candidates(self: string, room: number, strategy: 'recent' | 'smallest', limit: number): CopyCandidate[]
  /** One of this pod's copies, by its file's info hash. */
  byInfoHash(infoHash: string): OwnMirror | undefined
  startDownload(m: OwnMirror, now: number): void
  markReady(infoHash: string): void
  drop(infoHash: string): void
}

/** The mirrors of the network as viewers are given them (src/redundancy/known-store.ts): this pod's copies are listed at once. */
export interface ListingPort {
  addOwn(video: string, infoHash: string, rendition: number | null, now: number): void
  removeOwn(video: string, infoHash: string): void
}

export interface RedundancyActorInput {
  enabled: boolean
  budgetBytes: number
  strategy: 'recent' | 'smallest'
  store: MirrorPort
  /** Where this pod's ready copies are listed as mirrors of the network (proven by their download). */
  listing: ListingPort
  /** This pod's fingerprint (the copies of its own videos are not its to make). */
  self: { fingerprint: string }
  /** Folder of the copies (`<data>/mirrors`): each is downloaded there. */
  dir: string
  /** A copy as the seeder takes it (its keys in the pod's store). */
  seedFile: (m: OwnMirror) => SeedFile
  /** The file name of a stream of a video (as its origin names it). */
  fileName: (id: string, rendition: number) => string
  /**
   * Fetches the origin's .torrent and media playlist of a stream, checked against what the
   * index says of it (info hash, size, file name; byte ranges inside the file).
   */
  loadStream: (id: string, stream: StreamCandidate) => Promise<LoadedStream>
  /** Peer addresses webtorrent must not connect to (private ranges, unless the pod allows them). */
  blocklist?: { start: string; end: string }[]
  /** Queues messages for every friend. */
  broadcast: (messages: MirrorMessage[]) => void
  /** Runs `fn` in one database transaction: a copy's state and its announcement are written together or not at all. */
  atomically: (fn: () => void) => void
  /** Keeps a finished copy (downloaded under `dir`), its .torrent and its media playlist in the pod's store. */
  keep: (m: OwnMirror, loaded: LoadedStream) => Promise<void>
  /** Removes a dropped copy, its playlist and its .torrent from the pod's store (besides its folder under `dir`). */
  discard: (m: OwnMirror) => Promise<void>
  loadWebTorrent: LoadWebTorrent
  log: ActorLog
  now: () => number
  /** How often the actor looks for work without being told (ms). */
  intervalMs?: number
  /** Bytes that may still be written to the data folder's disk before its margin (`disk.minFreeBytes`); negative below it. */
  diskRoom: () => number
}

/** Videos copied at once (each with all its missing streams). */
const PARALLEL_DOWNLOADS = 2
/** A copy that failed is not tried again for this long. */
const RETRY_AFTER_MS = 10 * 60_000

/** Keeps copies within the budget; tells the seeder and the tracker (through the pod) of each copy that comes or goes. */
export const redundancyLogic = fromCallback<RedundancyEvent, RedundancyActorInput, SeederEvent | TrackerEvent>(({ input, receive, sendBack }) => {
  const { store, log } = input
  let client: WebTorrent | undefined
  const downloading = new Map<string, OwnMirror>()
  /** When a copy of a video last failed (by video id). */
  const failedAt = new Map<string, number>()
  let stopped = false
  let running = false
  let again = false

  const ref = (m: OwnMirror) => ({ id: m.video, infoHash: m.infoHash, ...(m.rendition === null ? {} : { rendition: m.rendition }) })
  const discard = (m: OwnMirror) => input.discard(m).catch((e: Error) => log.warn('mirror.discard.failed', { infoHash: m.infoHash, error: e.message }))

  const drop = (m: OwnMirror, reason: string) => {
    if (downloading.delete(m.infoHash)) void client?.remove(m.infoHash, { destroyStore: false }).catch(() => undefined)
    rmSync(join(input.dir, m.infoHash), { recursive: true, force: true })
    void discard(m)
    // A crash leaves both the row and its unmirror, or neither: friends never keep listing a copy that is gone.
    input.atomically(() => {
      store.drop(m.infoHash)
      input.listing.removeOwn(m.video, m.infoHash)
      if (m.state === 'ready') input.broadcast([{ type: 'video.unmirror', data: ref(m) }])
    })
    sendBack({ type: 'seeder.video.removed', infoHash: m.infoHash })
    sendBack({ type: 'tracker.video.removed', infoHash: m.infoHash })
    log.info('mirror.dropped', { video: m.video, rendition: m.rendition, infoHash: m.infoHash, reason })
  }

  const finish = async (m: OwnMirror, loaded: LoadedStream) => {
    // The seeder takes over seeding; the downloader lets go of the torrent, keeping the file.
    await client?.remove(m.infoHash, { destroyStore: false }).catch(() => undefined)
    try {
      await input.keep(m, loaded)
    } catch (e) {
      // Not kept (the bucket did not answer): dropped like a failed download, tried again later.
      failedAt.set(m.video, input.now())
      return drop(m, `the copy could not be stored: ${(e as Error).message}`)
    }
    // Dropped while it was being stored (its video left the index, the budget): what the
    // store kept meanwhile goes too, and the copy is not announced.
    if (downloading.get(m.infoHash) !== m) {
      await discard(m)
      return
    }
    downloading.delete(m.infoHash)
    if (stopped) return
    // Ready and announced together: a crash between them would leave a copy friends never hear of.
    input.atomically(() => {
      store.markReady(m.infoHash)
      input.listing.addOwn(m.video, m.infoHash, m.rendition, input.now())
      input.broadcast([{ type: 'video.mirror', data: ref(m) }])
    })
    const ready = { ...m, state: 'ready' as const }
    sendBack({ type: 'tracker.video.added', infoHash: m.infoHash })
    sendBack({ type: 'seeder.video.added', file: input.seedFile(ready) })
    log.info('mirror.ready', { video: m.video, rendition: m.rendition, infoHash: m.infoHash, size: m.size })
  }

  /** Starts the download of one stream of a video; its row reserves its bytes of the budget at once. */
  const startStream = async (id: string, s: StreamCandidate, createdAt: number) => {
    // One copy per info hash: a friend's video naming another's stream shares its copy.
    if (store.byInfoHash(s.infoHash)) return
    const m: OwnMirror = { infoHash: s.infoHash, video: id, rendition: s.rendition, file: `${s.infoHash}/${input.fileName(id, s.rendition)}`, size: s.size, state: 'downloading', createdAt }
    store.startDownload(m, createdAt)
    downloading.set(s.infoHash, m)
    const fail = (error: string) => {
      failedAt.set(id, input.now())
      if (downloading.get(s.infoHash) === m) drop(m, error)
      log.warn('mirror.failed', { video: id, rendition: s.rendition, error })
    }
    try {
      const loaded = await input.loadStream(id, s)
      if (stopped || downloading.get(s.infoHash) !== m) return
      mkdirSync(join(input.dir, s.infoHash), { recursive: true })
      // Loaded at the first copy: a pod without redundancy never loads webtorrent for it.
      const WebTorrent = await input.loadWebTorrent()
      if (stopped) return
      client ??= new WebTorrent({ dht: false, lsd: false, utp: false, natUpnp: false, natPmp: false, ...(input.blocklist ? { blocklist: input.blocklist } : {}) }).on(
        'error',
        (e: Error) => log.warn('mirror.client.error', { error: e.message }),
      )
      client.add(loaded.torrent as never, { path: join(input.dir, s.infoHash) }, (t) => {
        log.info('mirror.downloading', { video: id, rendition: s.rendition, infoHash: s.infoHash })
        t.on('done', () => void finish(m, loaded))
        t.on('error', (e: Error) => fail(e.message))
      })
    } catch (e) {
      fail((e as Error).message)
    }
  }

  /** Videos being copied. */
  const copying = () => new Set([...downloading.values()].map((m) => m.video)).size

  const check = async () => {
    if (running) {
      again = true
      return
    }
    running = true
    try {
      for (const { mirror, reason } of store.orphans()) drop(mirror, reason)
      // Over budget (it was lowered, or redundancy turned off): the oldest copies go first,
      // each with every stream of its video.
      const budget = input.enabled ? input.budgetBytes : 0
      const own = store.own()
      for (const video of new Set(own.map((m) => m.video))) {
        if (store.used() <= budget) break
        for (const m of own) if (m.video === video) drop(m, 'over the redundancy budget')
      }
      if (!input.enabled || stopped) return
      // Below the disk's margin, downloads stop (their partial files go; they are tried again later) and none start.
      const disk = input.diskRoom()
      if (disk < 0) for (const m of downloading.values()) drop(m, 'the disk is below the margin kept free (disk.minFreeBytes)')
      // Within the budget and the disk's room, less what the downloads under way may still write.
      const room = Math.min(budget - store.used(), disk - [...downloading.values()].reduce((sum, m) => sum + m.size, 0))
      let free = room
      for (const c of store.candidates(input.self.fingerprint, room, input.strategy, 20)) {
        if (copying() >= PARALLEL_DOWNLOADS) break
        if (input.now() - (failedAt.get(c.id) ?? -Infinity) < RETRY_AFTER_MS || c.size > free) continue
        free -= c.size
        const now = input.now()
        await Promise.all(c.streams.map((s) => startStream(c.id, s, now)))
      }
    } catch (e) {
      // A check cut short by the pod stopping (its database closed) is no failure.
      if (!stopped) log.error('redundancy.check.failed', { error: e })
    } finally {
      running = false
      if (again && !stopped) {
        again = false
        void check()
      }
    }
  }

  // Downloads do not survive a restart: their partial files go, and the check starts them
  // again. Whole-file copies of an earlier release go too (friends told): their videos' streams
  // are copied instead.
  for (const m of store.own()) {
    if (m.state === 'downloading') drop(m, 'interrupted by a restart')
    else if (m.rendition === null) drop(m, 'a whole-file copy of an earlier release: the video\'s streams are copied instead')
  }
  const timer = setInterval(() => void check(), input.intervalMs ?? 60_000)
  setTimeout(() => void check(), 0)
  receive(() => void check())
  return () => {
    stopped = true
    clearInterval(timer)
    client?.destroy()
  }
})
