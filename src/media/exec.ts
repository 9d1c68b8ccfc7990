/**
 * Running ffmpeg and ffprobe: one place that spawns them, bounds their run time and keeps
 * the end of their stderr, because that tail is what explains a failure.
 */

/** What a finished tool run left behind. */
export interface ToolRun {
  exitCode: number
  stdout: string
  stderr: string
  /** True when we killed the tool because it ran past its time limit. */
  timedOut: boolean
}

/** An ffmpeg/ffprobe run that failed; `stderrTail` holds the tool's last words. */
export class MediaToolError extends Error {
  constructor(
    message: string,
    readonly tool: string,
    readonly exitCode: number,
    readonly stderrTail: string,
  ) {
    super(stderrTail ? `${message}: ${stderrTail}` : message)
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

/**
 * Runs `cmd` to completion and collects its output. Never rejects for a non-zero exit:
 * the caller decides what a failure means; rejects only when the tool cannot be started. `timeoutMs` guards against inputs crafted or
 * broken enough to make ffmpeg spin forever; the process is killed and `timedOut` is set.
 */
export async function runTool(cmd: string[], timeoutMs: number): Promise<ToolRun> {
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
  try {
    const [stdout, stderr, exitCode] = await Promise.all([
      new Response(proc.stdout).text(),
      new Response(proc.stderr).text(),
      proc.exited,
    ])
    return { exitCode, stdout, stderr, timedOut }
  } finally {
    clearTimeout(timer)
  }
}
