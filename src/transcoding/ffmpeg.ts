/**
 * The ffmpeg run of one transcoding job (the transcoder actor's `transcode` port): through
 * src/media/exec.ts, with a time limit, progress read from ffmpeg's `-progress` lines. Each
 * rendition is written as a stream (src/media/hls.ts): H.264/AAC in one fragmented MP4 with a
 * keyframe every 2 s and its HLS playlist beside it.
 */
import type { TranscodeOutcome } from '../../actors/transcoder'
import { runTool, stderrTail, type ToolLimits } from '../media/exec'
import { fail, ok } from '../shared/errors'
import { streamArgs } from '../media/hls'

/** How ffmpeg's words say that the disk is full. */
const NO_SPACE = /No space left on device/i

/** What a transcoding run may cost, and when to stop it early. */
export interface TranscodeOptions {
  /** Its memory and CPU time (src/media/limits.ts). */
  limits?: ToolLimits
  /** Asked as the output grows: true stops the run, to be done again later (the disk is below its margin). */
  diskFull?: () => boolean
}

/**
 * How long one job may run: far more than a 2-core machine needs (about real time for 720p),
 * so that only a stuck or runaway ffmpeg is killed.
 */
const transcodeTimeoutMs = (durationSeconds: number) => Math.max(3_600_000, durationSeconds * 20_000)

/**
 * Transcodes `source` to `output` at `height`; never rejects for an ffmpeg failure. A run
 * stopped by a full disk fails `later`: the job can be done once space is freed.
 */
export async function transcode(
  source: { path: string; duration: number },
  output: string,
  height: number,
  onProgress: (fraction: number) => void,
  signal: AbortSignal,
  opts: TranscodeOptions = {},
): Promise<TranscodeOutcome> {
  const stop = new AbortController()
  let full = false
  const run = await runTool(streamArgs(source.path, output, height), transcodeTimeoutMs(source.duration), {
    signal: AbortSignal.any([signal, stop.signal]),
    limits: opts.limits,
    onStdoutLine: (line) => {
      const m = /^out_time_us=(\d+)/.exec(line)
      if (m && source.duration > 0) onProgress(Number(m[1]) / 1e6 / source.duration)
      if (m && opts.diskFull?.()) {
        full = true
        stop.abort()
      }
    },
  })
  if (full || NO_SPACE.test(run.stderr)) return fail({ message: `the disk filled up transcoding to ${height}p; it is done again once space is freed`, later: true })
  if (run.timedOut) return fail({ message: `ffmpeg ran past its time limit transcoding to ${height}p` })
  if (run.overLimit) return fail({ message: `ffmpeg needed more ${run.overLimit === 'cpu' ? 'CPU time' : 'memory'} than this pod gives a transcoding to ${height}p`, detail: stderrTail(run.stderr) })
  // What went wrong in ffmpeg's words quotes local paths: for the admin, not for every viewer.
  if (run.exitCode !== 0) return fail({ message: `ffmpeg could not transcode to ${height}p`, detail: stderrTail(run.stderr) || `exit code ${run.exitCode}` })
  return ok()
}
