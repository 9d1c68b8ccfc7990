/**
 * The redundancy actor: keeps copies of friends' videos within a disk budget. A copy is
 * downloaded over BitTorrent (the origin's web seed and TCP seeder, other mirrors), then
 * seeded and served as a web seed by this pod, and announced to every friend with
 * `video.mirror`, so the video still plays when its origin is down. Copies are dropped,
 * files and all, beyond the budget, when the video leaves the index (removed at its
 * origin, or the friendship ended), and announced gone with `video.unmirror`.
 */
import { mkdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import type WebTorrent from 'webtorrent'
import { fromCallback } from 'xstate'
import type { ActorLog, LoadWebTorrent, SeedFile } from './ports'
import type { SeederEvent } from './seeder'
import type { TrackerEvent } from './tracker'

export type RedundancyEvent = { type: 'redundancy.check' }

/** A copy this pod keeps. */
export interface OwnMirror {
  infoHash: string
  video: string
  /** Path of the file, relative to the data folder's mirrors/ folder. */
  file: string
  size: number
  state: 'downloading' | 'ready'
  createdAt: number
}

/** The messages the redundancy actor has friends told. */
export type MirrorMessage = { type: 'video.mirror' | 'video.unmirror'; data: { id: string; infoHash: string } }

/** The durable side of redundancy, as the actor uses it (src/redundancy/store.ts). */
export interface MirrorPort {
  /** The copies this pod keeps, oldest first. */
  own(): OwnMirror[]
  /** Copies whose video left the index. */
  orphans(): OwnMirror[]
  /** Bytes used (and reserved by downloads) by this pod's copies. */
  used(): number
  /** Friends' videos worth a copy, best first by the strategy, within `room` bytes. */
  candidates(self: string, room: number, strategy: 'recent' | 'smallest', limit: number): { id: string; infoHash: string; size: number }[]
  startDownload(m: OwnMirror, now: number): void
  markReady(infoHash: string): void
  drop(infoHash: string): void
  addKnown(video: string, infoHash: string, pod: { fingerprint: string; url: string }): boolean
  removeKnown(video: string, infoHash: string, fingerprint: string): boolean
}

export interface RedundancyActorInput {
  enabled: boolean
  budgetBytes: number
  strategy: 'recent' | 'smallest'
  store: MirrorPort
  /** This pod's fingerprint and URL (its own copies are mirrors of the network too). */
  self: { fingerprint: string; url: string }
  /** Folder of the copies (`<data>/mirrors`): each is downloaded there. */
  dir: string
  /** A copy as the seeder takes it (its keys in the pod's store). */
  seedFile: (m: OwnMirror) => SeedFile
  /** The file name a copy of a video of the index gets, undefined when it left the index. */
  fileName: (id: string) => string | undefined
  /**
   * Fetches and checks the origin's .torrent of a video: the torrent to hand webtorrent (its
   * trackers and web seeds are the origin's own, whatever the file said), the file to keep, and
   * the info hash and length it really has.
   */
  loadTorrent: (id: string) => Promise<{ torrent: object; file: Uint8Array; infoHash: string; length: number }>
  /** Peer addresses webtorrent must not connect to (private ranges, unless the pod allows them). */
  blocklist?: { start: string; end: string }[]
  /** Queues messages for every friend. */
  broadcast: (messages: MirrorMessage[]) => void
  /** Keeps a finished copy (downloaded under `dir`) and its .torrent in the pod's store. */
  keep: (m: OwnMirror, torrentFile: Uint8Array) => Promise<void>
  /** Removes a dropped copy and its .torrent from the pod's store (besides its folder under `dir`). */
  discard: (m: OwnMirror) => Promise<void>
  loadWebTorrent: LoadWebTorrent
  log: ActorLog
  now: () => number
  /** How often the actor looks for work without being told (ms). */
  intervalMs?: number
  /** Bytes that may still be written to the data folder's disk before its margin (`disk.minFreeBytes`); negative below it. */
  diskRoom: () => number
}

const PARALLEL_DOWNLOADS = 2
/** A copy that failed is not tried again for this long. */
const RETRY_AFTER_MS = 10 * 60_000

/** Keeps copies within the budget; tells the seeder and the tracker (through the pod) of each copy that comes or goes. */
export const redundancyLogic = fromCallback<RedundancyEvent, RedundancyActorInput, SeederEvent | TrackerEvent>(({ input, receive, sendBack }) => {
  const { store, log } = input
  let client: WebTorrent | undefined
  const downloading = new Map<string, OwnMirror>()
  const failedAt = new Map<string, number>()
  let stopped = false
  let running = false
  let again = false

  const drop = (m: OwnMirror, reason: string) => {
    if (downloading.delete(m.infoHash)) void client?.remove(m.infoHash, { destroyStore: false }).catch(() => undefined)
    rmSync(join(input.dir, m.infoHash), { recursive: true, force: true })
    void input.discard(m).catch((e: Error) => log.warn('mirror.discard.failed', { infoHash: m.infoHash, error: e.message }))
    store.drop(m.infoHash)
    store.removeKnown(m.video, m.infoHash, input.self.fingerprint)
    sendBack({ type: 'seeder.video.removed', infoHash: m.infoHash })
    sendBack({ type: 'tracker.video.removed', infoHash: m.infoHash })
    if (m.state === 'ready') input.broadcast([{ type: 'video.unmirror', data: { id: m.video, infoHash: m.infoHash } }])
    log.info('mirror.dropped', { video: m.video, infoHash: m.infoHash, reason })
  }

  const finish = async (m: OwnMirror, torrentFile: Uint8Array) => {
    // The seeder takes over seeding; the downloader lets go of the torrent, keeping the file.
    await client?.remove(m.infoHash, { destroyStore: false }).catch(() => undefined)
    try {
      await input.keep(m, torrentFile)
    } catch (e) {
      // Not kept (the bucket did not answer): dropped like a failed download, tried again later.
      failedAt.set(m.infoHash, input.now())
      return drop(m, `the copy could not be stored: ${(e as Error).message}`)
    }
    // Dropped while it was being stored (its video left the index, the budget): what the
    // store kept meanwhile goes too, and the copy is not announced.
    if (downloading.get(m.infoHash) !== m) {
      await input.discard(m).catch((e: Error) => log.warn('mirror.discard.failed', { infoHash: m.infoHash, error: e.message }))
      return
    }
    downloading.delete(m.infoHash)
    if (stopped) return
    store.markReady(m.infoHash)
    store.addKnown(m.video, m.infoHash, input.self)
    const ready = { ...m, state: 'ready' as const }
    sendBack({ type: 'tracker.video.added', infoHash: m.infoHash })
    sendBack({ type: 'seeder.video.added', file: input.seedFile(ready) })
    input.broadcast([{ type: 'video.mirror', data: { id: m.video, infoHash: m.infoHash } }])
    log.info('mirror.ready', { video: m.video, infoHash: m.infoHash, size: m.size })
  }

  const start = async (c: { id: string; infoHash: string; size: number }) => {
    const fileName = input.fileName(c.id)
    if (!fileName) return
    const m: OwnMirror = { infoHash: c.infoHash, video: c.id, file: `${c.infoHash}/${fileName}`, size: c.size, state: 'downloading', createdAt: input.now() }
    store.startDownload(m, m.createdAt)
    downloading.set(c.infoHash, m)
    const fail = (error: string) => {
      failedAt.set(c.infoHash, input.now())
      if (downloading.has(c.infoHash)) drop(m, error)
      log.warn('mirror.failed', { video: c.id, error })
    }
    try {
      const loaded = await input.loadTorrent(c.id)
      if (stopped || !downloading.has(c.infoHash)) return
      // The index said which info hash and size (what the budget reserved): a torrent of
      // another hash is not that video, and one of another length would overrun the budget.
      if (loaded.infoHash !== c.infoHash) return fail('the origin served a torrent of another info hash')
      if (loaded.length !== c.size) return fail(`the torrent has ${loaded.length} bytes, not the ${c.size} the origin declared`)
      mkdirSync(join(input.dir, c.infoHash), { recursive: true })
      // Loaded at the first copy: a pod without redundancy never loads webtorrent for it.
      const WebTorrent = await input.loadWebTorrent()
      if (stopped) return
      client ??= new WebTorrent({ dht: false, lsd: false, utp: false, natUpnp: false, natPmp: false, ...(input.blocklist ? { blocklist: input.blocklist } : {}) }).on(
        'error',
        (e: Error) => log.warn('mirror.client.error', { error: e.message }),
      )
      client.add(loaded.torrent as never, { path: join(input.dir, c.infoHash) }, (t) => {
        log.info('mirror.downloading', { video: c.id, infoHash: c.infoHash })
        t.on('done', () => void finish(m, loaded.file))
        t.on('error', (e: Error) => fail(e.message))
      })
    } catch (e) {
      fail((e as Error).message)
    }
  }

  const check = async () => {
    if (running) {
      again = true
      return
    }
    running = true
    try {
      for (const m of store.orphans()) drop(m, 'the video left the index')
      // Over budget (it was lowered, or redundancy turned off): the oldest copies go first.
      const budget = input.enabled ? input.budgetBytes : 0
      for (const m of store.own()) {
        if (store.used() <= budget) break
        drop(m, 'over the redundancy budget')
      }
      if (!input.enabled || stopped) return
      // Below the disk's margin, downloads stop (their partial files go; they are tried again later) and none start.
      const disk = input.diskRoom()
      if (disk < 0) for (const m of downloading.values()) drop(m, "the disk is below the margin kept free (disk.minFreeBytes)")
      // Within the budget and the disk's room, less what the downloads under way may still write.
      const room = Math.min(budget - store.used(), disk - [...downloading.values()].reduce((sum, m) => sum + m.size, 0))
      const candidates = store.candidates(input.self.fingerprint, room, input.strategy, 20)
      let free = room
      for (const c of candidates) {
        if (downloading.size >= PARALLEL_DOWNLOADS) break
        if (input.now() - (failedAt.get(c.infoHash) ?? -Infinity) < RETRY_AFTER_MS || c.size > free) continue
        free -= c.size
        await start(c)
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

  // Downloads do not survive a restart: their partial files go, and the check starts them again.
  for (const m of store.own()) if (m.state === 'downloading') drop(m, 'interrupted by a restart')
  const timer = setInterval(() => void check(), input.intervalMs ?? 60_000)
  setTimeout(() => void check(), 0)
  receive(() => void check())
  return () => {
    stopped = true
    clearInterval(timer)
    client?.destroy()
  }
})
