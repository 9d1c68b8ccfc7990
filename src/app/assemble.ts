/**
 * The second step of a pod's start (server.ts): everything but its identity and its listening
 * socket. Database, services, actors and the Elysia app are built here, in a module loaded
 * only once the pod listens (src/app/lazy.ts), so that listening waits for none of their code.
 * The work is done in a few steps with `pause` between them, where the server answers what
 * it can meanwhile (see listen.ts). For the same reason this module imports the pod's
 * code with `import()` step by step, not at its top: bundled, each such module is still part
 * of this entry point but is run only when a step first asks for it, so that loading the
 * entry point is one short step and running its code is spread over the others.
 */
import { join } from 'node:path'
import type { Server, WebSocketHandler } from 'bun'
import type { Accounts } from '../accounts/service'
import type { Config } from '../shared/config'
import type { Pod } from './pod'
import type { Identity } from '../identity/keys'
import type { Database } from 'bun:sqlite'
import type { FetchHandler } from './listen'
import type { Logger } from '../shared/log'
import type { PodEvents } from '../../actors/pod'
import type { RunnerStore } from '../runners/store'

/**
 * The accounts of the pod whose data is in `config.dataDir`, for `seedpod user add`
 * (src/app/cli.ts), which works on the database without a running pod. `close` closes it.
 */
export async function openAccounts(config: Config): Promise<{ accounts: Accounts; close(): void }> {
  const [{ Accounts }, { AccountStore }, { openDatabase }, { loadOrCreateSecret }] = await Promise.all([
    import('../accounts/service'),
    import('../accounts/store'),
    import('../shared/db'),
    import('../identity/keys'),
  ])
  const db = openDatabase(join(config.dataDir, 'seedpod.db'))
  try {
    return { accounts: new Accounts(new AccountStore(db), config, loadOrCreateSecret(config.dataDir, 'token.secret')), close: () => db.close() }
  } catch (e) {
    db.close()
    throw e
  }
}

/**
 * The runner registration tokens of the pod whose data is in `config.dataDir`, for `seedpod
 * runner token ...` (src/runners/cli.ts), which works on the database without a running pod.
 */
export async function openRunnerStore(config: Config): Promise<{ store: RunnerStore; close(): void }> {
  const [{ RunnerStore }, { TranscodeQueue }, { openDatabase }] = await Promise.all([import('../runners/store'), import('../transcoding/queue'), import('../shared/db')])
  const db = openDatabase(join(config.dataDir, 'seedpod.db'))
  return { store: new RunnerStore(db, new TranscodeQueue(db)), close: () => db.close() }
}

/**
 * `seedpod storage migrate --to s3|local` (src/app/cli.ts): moves the own files and the
 * copies of friends' videos of the pod whose data is in `config.dataDir` to its bucket or
 * back, while it serves (src/storage/migrate.ts),
 * again until a pass finds nothing left to move (uploads during the run go to the bucket).
 * The pod must run on the bucket (`storage.kind = "s3"`): only then does it read both places.
 */
export async function migrateStorage(config: Config, to: 's3' | 'local', progress: (key: string) => void): Promise<{ moved: number }> {
  const [{ openDatabase }, { openBucket }, { migrateAll, mirrorItems }, { MirrorStore }, { VideoStore }, { ownKeys }] = await Promise.all([
    import('../shared/db'),
    import('../storage/start'),
    import('../storage/migrate'),
    import('../redundancy/store'),
    import('../videos/store'),
    import('../videos/own-files'),
  ])
  const bucket = await openBucket(config.storage)
  const db = openDatabase(join(config.dataDir, 'seedpod.db'))
  const videoRows = new VideoStore(db)
  const mirrors = new MirrorStore(db, videoRows)
  try {
    return await migrateAll(db, bucket, config.dataDir, to, () => [...ownKeys(videoRows).map((key) => ({ key })), ...mirrorItems(mirrors)], progress)
  } finally {
    db.close()
  }
}

/** A pod's parts, built and not yet started. */
export interface Assembled {
  readonly pod: Pod
  /** The app's request handler and WebSocket events, for the listening server. */
  readonly fetch: FetchHandler
  readonly websocket: WebSocketHandler<any>
  /** Starts what reaches out to other pods; once the pod is served (friends check its URL). */
  start(): void
  /** Stops the actors and closes the database (the server is stopped before). */
  close(): void
}

/** What `assemble` needs besides the configuration. */
export interface AssembleInput {
  config: Config
  log: Logger
  identity: Identity
  /** Where the pod listens (for WebSocket upgrades). */
  server: Server<unknown>
  version: string
  /** Lets the event loop run between steps. */
  pause: () => Promise<void>
}

/** Builds a pod's parts on its identity. */
export async function assemble(input: AssembleInput): Promise<Assembled> {
  const { openDatabase } = await import('../shared/db')
  const db = openDatabase(join(input.config.dataDir, 'seedpod.db'))
  try {
    await input.pause()
    return await assembleOn(db, input)
  } catch (e) {
    db.close()
    throw e
  }
}

async function assembleOn(db: Database, { config, log, identity, server, version, pause }: AssembleInput): Promise<Assembled> {
  const [{ Friends }, { FriendStore }, { Admission }, { FriendMaking }, { fetchPodInfo }, { createOutbound }, { provideFriendMachine }, { Inbox }, { Transport }, { VideoFiles }, { Videos }, { MirrorStore }, { TranscodeQueue }, { createTracker }] =
    await Promise.all([
      import('../friends/service'),
      import('../friends/store'),
      import('../friends/admission'),
      import('../friends/making'),
      import('../federation/pod-info'),
      import('../shared/outbound'),
      import('../friends/actor'),
      import('../federation/inbox'),
      import('../federation/transport'),
      import('../videos/files'),
      import('../videos/service'),
      import('../redundancy/store'),
      import('../transcoding/queue'),
      import('../torrents/tracker'),
    ])
  await pause()
  const [{ podMachine }, { createActor }, { Transcoding }, { Runners }, { RunnerStore }, { Redundancy }, { Accounts, AttemptLimiter }, { AccountStore }, { loadOrCreateSecret }, { VideoDetails }, { DetailsStore }, { VideoStore }, { buildApp }, { websocket }, { lazyImport }] =
    await Promise.all([
      import('../../actors/pod'),
      import('xstate'),
      import('../transcoding/service'),
      import('../runners/service'),
      import('../runners/store'),
      import('../redundancy/service'),
      import('../accounts/service'),
      import('../accounts/store'),
      import('../identity/keys'),
      import('../details/service'),
      import('../details/store'),
      import('../videos/store'),
      import('./http'),
      import('elysia/ws'),
      import('./lazy'),
    ])
  await pause()
  const now = Date.now
  const self = { fingerprint: identity.fingerprint, url: config.url }
  // The bucket must answer before anything is served from it (the error names it and what failed).
  const [{ openStorage }, { PodStorage }, { sweepAtStart }, { ownKeys }, { StorageMoves }, { limitsEnforced }] = await Promise.all([
    import('../storage/start'),
    import('../storage/service'),
    import('../storage/sweep'),
    import('../videos/own-files'),
    import('../storage/moves'),
    import('../media/exec'),
  ])
  // The memory and CPU limits of each ffprobe/ffmpeg run (media.*) need prlimit: without it, say so.
  if (!limitsEnforced()) log.warn('media.limits.unenforced', { reason: 'prlimit (util-linux) is not installed: ffprobe and ffmpeg run without their memory and CPU limits' })
  const videoRows = new VideoStore(db)
  const storage = new PodStorage(await openStorage(config.storage, config.dataDir), config.dataDir, log)
  const moves = new StorageMoves(db, storage, log, (key) => ownKeys(videoRows).includes(key), now)
  const files = new VideoFiles(config.dataDir, storage, moves, config.disk.minFreeBytes)
  files.prepare()
  const mirrors = new MirrorStore(db, videoRows)
  const queue = new TranscodeQueue(db, now)
  const loadWebTorrent = () => lazyImport('webtorrent').then((m) => m.default)

  // The services send events to the pod actor, which runs on their effects: they are made
  // first, with a port that reaches the actor (made right after them, before anything can
  // send), and the actor is started last; events sent meanwhile wait in its mailbox.
  const events: PodEvents = { send: (event) => actors.send(event) }
  // Everything fetched from other pods goes through this one client (src/shared/outbound.ts).
  const outbound = createOutbound({
    allowPrivateAddresses: config.network.allowPrivateAddresses,
    selfUrl: config.url,
    selfFingerprint: identity.fingerprint,
    timeoutMs: config.network.fetchTimeoutMs,
    maxBytes: 1024 * 1024,
    failureTtlMs: 10_000,
  })
  const transport = new Transport(identity, config.url, outbound, 3 * config.network.fetchTimeoutMs, now)
  const friendStore = new FriendStore(db)
  const admission = new Admission(config.friends, friendStore, now)
  const inbox = new Inbox(db, identity, transport, friendStore, admission, (url) => fetchPodInfo(outbound, url), now)
  const friends = new Friends(db, config, identity.fingerprint, log, friendStore, videoRows, admission, transport, inbox, events, now)
  const detailsStore = new DetailsStore(db)
  const videos = new Videos(db, videoRows, detailsStore, config, friends, identity.fingerprint, files, mirrors, queue, inbox, events, outbound, log, now)
  const runnerStore = new RunnerStore(db, queue, now)
  const transcoding = new Transcoding(db, videoRows, config, videos, friends, queue, events, runnerStore, now)
  const runners = new Runners(config, runnerStore, queue, videos, videoRows, transcoding, events, log)
  const redundancy = new Redundancy(videoRows, config, self, files, mirrors, inbox, friends, outbound)
  const details = new VideoDetails(db, detailsStore, videoRows, config, friends, identity.fingerprint, videos, inbox, log)
  videos.thumbnails.prune()
  await sweepAtStart(storage, [videos.storedFiles(), redundancy.storedFiles()], log)
  // The tracker serves this pod's own videos and the copies it keeps; the tracker actor keeps the set.
  const allowed = new Set([...videos.localFiles(), ...mirrors.own().filter((m) => m.state === 'ready')].map((f) => f.infoHash))
  // A peer that needs an own video is also a request to seed it over TCP (seeding on demand);
  // seeders (left = 0) and goodbyes ask for nothing.
  const tracker = createTracker({
    isAllowed: (infoHash, announce) => {
      if (!allowed.has(infoHash)) return false
      if (announce.left !== 0 && announce.event !== 'stopped') events.send({ type: 'seeder.video.wanted', infoHash })
      return true
    },
    trustProxy: config.trustProxy,
    log,
  })
  const actors = createActor(podMachine.provide({ actors: { friend: provideFriendMachine(friends, now) } }), {
    systemId: 'pod',
    input: {
      log,
      storedFriends: () => friends.storedFriends(),
      friendSettings: { retry: config.retry, score: config.score, now },
      tracker: { tracker, allowed },
      seeder: {
        find: (infoHash) => videos.localFileByInfoHash(infoHash) ?? redundancy.mirrorFile(infoHash),
        port: config.torrentPort,
        loadWebTorrent,
        log,
        readTorrent: (file) => storage.small(file.torrentKey),
        place: (file) => storage.seedPlace(file.key),
      },
      transcoder: transcoding.actorInput(log),
      redundancy: redundancy.actorInput(log, loadWebTorrent),
      housekeeper: {
        log,
        chores: [
          { name: 'applied-messages', everyMs: 60_000, run: () => friends.pruneApplied() },
          // Leases that ran out go back to the queue; queued jobs that waited long enough for a runner go to this pod's transcoder.
          {
            name: 'runner-leases',
            everyMs: Math.min(1000, config.transcoding.leaseMs / 2),
            run: () => {
              const expired = queue.sweepLeases()
              if (expired) log.info('runner.leases.expired', { jobs: expired })
              if (queue.anyQueued()) events.send({ type: 'transcoder.job.added' })
            },
          },
          ...moves.chores(),
        ],
      },
    },
  })
  // New videos from friends, or friends gone: the redundancy actor looks again.
  friends.onChange(() => actors.send({ type: 'redundancy.check' }))
  await pause()
  const pod: Pod = {
    config,
    log,
    db,
    identity,
    accounts: new Accounts(new AccountStore(db), config, loadOrCreateSecret(config.dataDir, 'token.secret')),
    loginLimiter: new AttemptLimiter(config.auth.loginAttempts, config.auth.loginWindowSeconds * 1000),
    actors,
    inbox,
    friends,
    making: new FriendMaking(db, videoRows, config, identity, friends, outbound, log, now),
    videos,
    transcoding,
    runners,
    redundancy,
    details,
    tracker,
    startedAt: Date.now(),
    version,
  }
  const app = buildApp(pod).compile()
  // What Elysia's own listen does: its WebSocket routes upgrade through `app.server`.
  app.server = server
  return {
    pod,
    fetch: app.fetch,
    // Elysia declares its own copy of Bun's WebSocket types, which TypeScript tells apart.
    websocket: websocket as unknown as WebSocketHandler<any>,
    start() {
      actors.start()
      // What a crash left queued for the bucket (src/storage/moves.ts).
      void moves.run()
      pod.making.onStart().catch((e) => log.error('friends.start.failed', { error: e }))
    },
    close() {
      actors.send({ type: 'pod.stop' })
      actors.stop()
      db.close()
    },
  }
}
