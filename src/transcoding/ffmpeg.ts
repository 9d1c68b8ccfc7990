/**
 * The ffmpeg run of one transcoding job (the transcoder actor's `transcode` port): through
 * src/media/exec.ts, with a time limit, progress read from ffmpeg's `-progress` lines. Each
 * rendition is written as a stream (src/media/hls.ts): H.264/AAC in one fragmented MP4 with a
 * keyframe every 2 s and its HLS playlist beside it.
 */
import type { TranscodeOutcome } from '../../actors/transcoder'
import { runTool, stderrTail } from '../media/exec'
import { fail, ok } from '../shared/errors'
import { streamArgs } from '../media/hls'

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
  const run = await runTool(streamArgs(source.path, output, height), transcodeTimeoutMs(source.duration), {
    signal,
    onStdoutLine: (line) => {
      const m = /^out_time_us=(\d+)/.exec(line)
      if (m && source.duration > 0) onProgress(Number(m[1]) / 1e6 / source.duration)
    },
  })
  if (run.timedOut) return fail({ message: `ffmpeg ran past its time limit transcoding to ${height}p` })
  // What went wrong in ffmpeg's words quotes local paths: for the admin, not for every viewer.
  if (run.exitCode !== 0) return fail({ message: `ffmpeg could not transcode to ${height}p`, detail: stderrTail(run.stderr) || `exit code ${run.exitCode}` })
  return ok()
}
