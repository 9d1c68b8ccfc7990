/**
 * Running ffmpeg and ffprobe: one place that spawns them, bounds their run time and keeps
 * the end of their stderr, because that tail is what explains a failure.
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

/** What a finished tool run left behind. */
export interface ToolRun {
  exitCode: number
  stdout: string
  stderr: string
  /** True when we killed the tool because it ran past its time limit. */
  timedOut: boolean
}

/** An ffmpeg/ffprobe run that failed; `stderrTail` holds the tool's last words (local paths: logged, never answered). */
export class MediaToolError extends DomainError {
  constructor(
    message: string,
    readonly tool: string,
    readonly exitCode: number,
    readonly stderrTail: string,
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
    proc = Bun.spawn(cmd, { stdin: 'ignore', stdout: 'pipe', stderr: 'pipe' })
  } catch (e) {
    // A missing binary is the pod's setup problem, not the video's: say which tool.
    throw new MediaToolError(`cannot run ${cmd[0]} (is it installed?)`, cmd[0] ?? '', -1, String(e))
  }
  let timedOut = false
  const timer = setTimeout(() => {
    timedOut = true
    proc.kill('SIGKILL')
  }, timeoutMs)
  const kill = () => proc.kill('SIGKILL')
  opts.signal?.addEventListener('abort', kill, { once: true })
  try {
    const [stdout, stderr, exitCode] = await Promise.all([readLines(proc.stdout, opts.onStdoutLine), new Response(proc.stderr).text(), proc.exited])
    return { exitCode, stdout, stderr, timedOut }
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
export async function runToFile(cmd: string[], tmp: string, output: string, timeoutMs: number, what: string, emptyMessage = `${what} wrote nothing`): Promise<void> {
  try {
    const run = await runTool(cmd, timeoutMs)
    if (run.timedOut) throw new MediaToolError(`${what} timed out`, 'ffmpeg', run.exitCode, stderrTail(run.stderr))
    if (run.exitCode !== 0) throw new MediaToolError(`${what} failed (exit ${run.exitCode})`, 'ffmpeg', run.exitCode, stderrTail(run.stderr))
    if ((statSync(tmp, { throwIfNoEntry: false })?.size ?? 0) === 0) throw new MediaToolError(emptyMessage, 'ffmpeg', run.exitCode, stderrTail(run.stderr))
    renameSync(tmp, output)
  } finally {
    rmSync(tmp, { force: true })
  }
}
