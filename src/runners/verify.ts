/**
 * Checking a runner's result before the pod publishes it: a runner may be broken or hostile,
 * so its file must be what the pod's own ffmpeg would have made of the original: H.264 at the
 * asked height, AAC audio exactly when the original has sound, as long as the original.
 */
import type { ToolLimits } from '../media/exec'
import { probeVideo, type Probed, type ProbeResult } from '../media/probe'
import { fail, ok, type Result } from '../shared/errors'

/** The verdict on a result: fine, or why not (a sentence for the runner). */
export type ResultCheck = Result<void, string>

/** Duration may differ from the original's by this much (encoder padding), or 2% of it for long videos. */
const DURATION_TOLERANCE_SECONDS = 1

/** What a result is compared with: the original's length and sound (a probe of it has them), or why it could not be probed. */
export type Original = Result<Pick<Probed, 'durationSeconds' | 'audioCodec'>, string>

/**
 * Probes the result (ffprobe, time-limited, within `limits`) and compares it with the
 * original: what was probed of it at upload, or for a video of an earlier release the file
 * itself, probed at the same time.
 */
export async function verifyResult(result: string, original: Original | string, height: number, limits?: ToolLimits): Promise<ResultCheck> {
  const [probe, source] = await Promise.all([probeVideo(result, limits), typeof original === 'string' ? probeVideo(original, limits) : original])
  return judgeResult(probe, source, height)
}

/** The comparison itself: the result's probe against the original and the asked height. */
export function judgeResult(probed: ProbeResult, original: Original, height: number): ResultCheck {
  if (!original.ok) return fail('the original cannot be read any more')
  if (!probed.ok) return fail(`the result is not a playable video: ${probed.error}`)
  const [probe, source] = [probed.value, original.value]
  if (probe.videoCodec !== 'h264') return fail(`the result's video is ${probe.videoCodec}, not h264`)
  if (probe.height !== height) return fail(`the result is ${probe.height} pixels high, not ${height}`)
  if (source.audioCodec && probe.audioCodec !== 'aac') return fail(`the result's audio is ${probe.audioCodec ?? 'missing'}, not aac`)
  if (!source.audioCodec && probe.audioCodec) return fail('the result has audio, the original has none')
  const tolerance = Math.max(DURATION_TOLERANCE_SECONDS, source.durationSeconds * 0.02)
  if (Math.abs(probe.durationSeconds - source.durationSeconds) > tolerance)
    return fail(`the result lasts ${probe.durationSeconds.toFixed(2)} s, the original ${source.durationSeconds.toFixed(2)} s`)
  return ok()
}
