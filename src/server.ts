/**
 * Starting and stopping one pod: data folder, identity, database, accounts, actors, HTTP.
 * Several pods can run in one process (the tests do), each with its own services.
 */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { startPodActor } from '../actors/pod'
import pkg from '../package.json'
import { Accounts, AttemptLimiter } from './accounts'
import type { Config } from './config'
import type { Pod } from './context'
import { loadOrCreateIdentity, loadOrCreateSecret } from './crypto/identity'
import { openDatabase } from './db'
import { Friends } from './friends/service'
import { VideoDetails } from './videos/details'
import { VideoFiles } from './videos/files'
import { Videos } from './videos/service'
import { createTracker, type AnnounceInfo } from './tracker/tracker'
import { buildApp } from './http/app'
import type { Logger } from './log'

/** seedpod's version, from package.json (embedded in the executable). */
export const VERSION: string = pkg.version

/** A running pod. */
export interface RunningPod {
  readonly pod: Pod
  /** The port it listens on. */
  readonly port: number
  /** Stops accepting, lets in-flight requests finish, stops the actors, closes the database. */
  stop(): Promise<void>
}

/** Starts a pod from a validated configuration. */
export async function startPod(config: Config, log: Logger): Promise<RunningPod> {
  mkdirSync(config.dataDir, { recursive: true, mode: 0o750 })
  const { identity, created } = await loadOrCreateIdentity(config.dataDir)
  if (created) log.info('identity.created', { fingerprint: identity.fingerprint })
  const db = openDatabase(join(config.dataDir, 'seedpod.db'))
  const friends = new Friends(db, config, identity, log)
  const files = new VideoFiles(config.dataDir)
  files.prepare()
  const videos = new Videos(db, config, friends, identity.fingerprint, files, log)
  videos.pruneThumbnails()
  // The tracker serves this pod's own videos and the copies it keeps; the tracker actor keeps the set.
  const allowed = new Set([...videos.localFiles(), ...videos.mirrors.own().filter((m) => m.state === 'ready')].map((f) => f.infoHash))
  // A peer that needs an own video is also a request to seed it over TCP (seeding on demand);
  // seeders (left = 0) and goodbyes ask for nothing.
  const isAllowed = (infoHash: string, announce: AnnounceInfo) => {
    if (!allowed.has(infoHash)) return false
    if (announce.left !== 0 && announce.event !== 'stopped') actors.system.get('seeder')?.send({ type: 'seeder.video.wanted', infoHash })
    return true
  }
  const tracker = createTracker({ isAllowed, trustProxy: config.trustProxy, log })
  const actors = startPodActor({
    log,
    friendPorts: friends.ports,
    tracker: { tracker, allowed },
    seeder: { find: (infoHash) => videos.localFileByInfoHash(infoHash) ?? videos.mirrorFile(infoHash), port: config.torrentPort, log },
    transcoder: videos.transcoderInput(log),
    redundancy: {
      ...config.redundancy,
      store: videos.mirrors,
      self: { fingerprint: identity.fingerprint, url: config.url },
      dir: files.mirrors,
      torrentPath: (infoHash) => files.torrent(infoHash),
      videoInfo: (id) => videos.mirrorSource(id),
      broadcast: (messages) => friends.broadcast(messages),
      log,
      now: Date.now,
    },
  })
  // New videos from friends, or friends gone: the redundancy actor looks again.
  friends.onChange(() => actors.system.get('redundancy')?.send({ type: 'redundancy.check' }))
  videos.attach(actors)
  const pod: Pod = {
    config,
    log,
    db,
    identity,
    accounts: new Accounts(db, config, loadOrCreateSecret(config.dataDir, 'token.secret')),
    loginLimiter: new AttemptLimiter(config.auth.loginAttempts, config.auth.loginWindowSeconds * 1000),
    actors,
    friends,
    videos,
    // Constructed before the pod listens: it registers the details message handlers.
    details: new VideoDetails(db, config, friends, identity.fingerprint, videos, log),
    tracker,
    startedAt: Date.now(),
    version: VERSION,
  }
  const app = buildApp(pod)
  try {
    // Room above the upload limit for the multipart envelope; the upload route enforces the limit itself.
    app.listen({ hostname: config.host, port: config.port, maxRequestBodySize: config.maxUploadBytes + 1024 * 1024 })
  } catch (e) {
    actors.stop()
    db.close()
    throw e
  }
  // Friends verify this pod's URL when it presents itself, so it must be listening first.
  friends.attach(actors)
  friends.onStart().catch((e) => log.error('friends.start.failed', { error: e }))
  log.info('pod.started', { url: config.url, listen: `${config.host}:${config.port}`, fingerprint: identity.fingerprint, version: VERSION })
  let stopping: Promise<void> | undefined
  return {
    pod,
    port: app.server!.port!,
    stop: () =>
      (stopping ??= (async () => {
        // Tracker WebSockets stay open as long as their browsers do: close them first, or the
        // server would wait for them and never stop.
        await tracker.close()
        await app.stop()
        actors.send({ type: 'pod.stop' })
        actors.stop()
        db.close()
        log.info('pod.stopped')
      })()),
  }
}
