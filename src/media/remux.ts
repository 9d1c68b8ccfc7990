/**
 * Remuxing a file into a stream (src/media/hls.ts) without re-encoding: an upload's original,
 * the original of a video of an earlier release (re-packaging), a runner's result. ffmpeg
 * does not know the codecs of a copy, nor whether its keyframes fall where the renditions'
 * do: both are read from the remuxed file (ffprobe, its headers) and its playlist.
 */
import { rmSync, statSync } from 'node:fs'
import { MediaToolError, runTool, stderrTail, type ToolLimits } from './exec'
import { alignedSegments, masterOf, playlistOf, readPackaged, streamArgs, type StreamInfo } from './hls'

const REMUX_TIMEOUT_MS = 30 * 60_000

/** A frame's length when ffprobe cannot tell the frame rate. */
const DEFAULT_FRAME_SECONDS = 1 / 30

/** H.264 profiles as ffprobe names them, and their `profile_idc` + constraint flags (RFC 6381 `avc1.PPCCLL`). */
const AVC_PROFILES: Record<string, string> = {
  'Constrained Baseline': '42e0',
  Baseline: '4200',
  Main: '4d00',
  Extended: '5800',
  High: '6400',
  'High 10': '6e00',
  'High 4:2:2': '7a00',
  'High 4:4:4 Predictive': 'f400',
}

/** AAC profiles as ffprobe names them, and their audio object type (`mp4a.40.N`). */
const AAC_PROFILES: Record<string, number> = { LC: 2, 'HE-AAC': 5, 'HE-AACv2': 29, Main: 1 }

interface ProbedStream {
  codec_type?: string
  codec_name?: string
  profile?: string
  level?: number
  avg_frame_rate?: string
  r_frame_rate?: string
}

/** Seconds per frame of a rate as ffprobe writes it (`30000/1001`); undefined for `0/0` and the like. */
function frameSecondsOf(rate: string | undefined): number | undefined {
  const [num, den] = (rate ?? '').split('/').map(Number)
  return num && den && num > 0 && den > 0 ? den / num : undefined
}

/**
 * The RFC 6381 codecs of a stream: what players need to switch between streams (hls.js
 * switches automatically only among streams whose codecs it knows). H.264 with AAC, MP3 or
 * Opus (nearly every upload); null for anything else.
 */
function codecsOf(streams: ProbedStream[]): string | null {
  const video = streams.find((s) => s.codec_type === 'video')
  const audio = streams.find((s) => s.codec_type === 'audio')
  const avc = video?.codec_name === 'h264' && video.profile && AVC_PROFILES[video.profile] && video.level ? `avc1.${AVC_PROFILES[video.profile]}${video.level.toString(16).padStart(2, '0')}` : undefined
  if (!avc) return null
  if (!audio) return avc
  const aac = audio.codec_name === 'aac' && audio.profile ? AAC_PROFILES[audio.profile] : undefined
  const sound = aac ? `mp4a.40.${aac}` : audio.codec_name === 'mp3' ? 'mp4a.40.34' : audio.codec_name === 'opus' ? 'opus' : undefined
  return sound ? `${avc},${sound}` : null
}

/** What ffprobe reads of a stream file's headers (within `limits` when given): its codecs and the length of a frame. */
export async function probeStreamFile(file: string, limits?: ToolLimits): Promise<{ codecs: string | null; frameSeconds: number }> {
  const run = await runTool(['ffprobe', '-v', 'error', '-show_entries', 'stream=codec_type,codec_name,profile,level,avg_frame_rate,r_frame_rate', '-of', 'json', file], 60_000, { limits })
  if (run.exitCode !== 0) return { codecs: null, frameSeconds: DEFAULT_FRAME_SECONDS }
  const streams = (JSON.parse(run.stdout) as { streams?: ProbedStream[] }).streams ?? []
  const video = streams.find((s) => s.codec_type === 'video')
  return { codecs: codecsOf(streams), frameSeconds: frameSecondsOf(video?.avg_frame_rate) ?? frameSecondsOf(video?.r_frame_rate) ?? DEFAULT_FRAME_SECONDS }
}

/** How a remux may be followed (seconds of the output written so far), stopped, and what it may cost. */
export interface RemuxOptions {
  onProgress?: (seconds: number) => void
  signal?: AbortSignal
  /** The memory and CPU time of its ffmpeg and ffprobe runs (src/media/limits.ts). */
  limits?: ToolLimits
}

/**
 * Remuxes `input` into a stream at `output` (no re-encoding: minutes of video take seconds),
 * with its codecs and whether its segments are aligned. Throws MediaToolError when ffmpeg
 * fails or is stopped, leaving no playlist behind (`output` is the caller's to remove).
 */
export async function packageCopy(input: string, output: string, segmentUri: string, opts: RemuxOptions = {}): Promise<{ info: StreamInfo; playlist: string }> {
  try {
    const run = await runTool(streamArgs(input, output, null), REMUX_TIMEOUT_MS, {
      signal: opts.signal,
      limits: opts.limits,
      onStdoutLine: (line) => {
        const m = /^out_time_us=(\d+)/.exec(line)
        if (m) opts.onProgress?.(Number(m[1]) / 1e6)
      },
    })
    if (run.timedOut) throw new MediaToolError('ffmpeg remux timed out', 'ffmpeg', run.exitCode, stderrTail(run.stderr))
    if (opts.signal?.aborted) throw new MediaToolError('ffmpeg remux stopped', 'ffmpeg', run.exitCode, '')
    if (run.exitCode !== 0 || (statSync(output, { throwIfNoEntry: false })?.size ?? 0) === 0)
      throw new MediaToolError(`ffmpeg could not remux the video into a stream (exit ${run.exitCode})`, 'ffmpeg', run.exitCode, stderrTail(run.stderr), run.overLimit)
    const packaged = readPackaged(output, segmentUri)
    const probed = await probeStreamFile(output, opts.limits)
    return { ...packaged, info: { ...packaged.info, codecs: packaged.info.codecs ?? probed.codecs, aligned: alignedSegments(packaged.playlist, probed.frameSeconds) } }
  } catch (e) {
    rmSync(playlistOf(output), { force: true })
    rmSync(masterOf(output), { force: true })
    throw e
  }
}
