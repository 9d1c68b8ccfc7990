/**
 * The process's own metrics, under the names Prometheus's client libraries give them
 * (`process_*`): CPU time, resident memory, open and allowed file descriptors, start time;
 * and how late the event loop runs a timer, which is how long anything else had to wait.
 * Open descriptors come from /proc (Linux) or /dev/fd (macOS); where neither is, they are
 * left out rather than guessed.
 */
import { readdirSync, readFileSync } from 'node:fs'
import type { Registry } from '../shared/metrics'

/** How often the event loop's lag is sampled. */
const LAG_SAMPLE_MS = 500

/** Bounds of the lag histogram, in seconds. */
const LAG_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]

/** The number of open file descriptors, or undefined where it cannot be read. */
function openFds(): number | undefined {
  for (const dir of ['/proc/self/fd', '/dev/fd']) {
    try {
      // Reading the folder opens one more descriptor, listed with the others.
      return readdirSync(dir).length - 1
    } catch {
      // Not this system's folder: try the next.
    }
  }
  return undefined
}

/** The soft limit of open files (Linux), or undefined. */
function maxFds(): number | undefined {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'))
    const soft = line?.slice('Max open files'.length).trim().split(/\s+/)[0]
    return soft && /^\d+$/.test(soft) ? Number(soft) : undefined
  } catch {
    return undefined
  }
}

/** Adds the process's metrics to `registry`; `stop` ends the lag sampling. */
export function processMetrics(registry: Registry): { stop(): void } {
  const cpu = () => process.cpuUsage()
  registry.collectedCounter('process_cpu_user_seconds_total', 'User CPU time of the process, in seconds.', () => cpu().user / 1e6)
  registry.collectedCounter('process_cpu_system_seconds_total', 'System CPU time of the process, in seconds.', () => cpu().system / 1e6)
  registry.collectedCounter('process_cpu_seconds_total', 'User and system CPU time of the process, in seconds.', () => {
    const c = cpu()
    return (c.user + c.system) / 1e6
  })
  registry.gauge('process_resident_memory_bytes', 'Resident memory of the process, in bytes.', [], () => process.memoryUsage.rss())
  registry.gauge('process_open_fds', 'Open file descriptors of the process.', [], openFds)
  registry.gauge('process_max_fds', 'Most file descriptors the process may open (soft limit).', [], maxFds)
  const started = Date.now() / 1000 - process.uptime()
  registry.gauge('process_start_time_seconds', 'When the process started, in seconds since the Unix epoch.', [], () => started)

  const lag = registry.histogram('seedpod_event_loop_lag_seconds', `How late a timer set every ${LAG_SAMPLE_MS} ms runs, in seconds: the longest anything waited for the event loop.`, [], LAG_BUCKETS)
  let last = performance.now()
  const timer = setInterval(() => {
    const now = performance.now()
    lag.observe({}, Math.max(0, now - last - LAG_SAMPLE_MS) / 1000)
    last = now
  }, LAG_SAMPLE_MS)
  // It measures the pod; it must not keep a stopped one's process alive.
  timer.unref()
  return { stop: () => clearInterval(timer) }
}
