/**
 * The ffmpeg run of one transcoding job (the transcoder actor's `transcode` port): through
 * src/media/exec.ts, with a time limit, progress read from ffmpeg's `-progress` lines.
 */
import type { TranscodeOutcome } from '../../actors/transcoder'
import { INPUT_GUARD, runTool, stderrTail } from '../media/exec'

/**
 * The ffmpeg command of one job: H.264/AAC MP4 with its index first (streamable), scaled to
 * `height` keeping the aspect (even width), progress as key=value lines on stdout.
 */
export function transcodeArgs(input: string, output: string, height: number): string[] {
  return [
    'ffmpeg', '-hide_banner', '-nostdin', '-v', 'error', '-y',
    ...INPUT_GUARD, '-i', input,
    '-map', '0:v:0', '-map', '0:a:0?',
    '-vf', `scale=-2:${height}`,
    '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '23', '-pix_fmt', 'yuv420p',
    '-c:a', 'aac', '-b:a', '128k',
    '-movflags', '+faststart',
    '-progress', 'pipe:1', '-nostats',
    output,
  ]
}

/**
 * How long one job may run: far more than a 2-core machine needs (about real time for 720p),
 * so that only a stuck or runaway ffmpeg is killed.
 */
const transcodeTimeoutMs = (durationSeconds: number) => Math.max(3_600_000, durationSeconds * 20_000)

/** Transcodes `source` to `output` at `height`; never rejects for an ffmpeg failure. */
export async function transcode(
  source: { path: string; duration: number },
  output: string,
  height: number,
  onProgress: (fraction: number) => void,
  signal: AbortSignal,
): Promise<TranscodeOutcome> {
  const run = await runTool(transcodeArgs(source.path, output, height), transcodeTimeoutMs(source.duration), {
    signal,
    onStdoutLine: (line) => {
      const m = /^out_time_us=(\d+)/.exec(line)
      if (m && source.duration > 0) onProgress(Number(m[1]) / 1e6 / source.duration)
    },
  })
  if (run.timedOut) return { ok: false, error: `ffmpeg ran past its time limit transcoding to ${height}p` }
  // What went wrong in ffmpeg's words quotes local paths: for the admin, not for every viewer.
  if (run.exitCode !== 0) return { ok: false, error: `ffmpeg could not transcode to ${height}p`, detail: stderrTail(run.stderr) || `exit code ${run.exitCode}` }
  return { ok: true }
}
