/**
 * The tracker tests' fixture (test/tracker-http.test.ts, test/tracker-websocket.test.ts): the
 * pod's tracker mounted on an Elysia app listening on loopback, and a list of teardowns that
 * each test file runs after each test (`afterEach(runCleanups)`).
 */
import { Elysia } from 'elysia'
import { createLogger } from '../../src/shared/log'
import { trackerRoutes } from '../../src/torrents/tracker-routes'
import { resolveConfig } from '../../src/shared/config'
import { createTracker, type Tracker, type TrackerOptions } from '../../src/torrents/tracker'

/** The tracker's log: errors only. */
export const log = createLogger({ level: 'error', format: 'json' })

/** Everything a test started, torn down in reverse order by {@link runCleanups}. */
export const cleanups: Array<() => unknown> = []

/**
 * Runs and empties {@link cleanups}, even when one fails. Each test file calls
 * `afterEach(runCleanups)`: this module is loaded once for the whole run, so a hook registered
 * here would belong to the first file only.
 */
export async function runCleanups(): Promise<void> {
  for (const fn of cleanups.splice(0).reverse()) {
    try {
      await fn()
    } catch {
      // keep cleaning
    }
  }
}

export interface TrackerFixture {
  tracker: Tracker
  allowed: Set<string>
  port: number
  announceUrl: string
  socketUrl: string
}

/** The pod's tracker limits at their defaults (config `tracker.*`). */
export const TRACKER_DEFAULTS = resolveConfig([]).tracker

/**
 * A tracker serving the infohashes in `allowed`, mounted on an app listening on a free
 * loopback port, with the pod's default limits unless `opts` says otherwise.
 */
export function startTracker(opts: Partial<Pick<TrackerOptions, 'trustProxy' | 'peersPerAddress' | 'announcesPerMinute' | 'isOwnPeer' | 'swarmPeers' | 'now'>> = {}): TrackerFixture {
  const allowed = new Set<string>()
  const tracker = createTracker({ isAllowed: (h) => allowed.has(h), trustProxy: false, log, ...TRACKER_DEFAULTS, ...opts })
  const app = new Elysia().use(trackerRoutes(tracker)).listen({ hostname: '127.0.0.1', port: 0 })
  cleanups.push(() => app.stop(true), () => tracker.close())
  const port = app.server!.port!
  return {
    tracker,
    allowed,
    port,
    announceUrl: `http://127.0.0.1:${port}/tracker/announce`,
    socketUrl: `ws://127.0.0.1:${port}/tracker/socket`,
  }
}

/** `n` random bytes (an infohash, a peer id, a file's content). */
export function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n)
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(out.subarray(i, Math.min(n, i + 65536)))
  return out
}

export const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')

/** Polls `cond` every 10 ms until it holds; throws after `ms`. */
export async function until(cond: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await Bun.sleep(10)
  }
}
