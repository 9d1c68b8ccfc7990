/**
 * Running ffmpeg and ffprobe: one place that spawns them, bounds their run time, memory and
 * CPU time, and keeps the end of their stderr, because that tail is what explains a failure.
 */
import { renameSync, rmSync, statSync } from 'node:fs'
import { DomainError } from '../shared/errors'

/**
 * Options that go before every `-i` of an uploaded or copied file: ffmpeg reads only local
 * files (no network or other protocols), and only the containers the pod stores. An upload
 * is a stranger's file: without these, a "video" that is really an HLS or concat playlist
 * makes ffmpeg open whatever files or URLs it names.
 */
export const INPUT_GUARD = ['-protocol_whitelist', 'file', '-format_whitelist', 'mov,mp4,m4a,3gp,3g2,mj2,matroska,webm'] as const

/** What one run of a tool may cost: memory (bytes of data, RLIMIT_DATA) and CPU time (seconds, RLIMIT_CPU). */
export interface ToolLimits {
  memoryBytes: number
  cpuSeconds: number
}

/** What a finished tool run left behind. */
export interface ToolRun {
  exitCode: number
  stdout: string
  stderr: string
  /** True when we killed the tool because it ran past its time limit. */
  timedOut: boolean
  /** The limit it ran into, when a failed run ran into one of its ToolLimits. */
  overLimit?: 'memory' | 'cpu'
  /** What the run cost: its peak resident memory and its CPU time (user + system). */
  maxRssBytes: number
  cpuSeconds: number
}

/** An ffmpeg/ffprobe run that failed; `stderrTail` holds the tool's last words (local paths: logged, never answered). */
export class MediaToolError extends DomainError {
  constructor(
    message: string,
    readonly tool: string,
    readonly exitCode: number,
    readonly stderrTail: string,
    /** The limit the run ran into, if any (the file asks more than the pod gives a run). */
    readonly overLimit?: ToolRun['overLimit'],
  ) {
    super('internal', 'media_tool_failed', stderrTail ? `${message}: ${stderrTail}` : message)
    this.name = 'MediaToolError'
  }
}

/**
 * The last lines of a tool's stderr, bounded: ffmpeg prints the actual cause last, after
 * pages of stream information that would only bury it in logs and error answers.
 */
export function stderrTail(stderr: string, maxLines = 12, maxChars = 2000): string {
  const lines = stderr.trim().split('\n').slice(-maxLines).join('\n')
  return lines.length > maxChars ? lines.slice(-maxChars) : lines
}

/** How a tool run may be followed and ended early. */
export interface RunOptions {
  /** Called with each line the tool writes to stdout (ffmpeg's `-progress pipe:1`), as it comes. */
  onStdoutLine?: (line: string) => void
  /** Kills the tool when aborted (the pod is stopping). */
  signal?: AbortSignal
  /** Its memory and CPU time, enforced by `prlimit` where it is installed (util-linux). */
  limits?: ToolLimits
}

/** The longest delay a timer takes (2^31 - 1 ms, about 24.8 days): a longer one would fire at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1

/** Where `prlimit` is (util-linux), looked up once; null where it is not installed. */
let prlimitPath: string | null | undefined

/** Whether runs get their ToolLimits: `prlimit` is installed. Without it, they run unbounded (the pod says so at start). */
export function limitsEnforced(): boolean {
  prlimitPath ??= Bun.which('prlimit')
  return prlimitPath !== null
}

/**
 * `cmd` run under `limits`: `prlimit` sets them on itself and then executes the tool, which
 * keeps them (and the pid: the run's numbers are the tool's). The CPU limit is soft then
 * hard a second later: ffmpeg stops at SIGXCPU, anything still running at SIGKILL.
 */
function limited(cmd: string[], limits: ToolLimits | undefined): string[] {
  if (!limits || !limitsEnforced()) return cmd
  const cpu = Math.max(1, Math.ceil(limits.cpuSeconds))
  return [prlimitPath!, `--data=${Math.floor(limits.memoryBytes)}`, `--cpu=${cpu}:${cpu + 1}`, '--', ...cmd]
}

/** What an allocation that failed looks like in ffmpeg's and ffprobe's words. */
const OUT_OF_MEMORY = /Cannot allocate memory|get_buffer\(\) failed|out of memory|std::bad_alloc/i

/** Which limit a failed run ran into, from how it ended and what it cost. */
function limitOf(run: { exitCode: number; stderr: string; cpuSeconds: number; signal: string | null }, limits: ToolLimits | undefined): ToolRun['overLimit'] {
  if (!limits || (run.exitCode === 0 && run.signal === null)) return undefined
  // RLIMIT_CPU is counted in scheduler ticks, the run's own usage more finely: near the limit is at it.
  if (run.signal === 'SIGXCPU' || run.cpuSeconds >= limits.cpuSeconds * 0.8) return 'cpu'
  if (OUT_OF_MEMORY.test(run.stderr) || run.signal === 'SIGSEGV' || run.signal === 'SIGABRT') return 'memory'
  return undefined
}

/**
 * Runs `cmd` to completion and collects its output. Never rejects for a non-zero exit:
 * the caller decides what a failure means; rejects only when the tool cannot be started.
 * `timeoutMs` guards against inputs crafted or broken enough to make ffmpeg spin forever:
 * the process is killed and `timedOut` is set.
 */
export async function runTool(cmd: string[], timeoutMs: number, opts: RunOptions = {}): Promise<ToolRun> {
  // stdin is closed: ffmpeg reads keys from stdin ("q" to quit) and would otherwise
  // compete with a test runner or a pod's terminal for it.
  let proc: ReturnType<typeof Bun.spawn<'ignore', 'pipe', 'pipe'>>
  try {
    proc = Bun.spawn(limited(cmd, opts.limits), { stdin: 'ignore', stdout: 'pipe', stderr: 'pipe' })
  } catch (e) {
    // A missing binary is the pod's setup problem, not the video's: say which tool.
    throw new MediaToolError(`cannot run ${cmd[0]} (is it installed?)`, cmd[0] ?? '', -1, String(e))
  }
  let timedOut = false
  // Clamped: past 2^31 - 1 ms a timer fires at once (a video of 100 hours would fail as it starts).
  const timer = setTimeout(
    () => {
      timedOut = true
      proc.kill('SIGKILL')
    },
    Math.min(Math.max(0, timeoutMs), MAX_TIMER_MS),
  )
  const kill = () => proc.kill('SIGKILL')
  opts.signal?.addEventListener('abort', kill, { once: true })
  try {
    const [stdout, stderr, exitCode] = await Promise.all([readLines(proc.stdout, opts.onStdoutLine), new Response(proc.stderr).text(), proc.exited])
    const usage = proc.resourceUsage()
    const cost = { maxRssBytes: usage?.maxRSS ?? 0, cpuSeconds: usage ? Number(usage.cpuTime.total) / 1e6 : 0 }
    const overLimit = limitOf({ exitCode, stderr, cpuSeconds: cost.cpuSeconds, signal: proc.signalCode === null ? null : String(proc.signalCode) }, opts.limits)
    return { exitCode, stdout, stderr, timedOut, ...cost, ...(overLimit ? { overLimit } : {}) }
  } finally {
    clearTimeout(timer)
    opts.signal?.removeEventListener('abort', kill)
  }
}

/** Reads a stream to its end; with `onLine`, hands over each line as it arrives and keeps none. */
async function readLines(stream: ReadableStream<Uint8Array>, onLine?: (line: string) => void): Promise<string> {
  if (!onLine) return new Response(stream).text()
  const decoder = new TextDecoder()
  let buffered = ''
  for await (const chunk of stream) {
    buffered += decoder.decode(chunk, { stream: true })
    const lines = buffered.split('\n')
    buffered = lines.pop()!
    for (const line of lines) onLine(line)
  }
  if (buffered) onLine(buffered)
  return ''
}

/**
 * Runs an ffmpeg command that writes `tmp`, then moves `tmp` to `output`: atomically, so a
 * failed or killed run leaves nothing at `output` (and `tmp` is always removed). Throws
 * `MediaToolError` saying `what` failed: ran past its time, a non-zero exit, or no output
 * (ffmpeg exits 0 yet writes nothing, e.g. for a seek past the end: `emptyMessage`).
 */
export async function runToFile(
  cmd: string[],
  tmp: string,
  output: string,
  opts: { timeoutMs: number; what: string; emptyMessage?: string; limits?: ToolLimits },
): Promise<void> {
  const { what, emptyMessage = `${what} wrote nothing` } = opts
  try {
    const run = await runTool(cmd, opts.timeoutMs, { limits: opts.limits })
    if (run.timedOut) throw new MediaToolError(`${what} timed out`, 'ffmpeg', run.exitCode, stderrTail(run.stderr))
    if (run.exitCode !== 0) throw new MediaToolError(`${what} failed (exit ${run.exitCode})`, 'ffmpeg', run.exitCode, stderrTail(run.stderr), run.overLimit)
    if ((statSync(tmp, { throwIfNoEntry: false })?.size ?? 0) === 0) throw new MediaToolError(emptyMessage, 'ffmpeg', run.exitCode, stderrTail(run.stderr))
    renameSync(tmp, output)
  } finally {
    rmSync(tmp, { force: true })
  }
}
