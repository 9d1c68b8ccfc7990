/**
 * Packaging a video as a stream: ONE fragmented MP4 plus an HLS media playlist of byte ranges
 * into it (`ffmpeg -f hls -hls_segment_type fmp4 -hls_flags single_file`). The same file is a
 * torrent's content, a web seed (BEP 19) and an HLS stream at once, so BitTorrent clients,
 * native HLS players and the watch page's hls.js (fetching each segment's bytes from the
 * torrent) all read the very same bytes.
 *
 * Renditions are encoded with a keyframe every SEGMENT_SECONDS exactly (no scene-cut
 * keyframes), so their segments start at the same moments and a player can switch between
 * them at any segment boundary. An original is only remuxed (`-c copy`): its segments start at
 * its own keyframes.
 */
import { readFileSync, rmSync, statSync } from 'node:fs'
import { basename } from 'node:path'
import { DomainError } from '../shared/errors'
import { INPUT_GUARD, MediaToolError, runTool, stderrTail, type ToolLimits } from './exec'

/** Seconds per segment, and between two keyframes of a rendition. */
const SEGMENT_SECONDS = 2

/** What a master playlist says of one stream (`#EXT-X-STREAM-INF`). */
export interface StreamInfo {
  /** Peak bit rate of a segment, bits per second. */
  bandwidth: number
  width: number
  height: number
  /** RFC 6381 codecs (`avc1.64001f,mp4a.40.2`), when ffmpeg knows them (it does not for a remux). */
  codecs: string | null
}

/**
 * Peak bit rate per height of a rendition (`-maxrate`), a ladder like other platforms': the
 * quality switches down to a rendition that a slower link can carry. Between two heights the
 * next higher one's cap applies.
 */
const MAXRATE_KBPS: [height: number, kbps: number][] = [
  [144, 200],
  [240, 400],
  [360, 800],
  [480, 1200],
  [720, 2500],
  [1080, 5000],
  [1440, 9000],
  [2160, 16000],
  [4320, 40000],
]

function maxrateKbps(height: number): number {
  return (MAXRATE_KBPS.find(([h]) => h >= height) ?? MAXRATE_KBPS.at(-1)!)[1]
}

/**
 * About the most bytes a rendition of `height` takes for `seconds` of video: its peak video
 * rate and 128 kb/s of sound, a tenth more for the container (what a transcoding needs free).
 */
export function renditionBytes(height: number, seconds: number): number {
  return Math.ceil((((maxrateKbps(height) + 128) * 1000) / 8) * seconds * 1.1)
}

/** The playlist ffmpeg writes beside `file` (`x.mp4` -> `x.m3u8`). */
export const playlistOf = (file: string) => file.replace(/\.[^./]+$/, '.m3u8')

/** The master playlist ffmpeg writes beside `file`, which names the stream's bit rate and codecs. */
export const masterOf = (file: string) => file.replace(/\.[^./]+$/, '.master.m3u8')

/**
 * The ffmpeg arguments that write `output` (a fragmented MP4) and its playlists: the input's
 * first video and audio stream, encoded at `height` (H.264/AAC, aligned keyframes, capped bit
 * rate), or copied as they are when `height` is null. Progress goes to stdout as key=value lines.
 */
export function streamArgs(input: string, output: string, height: number | null): string[] {
  const encode =
    height === null
      ? ['-c', 'copy']
      : [
          '-vf', `scale=-2:${height}`,
          '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '23', '-pix_fmt', 'yuv420p',
          '-maxrate', `${maxrateKbps(height)}k`, '-bufsize', `${2 * maxrateKbps(height)}k`,
          '-force_key_frames', `expr:gte(t,n_forced*${SEGMENT_SECONDS})`, '-sc_threshold', '0',
          '-c:a', 'aac', '-b:a', '128k',
        ]
  return [
    'ffmpeg', '-hide_banner', '-nostdin', '-v', 'error', '-y',
    ...INPUT_GUARD, '-i', input,
    '-map', '0:v:0', '-map', '0:a:0?',
    ...encode,
    '-f', 'hls', '-hls_segment_type', 'fmp4', '-hls_flags', 'single_file', '-hls_playlist_type', 'vod',
    '-hls_time', String(SEGMENT_SECONDS),
    '-hls_segment_filename', output,
    '-master_pl_name', basename(masterOf(output)),
    '-progress', 'pipe:1', '-nostats',
    playlistOf(output),
  ]
}

/** Reads `#EXT-X-STREAM-INF` of the master playlist ffmpeg wrote for one stream. */
function parseStreamInf(master: string): StreamInfo | undefined {
  const line = master.split('\n').find((l) => l.startsWith('#EXT-X-STREAM-INF:'))
  if (!line) return undefined
  const bandwidth = Number(/[:,]BANDWIDTH=(\d+)/.exec(line)?.[1])
  const size = /RESOLUTION=(\d+)x(\d+)/.exec(line)
  if (!bandwidth || !size) return undefined
  return { bandwidth, width: Number(size[1]), height: Number(size[2]), codecs: /CODECS="([^"]+)"/.exec(line)?.[1] ?? null }
}

/**
 * What ffmpeg made at `output` (run with streamArgs): the stream's numbers, and its media
 * playlist with the segments' file named `segmentUri` (where it is served from). Both
 * playlists it wrote are removed (the caller stores the media playlist; the pod serves a
 * master playlist of its own, of every stream).
 */
export function readPackaged(output: string, segmentUri: string): { info: StreamInfo; playlist: string } {
  const master = masterOf(output)
  try {
    const info = parseStreamInf(readFileSync(master, 'utf8'))
    if (!info) throw new DomainError('internal', 'no_stream_information', `ffmpeg wrote no stream information for ${basename(output)}`)
    const playlist = readFileSync(playlistOf(output), 'utf8').replaceAll(basename(output), segmentUri)
    return { info, playlist }
  } finally {
    rmSync(master, { force: true })
    rmSync(playlistOf(output), { force: true })
  }
}

/** The end (a byte offset into the file) of the first segments of a media playlist that hold at least `seconds`. */
export function segmentsEnd(playlist: string, seconds: number): number | undefined {
  let held = 0
  let end: number | undefined
  for (const m of playlist.matchAll(/#EXTINF:([\d.]+),?\s*#EXT-X-BYTERANGE:(\d+)@(\d+)/g)) {
    held += Number(m[1])
    end = Number(m[3]) + Number(m[2])
    if (held >= seconds) break
  }
  return end
}

const REMUX_TIMEOUT_MS = 30 * 60_000

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

/**
 * The RFC 6381 codecs of a remuxed file, which ffmpeg does not write for a copy: what players
 * need to switch between streams (hls.js switches automatically only among streams whose
 * codecs it knows). H.264 with AAC, MP3 or Opus (nearly every upload); null for anything else.
 */
async function remuxedCodecs(file: string, limits?: ToolLimits): Promise<string | null> {
  const run = await runTool(['ffprobe', '-v', 'error', '-show_entries', 'stream=codec_type,codec_name,profile,level', '-of', 'json', file], 60_000, { limits })
  if (run.exitCode !== 0) return null
  const streams = (JSON.parse(run.stdout) as { streams?: { codec_type?: string; codec_name?: string; profile?: string; level?: number }[] }).streams ?? []
  const video = streams.find((s) => s.codec_type === 'video')
  const audio = streams.find((s) => s.codec_type === 'audio')
  const avc = video?.codec_name === 'h264' && video.profile && AVC_PROFILES[video.profile] && video.level ? `avc1.${AVC_PROFILES[video.profile]}${video.level.toString(16).padStart(2, '0')}` : undefined
  if (!avc) return null
  if (!audio) return avc
  const aac = audio.codec_name === 'aac' && audio.profile ? AAC_PROFILES[audio.profile] : undefined
  const sound = aac ? `mp4a.40.${aac}` : audio.codec_name === 'mp3' ? 'mp4a.40.34' : audio.codec_name === 'opus' ? 'opus' : undefined
  return sound ? `${avc},${sound}` : null
}

/**
 * Remuxes `input` into a stream at `output` (no re-encoding: minutes of video take seconds).
 * Throws MediaToolError when ffmpeg fails, leaving no playlist behind. ffmpeg and ffprobe run
 * within `opts.limits` when given.
 */
export async function packageCopy(input: string, output: string, segmentUri: string, opts: { limits?: ToolLimits } = {}): Promise<{ info: StreamInfo; playlist: string }> {
  try {
    const run = await runTool(streamArgs(input, output, null), REMUX_TIMEOUT_MS, { limits: opts.limits })
    if (run.timedOut) throw new MediaToolError('ffmpeg remux timed out', 'ffmpeg', run.exitCode, stderrTail(run.stderr))
    if (run.exitCode !== 0 || (statSync(output, { throwIfNoEntry: false })?.size ?? 0) === 0)
      throw new MediaToolError(`ffmpeg could not remux the video into a stream (exit ${run.exitCode})`, 'ffmpeg', run.exitCode, stderrTail(run.stderr), run.overLimit)
    const packaged = readPackaged(output, segmentUri)
    return { ...packaged, info: { ...packaged.info, codecs: packaged.info.codecs ?? (await remuxedCodecs(output, opts.limits)) } }
  } catch (e) {
    rmSync(playlistOf(output), { force: true })
    throw e
  }
}
