/**
 * Starting and stopping one pod. Several pods can run in one process (the tests do), each
 * with its own services.
 *
 * A start has two steps: the pod loads its identity and listens (listen.ts: from then on
 * it answers `GET /api/v1/pod`, and holds other requests), then builds its database, services,
 * actors and app (assemble.ts, a module loaded only then) and serves them.
 */
import { mkdirSync } from 'node:fs'
import { VERSION } from '../shared/version'
import type { Assembled } from './pod'
import type { Config } from '../shared/config'
import type { Pod } from './pod'
import { loadOrCreateIdentity } from '../identity/keys'
import { listen } from './listen'
import { podDocument } from '../identity/document'
import { LAZY_MODULES } from './lazy'
import type { Logger } from '../shared/log'


/** Loads the pod's code (once), kept out of the main bundle: see src/app/lazy.ts. */
export function loadAssemble(): Promise<typeof import('./assemble')> {
  const specifier: string = LAZY_MODULES.assemble
  return import(specifier)
}

/** A running pod. */
export interface RunningPod {
  readonly pod: Pod
  /** The port it listens on. */
  readonly port: number
  /** Stops accepting, lets in-flight requests finish, stops the actors, closes the database. */
  stop(): Promise<void>
}

/**
 * Lets the event loop run (a macrotask later): between the steps of a start, the server
 * accepts connections and answers `GET /api/v1/pod`; a promise alone would not let it.
 */
const pause = () => new Promise<void>((resolve) => setImmediate(resolve))

/** Starts a pod from a validated configuration. */
export async function startPod(config: Config, log: Logger): Promise<RunningPod> {
  mkdirSync(config.dataDir, { recursive: true, mode: 0o750 })
  const { identity, created } = await loadOrCreateIdentity(config.dataDir)
  if (created) log.info('identity.created', { fingerprint: identity.fingerprint })
  const listener = listen({
    hostname: config.host,
    port: config.port,
    // Room above the upload limit for the multipart envelope; the upload route enforces the limit itself.
    maxRequestBodySize: config.maxUploadBytes + 1024 * 1024,
    podDocument: podDocument(config, identity, VERSION),
  })
  let parts: Assembled
  try {
    await pause()
    const { assemble } = await loadAssemble()
    await pause()
    parts = await assemble({ config, log, identity, server: listener.server, version: VERSION, pause })
  } catch (e) {
    await listener.fail()
    throw e
  }
  const { pod } = parts
  listener.serve(parts.fetch, parts.websocket)
  // Friends verify this pod's URL when it presents itself, so it must be served first.
  parts.start()
  log.info('pod.started', { url: config.url, listen: `${config.host}:${config.port}`, fingerprint: identity.fingerprint, version: VERSION })
  let stopping: Promise<void> | undefined
  return {
    pod,
    port: listener.server.port!,
    stop: () =>
      (stopping ??= (async () => {
        // Tracker WebSockets stay open as long as their browsers do: close them first, or the
        // server would wait for them and never stop.
        await pod.tracker.close()
        await listener.server.stop()
        parts.close()
        log.info('pod.stopped')
      })()),
  }
}
