/**
 * The second step of a pod's start (server.ts): everything but its identity and its listening
 * socket. Builds the database, the services, the actors and the Elysia app from their inputs,
 * in a module loaded only once the pod listens (src/app/lazy.ts), with the pod's modules
 * loaded in steps (parts.ts). Each feature owns its start-up checks and its chores.
 */
import type { Database } from 'bun:sqlite'
import type { WebSocketHandler } from 'bun'
import { join } from 'node:path'
import type { PodEvents } from '../../actors/pod'
import { checkMediaTools, logMediaTools, type MediaTools } from '../media/tools'
import { loadParts } from './parts'
import type { AssembleInput, Assembled, Pod } from './pod'

/** Builds a pod's parts on its identity. */
export async function assemble(input: AssembleInput): Promise<Assembled> {
  // ffmpeg and ffprobe are looked for (each run once) while the rest is built.
  const media = checkMediaTools()
  const { openDatabase } = await import('../shared/db')
  const db = openDatabase(join(input.config.dataDir, 'seedpod.db'), { log: input.log })
  try {
    await input.pause()
    return await assembleOn(db, input, media)
  } catch (e) {
    db.close()
    throw e
  }
}

async function assembleOn(db: Database, { config, log, identity, server, version, pause }: AssembleInput, checking: Promise<MediaTools>): Promise<Assembled> {
  const m = await loadParts(pause)
  const media = await checking
  logMediaTools(log, media)
  const now = Date.now
  const fingerprint = identity.fingerprint
  // The services send events to the pod actor, made right after them and started last: events sent meanwhile wait in its mailbox.
  const events: PodEvents = { send: (event) => actors.send(event) }
  const videoRows = new m.VideoStore(db)
  // The bucket must answer before anything is served from it (the error names it and what failed).
  const storage = new m.PodStorage(await m.openStorage(config.storage, config.dataDir), config.dataDir, log)
  const moves = new m.StorageMoves({ db, storage, log, isOwnKey: (key) => m.ownKeys(videoRows).includes(key), now })
  const files = new m.VideoFiles(config.dataDir, storage, moves, config.disk.minFreeBytes)
  files.prepare()
  const mirrors = new m.MirrorStore(db, videoRows)
  const known = new m.KnownMirrors(db, videoRows, { fingerprint, url: config.url })
  const queue = new m.TranscodeQueue(db, now)
  const outbound = m.podOutbound(config, fingerprint)
  const transport = new m.Transport({ identity, selfUrl: config.url, outbound, deliveryTimeoutMs: 3 * config.network.fetchTimeoutMs, now })
  const friendStore = new m.FriendStore(db)
  const admission = new m.Admission(config.friends, friendStore, now)
  // Counters and histograms are moved from the start; its gauges are read from the parts below (watch).
  const metrics = new m.PodMetrics()
  const inbox = new m.Inbox({ db, identity, transport, peers: friendStore, gate: admission, prove: (url) => m.fetchPodInfo(outbound, url), now, counted: metrics.inboxMessage })
  const base = { db, config, log, fingerprint, videoRows, actors: events, inbox, outbound, now }
  const friends = new m.Friends({ ...base, store: friendStore, admission, transport })
  const detailsStore = new m.DetailsStore(db)
  const videos = new m.Videos({ ...base, rows: videoRows, details: detailsStore, friends, files, mirrors, known, queue })
  const runnerStore = new m.RunnerStore(db, queue, now)
  const transcoding = new m.Transcoding({ ...base, videos, friends, queue, runners: runnerStore, media })
  const runners = new m.Runners({ ...base, store: runnerStore, queue, videos, transcoding, media })
  const redundancy = new m.Redundancy({ ...base, self: { fingerprint, url: config.url }, files, store: mirrors, known, friends })
  const details = new m.VideoDetails({ ...base, store: detailsStore, friends, videos })
  videos.thumbnails.prune()
  await m.sweepAtStart(storage, [videos.storedFiles(), redundancy.storedFiles()], log)
  const served = new m.ServedFiles(videos, redundancy)
  const { tracker, allowed, seederPeerId } = m.podTracker({ served, events, config, log })
  const accounts = m.accountsOf(db, config)
  const loadWebTorrent = () => m.lazyImport('webtorrent').then((w) => w.default)
  const actors = m.createActor(m.podMachine.provide({ actors: { friend: m.provideFriendMachine(friends, now, metrics.delivered) } }), {
    systemId: 'pod',
    input: {
      log,
      storedFriends: () => friends.storedFriends(),
      friendSettings: { retry: config.retry, score: config.score, now },
      tracker: { tracker, allowed },
      seeder: m.seederInput({ served, storage, port: config.torrentPort, peerId: seederPeerId, loadWebTorrent, log }),
      transcoder: metrics.timedTranscoder(transcoding.actorInput(log)),
      redundancy: redundancy.actorInput(log, loadWebTorrent),
      housekeeper: { log, chores: [...friends.chores(), ...runners.chores(), ...moves.chores(), ...accounts.chores(), ...redundancy.chores()] },
    },
  })
  // New videos from friends, or friends gone: the redundancy actor looks again; a friend's metrics go with it.
  friends.onChange((change) => {
    actors.send({ type: 'redundancy.check' })
    if (change.type === 'removed') metrics.friendGone(change.fingerprint)
  })
  metrics.watch({ friends, tracker, queue, dataDir: config.dataDir, media, version })
  // Once the files are known to be there (the sweep): what own videos of earlier releases lack (streams) is queued.
  transcoding.repackaging.scan(undefined, log)
  await pause()
  const making = new m.FriendMaking({ ...base, identity, friends })
  const loginLimiter = new m.AttemptLimiter(config.auth.loginAttempts, config.auth.loginWindowSeconds * 1000)
  const pod: Pod = { config, log, db, identity, media, metrics, accounts, loginLimiter, actors, inbox, friends, making, videos, transcoding, runners, redundancy, details, served, tracker, startedAt: Date.now(), version }
  const app = m.buildApp(pod).compile()
  // On an address of its own (metrics.listen), if set: a taken address fails the start.
  const scrapes = m.serveMetrics(config, () => metrics.render(), log)
  // What Elysia's own listen does: its WebSocket routes upgrade through `app.server`.
  app.server = server
  return {
    pod,
    fetch: metrics.http(app.fetch),
    // Elysia declares its own copy of Bun's WebSocket types, which TypeScript tells apart.
    websocket: m.websocket as unknown as WebSocketHandler<any>,
    start() {
      actors.start()
      // What a crash left queued for the bucket (src/storage/moves.ts).
      void moves.run()
      // Mirrors due (checks a stop cut short, rows of an earlier release) are checked now, not at the first chore.
      redundancy.checks.wake()
      making.onStart().catch((e) => log.error('friends.start.failed', { error: e }))
    },
    close() {
      // Scrapes read the database: they end first.
      void scrapes?.stop(true)
      metrics.stop()
      actors.send({ type: 'pod.stop' })
      actors.stop()
      redundancy.checks.stop()
      db.close()
    },
  }
}
