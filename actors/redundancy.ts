/**
 * The redundancy actor: keeps copies of friends' videos within a disk budget. A copy is
 * downloaded over BitTorrent (the origin's web seed and TCP seeder, other mirrors), then
 * seeded and served as a web seed by this pod, and announced to every friend with
 * `video.mirror`, so the video still plays when its origin is down. Copies are dropped,
 * files and all, beyond the budget, when the video leaves the index (removed at its
 * origin, or the friendship ended), and announced gone with `video.unmirror`.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type WebTorrent from 'webtorrent'
import { fromCallback } from 'xstate'
import type { Message } from '../src/federation/envelope'
import { lazyImport } from '../src/app/lazy'
import type { Logger } from '../src/shared/log'
import type { MirrorStore, OwnMirror } from '../src/redundancy/store'
import type { LocalFile } from '../src/videos/service'

export type RedundancyEvent = { type: 'redundancy.check' }

export interface RedundancyActorInput {
  enabled: boolean
  budgetBytes: number
  strategy: 'recent' | 'smallest'
  store: MirrorStore
  /** This pod's fingerprint and URL (its own copies are mirrors of the network too). */
  self: { fingerprint: string; url: string }
  /** Folder of the copies (`<data>/mirrors`). */
  dir: string
  /** Where a copy's .torrent is kept (served at /static/torrents/). */
  torrentPath: (infoHash: string) => string
  /** What a video of the index needs for a copy: file name and the origin's torrent URL. */
  videoInfo: (id: string) => { fileName: string; torrentUrl: string; mime: string } | undefined
  /** Queues messages for every friend. */
  broadcast: (messages: Message[]) => void
  log: Logger
  now: () => number
  /** How often the actor looks for work without being told (ms). */
  intervalMs?: number
}

const PARALLEL_DOWNLOADS = 2
/** A copy that failed is not tried again for this long. */
const RETRY_AFTER_MS = 10 * 60_000

export const redundancyLogic = fromCallback<RedundancyEvent, RedundancyActorInput>(({ input, receive, system }) => {
  const { store, log } = input
  let client: WebTorrent | undefined
  const downloading = new Map<string, OwnMirror>()
  const failedAt = new Map<string, number>()
  let stopped = false
  let running = false
  let again = false

  const fileOf = (m: OwnMirror): LocalFile => ({
    id: m.video,
    resolution: null,
    infoHash: m.infoHash,
    path: join(input.dir, m.file),
    torrentPath: input.torrentPath(m.infoHash),
    mime: m.file.endsWith('.webm') ? 'video/webm' : 'video/mp4',
  })

  const drop = (m: OwnMirror, reason: string) => {
    if (downloading.delete(m.infoHash)) void client?.remove(m.infoHash, { destroyStore: false }).catch(() => undefined)
    rmSync(join(input.dir, m.infoHash), { recursive: true, force: true })
    rmSync(input.torrentPath(m.infoHash), { force: true })
    store.drop(m.infoHash)
    store.removeKnown(m.video, m.infoHash, input.self.fingerprint)
    system.get('seeder')?.send({ type: 'seeder.video.removed', infoHash: m.infoHash })
    system.get('tracker')?.send({ type: 'tracker.video.removed', infoHash: m.infoHash })
    if (m.state === 'ready') input.broadcast([{ type: 'video.unmirror', data: { id: m.video, infoHash: m.infoHash } }])
    log.info('mirror.dropped', { video: m.video, infoHash: m.infoHash, reason })
  }

  const finish = (m: OwnMirror, torrentFile: Uint8Array) => {
    downloading.delete(m.infoHash)
    // The seeder takes over seeding; the downloader lets go of the torrent, keeping the file.
    void client?.remove(m.infoHash, { destroyStore: false }).catch(() => undefined)
    writeFileSync(input.torrentPath(m.infoHash), torrentFile)
    store.markReady(m.infoHash)
    store.addKnown(m.video, m.infoHash, input.self)
    const ready = { ...m, state: 'ready' as const }
    system.get('tracker')?.send({ type: 'tracker.video.added', infoHash: m.infoHash })
    system.get('seeder')?.send({ type: 'seeder.video.added', file: fileOf(ready) })
    input.broadcast([{ type: 'video.mirror', data: { id: m.video, infoHash: m.infoHash } }])
    log.info('mirror.ready', { video: m.video, infoHash: m.infoHash, size: m.size })
  }

  const start = async (c: { id: string; infoHash: string; size: number }) => {
    const info = input.videoInfo(c.id)
    if (!info) return
    const m: OwnMirror = { infoHash: c.infoHash, video: c.id, file: `${c.infoHash}/${info.fileName}`, size: c.size, state: 'downloading', createdAt: input.now() }
    store.startDownload(m, m.createdAt)
    downloading.set(c.infoHash, m)
    const fail = (error: string) => {
      failedAt.set(c.infoHash, input.now())
      if (downloading.has(c.infoHash)) drop(m, error)
      log.warn('mirror.failed', { video: c.id, error })
    }
    try {
      const res = await fetch(info.torrentUrl, { signal: AbortSignal.timeout(10_000) })
      if (!res.ok) throw new Error(`the origin answered ${res.status} for the torrent`)
      const torrentFile = new Uint8Array(await res.arrayBuffer())
      if (stopped || !downloading.has(c.infoHash)) return
      mkdirSync(join(input.dir, c.infoHash), { recursive: true })
      // Loaded at the first copy: a pod without redundancy never loads webtorrent for it.
      const { default: WebTorrent } = await lazyImport('webtorrent')
      if (stopped) return
      client ??= new WebTorrent({ dht: false, lsd: false, utp: false, natUpnp: false, natPmp: false }).on('error', (e: Error) => log.warn('mirror.client.error', { error: e }))
      client.add(torrentFile, { path: join(input.dir, c.infoHash) }, (t) => {
        // The index said which info hash; a torrent file of another is not that video.
        if (t.infoHash !== c.infoHash) return fail('the origin served a torrent of another info hash')
        log.info('mirror.downloading', { video: c.id, infoHash: c.infoHash })
        t.on('done', () => finish(m, torrentFile))
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
      const room = budget - store.used()
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
      if (!stopped) log.error('redundancy.check.failed', { error: e as Error })
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
