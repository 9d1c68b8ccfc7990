/**
 * Checking a runner's result before the pod publishes it: a runner may be broken or hostile,
 * so its file must be what the pod's own ffmpeg would have made: H.264 at the asked height,
 * AAC audio when the source has sound, as long as the source.
 */
import { probeVideo } from '../media/probe'

/** What the result of a job must be. */
export interface ExpectedResult {
  height: number
  durationSeconds: number
  audio: boolean
}

/** The verdict on a result; `reason` is a sentence for the runner. */
export type ResultCheck = { ok: true } | { ok: false; reason: string }

/** Duration may differ from the source's by this much (encoder padding), or 2% of it for long videos. */
const DURATION_TOLERANCE_SECONDS = 1

/** Probes the file at `path` (ffprobe, time-limited) against what was asked. */
export async function verifyResult(path: string, expected: ExpectedResult): Promise<ResultCheck> {
  const probe = await probeVideo(path)
  if (!probe.ok) return { ok: false, reason: `the result is not a playable video: ${probe.reason}` }
  if (probe.videoCodec !== 'h264') return { ok: false, reason: `the result's video is ${probe.videoCodec}, not h264` }
  if (probe.height !== expected.height) return { ok: false, reason: `the result is ${probe.height} pixels high, not ${expected.height}` }
  if (expected.audio && probe.audioCodec !== 'aac') return { ok: false, reason: `the result's audio is ${probe.audioCodec ?? 'missing'}, not aac` }
  if (!expected.audio && probe.audioCodec) return { ok: false, reason: 'the result has audio, the source has none' }
  const tolerance = Math.max(DURATION_TOLERANCE_SECONDS, expected.durationSeconds * 0.02)
  if (Math.abs(probe.durationSeconds - expected.durationSeconds) > tolerance)
    return { ok: false, reason: `the result lasts ${probe.durationSeconds.toFixed(2)} s, the source ${expected.durationSeconds.toFixed(2)} s` }
  return { ok: true }
}
