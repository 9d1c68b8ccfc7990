/**
 * What a video may be before the pod does any work on it, and what each ffprobe/ffmpeg run on
 * it may cost (config `media.*`). The cost of decoding grows with pixels per frame, frames per
 * second and duration, and a demuxer opens a decoder per stream: a 700 KB file can ask for
 * gigabytes and hours of CPU. Files beyond the limits are refused (415) from what ffprobe
 * reads of their headers; a run that tries anyway stops at its own memory and CPU limits.
 */
import type { Config } from '../shared/config'
import { failure, ok, type Failure, type Result } from '../shared/errors'
import type { ToolLimits } from './exec'
import type { Probed } from './probe'

/** The `media` section of the config. */
export type MediaLimits = Config['media']

/**
 * The limits of one tool run: `media.toolMemoryBytes`, and `media.toolCpuSeconds` plus
 * `media.cpuSecondsPerVideoSecond` for each of the `durationSeconds` the run goes through
 * (none for a probe or a thumbnail, the whole video for a remux or a transcoding).
 */
export function toolLimits(media: MediaLimits, durationSeconds = 0): ToolLimits {
  return { memoryBytes: media.toolMemoryBytes, cpuSeconds: media.toolCpuSeconds + media.cpuSecondsPerVideoSecond * Math.max(0, durationSeconds) }
}

const refused = (code: string, message: string) => failure('unsupported_media', code, message)

/** A number of seconds as a person reads it. */
function duration(seconds: number): string {
  if (seconds >= 3600) return `${+(seconds / 3600).toFixed(1)} hours`
  if (seconds >= 60) return `${+(seconds / 60).toFixed(1)} minutes`
  return `${+seconds.toFixed(1)} seconds`
}

/** A count of tracks over `media.maxStreams`, found before ffprobe runs (src/media/probe.ts mp4TrackCount). */
export function tooManyStreams(streams: number, media: MediaLimits): Failure | undefined {
  if (streams <= media.maxStreams) return undefined
  return refused('too_many_streams', `the file has ${streams} streams; this pod takes at most ${media.maxStreams} (one video, a few audio and subtitle tracks)`).error
}

/** Whether what ffprobe read of a file is within `media.*`; a 415 failure saying which limit it is over. */
export function checkProbed(p: Probed, media: MediaLimits): Result<void, Failure> {
  const streams = tooManyStreams(p.streams, media)
  if (streams) return { ok: false, error: streams }
  const pixels = p.width * p.height
  if (pixels > media.maxPixels)
    return refused('frame_too_large', `its frames are ${p.width}x${p.height} (${pixels} pixels); this pod takes at most ${media.maxPixels} pixels per frame`)
  if (p.frameRate > media.maxFrameRate)
    return refused('frame_rate_too_high', `it has ${+p.frameRate.toFixed(2)} frames per second; this pod takes at most ${media.maxFrameRate}`)
  if (p.durationSeconds > media.maxDurationSeconds)
    return refused('too_long', `it lasts ${duration(p.durationSeconds)}; this pod takes videos of at most ${duration(media.maxDurationSeconds)}`)
  // Every real video costs bytes for each second it lasts; a few bytes claiming hours are a
  // file built to make the pod decode (or wait for) frames that are not there.
  if (p.sizeBytes < p.durationSeconds * media.minBytesPerSecond)
    return refused('implausible_duration', `it claims to last ${duration(p.durationSeconds)} in only ${p.sizeBytes} bytes; a video has at least ${media.minBytesPerSecond} bytes per second`)
  return ok()
}
