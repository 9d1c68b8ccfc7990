/**
 * What a file holds, before the pod accepts it as a video: ffprobe for streams and duration,
 * plus our own cheap look at MP4 box layout (is the index, `moov`, behind the media data?).
 */
import { statSync } from 'node:fs'
import { fail, ok, type Result } from '../shared/errors'
import { INPUT_GUARD, runTool, type ToolLimits } from './exec'

/** A playable video, as far as ffprobe can tell. */
export interface Probed {
  /** Length in seconds (container duration, else the video stream's). */
  durationSeconds: number
  /** Display size of the first real video stream, in pixels. */
  width: number
  height: number
  /** Its average frames per second; 0 when ffprobe cannot tell. */
  frameRate: number
  /** How many streams the file has (video, audio, subtitles, data). */
  streams: number
  /** ffprobe's codec name of the video stream, e.g. `h264`, `vp9`, `av1`. */
  videoCodec: string
  /** Codec of the first audio stream, when there is one. */
  audioCodec?: string
  /** ffprobe's demuxer name(s), e.g. `mov,mp4,m4a,3gp,3g2,mj2` or `matroska,webm`. */
  container: string
  /**
   * For ISO-BMFF files (MP4/MOV): true when `moov` comes after `mdat`, so a streaming player
   * must fetch the end of the file before it can play (remux with `remuxFaststart`).
   * Undefined for other containers, or when the box layout could not be read.
   */
  moovAtEnd?: boolean
  /** File size in bytes. */
  sizeBytes: number
}

/** The answer of `probeVideo`: what it probed, or why it is not a playable video (a short sentence fit for the uploader). */
export type ProbeResult = Result<Probed, string>

/** The part of ffprobe's JSON we read. */
interface FfprobeJson {
  streams?: {
    codec_type?: string
    codec_name?: string
    width?: number
    height?: number
    duration?: string
    avg_frame_rate?: string
    r_frame_rate?: string
    disposition?: { attached_pic?: number }
  }[]
  format?: { format_name?: string; duration?: string }
}

/** ffprobe reads headers only; a minute is far beyond any honest file. */
const PROBE_TIMEOUT_MS = 60_000

/**
 * Probes `path` with ffprobe (within `limits` when given: a stranger's file can make it
 * decode huge frames or hundreds of tracks). Never throws for a bad file: junk bytes, a file
 * without a video stream, a missing file or any ffprobe error fail with the reason. Throws
 * only when ffprobe itself cannot be started (the pod's setup, not the file, is at fault).
 */
export async function probeVideo(path: string, limits?: ToolLimits): Promise<ProbeResult> {
  let sizeBytes: number
  try {
    const st = statSync(path)
    if (!st.isFile()) return fail('not a regular file')
    sizeBytes = st.size
  } catch {
    return fail('file not found')
  }
  if (sizeBytes === 0) return fail('the file is empty')

  const run = await runTool(
    ['ffprobe', '-v', 'error', ...INPUT_GUARD, '-print_format', 'json', '-show_format', '-show_streams', path],
    PROBE_TIMEOUT_MS,
    { limits },
  )
  if (run.timedOut) return fail('ffprobe took too long to read the file')
  if (run.overLimit) return fail(`reading it takes more ${run.overLimit === 'cpu' ? 'CPU time' : 'memory'} than this pod gives a file`)
  if (run.exitCode !== 0) {
    if (run.stderr.includes('not on whitelist')) return fail('not an MP4, MOV, WebM or Matroska file')
    // ffprobe's own words ("Invalid data found when processing input") are the best reason,
    // minus the file path it prefixes them with (a server path means nothing to a client).
    const last = run.stderr.trim().split('\n').pop() ?? ''
    const detail = last.replace(path, '').replace(/^:\s*/, '').trim()
    return fail(`not a readable media file${detail ? ` (${detail})` : ''}`)
  }

  let info: FfprobeJson
  try {
    info = JSON.parse(run.stdout) as FfprobeJson
  } catch {
    return fail('ffprobe gave unreadable output')
  }
  const streams = info.streams ?? []
  // Cover art in audio files shows up as a one-frame "video" stream flagged attached_pic:
  // an MP3 with a picture is not a video.
  const video = streams.find((s) => s.codec_type === 'video' && s.disposition?.attached_pic !== 1)
  if (!video) return fail('the file has no video stream')
  const width = video.width ?? 0
  const height = video.height ?? 0
  if (!(width > 0 && height > 0)) return fail('the video stream has no picture size')

  // The longer of the two: a file whose frames lie hours apart is as long as its last frame.
  const durationSeconds = Math.max(positive(info.format?.duration) ?? 0, positive(video.duration) ?? 0) || undefined
  // A still image (a JPEG renamed .mp4 probes as image2/mjpeg) has no duration: not a video.
  if (durationSeconds === undefined) return fail('the video has no duration')

  const audio = streams.find((s) => s.codec_type === 'audio')
  const container = info.format?.format_name ?? 'unknown'
  const result: Probed = {
    durationSeconds,
    width,
    height,
    frameRate: rate(video.avg_frame_rate) ?? rate(video.r_frame_rate) ?? 0,
    streams: streams.length,
    videoCodec: video.codec_name ?? 'unknown',
    container,
    sizeBytes,
  }
  if (audio?.codec_name) result.audioCodec = audio.codec_name
  if (/\b(mov|mp4)\b/.test(container)) {
    const layout = await mp4MoovAtEnd(path)
    if (layout !== undefined) result.moovAtEnd = layout
  }
  return ok(result)
}

function positive(v: string | undefined): number | undefined {
  const n = v === undefined ? NaN : Number(v)
  return Number.isFinite(n) && n > 0 ? n : undefined
}

/** Frames per second of a rate as ffprobe writes it (`30000/1001`); undefined for `0/0` and the like. */
function rate(v: string | undefined): number | undefined {
  const [num, den] = (v ?? '').split('/').map(Number)
  return num && den && num > 0 && den > 0 ? num / den : undefined
}

/** One top-level ISO-BMFF box: its four-character type, where it starts and its full size. */
export interface Mp4Box {
  type: string
  offset: number
  size: number
}

/** A real file has a handful of top-level boxes; a loop this long means garbage. */
const MAX_TOP_LEVEL_BOXES = 10_000

/**
 * Lists the top-level boxes of an ISO-BMFF (MP4/MOV) file by reading only their 8- or
 * 16-byte headers and seeking over the bodies: a few small reads, whatever the file size.
 * Stops at the first header that does not make sense (returns what it read so far).
 */
export async function readMp4TopLevelBoxes(path: string): Promise<Mp4Box[]> {
  const file = Bun.file(path)
  const fileSize = file.size
  const boxes: Mp4Box[] = []
  let offset = 0
  while (offset + 8 <= fileSize && boxes.length < MAX_TOP_LEVEL_BOXES) {
    const header = new DataView(await file.slice(offset, offset + 16).arrayBuffer())
    if (header.byteLength < 8) break
    let size = header.getUint32(0)
    const type = String.fromCharCode(header.getUint8(4), header.getUint8(5), header.getUint8(6), header.getUint8(7))
    if (!/^[\x20-\x7e]{4}$/.test(type)) break // not a box type: not (or no longer) ISO-BMFF
    if (size === 1) {
      // 64-bit "largesize" follows the type: how mdat is written once it passes 4 GiB.
      if (header.byteLength < 16) break
      size = Number(header.getBigUint64(8))
      if (size < 16) break
    } else if (size === 0) {
      size = fileSize - offset // "extends to the end of the file"
    } else if (size < 8) {
      break
    }
    boxes.push({ type, offset, size })
    offset += size
  }
  return boxes
}

/**
 * For an MP4/MOV file: true when the `moov` box (the index a player needs before the
 * first frame) comes after `mdat`, false when it comes before; undefined when the file has
 * no top-level `moov` or `mdat` we could find (not ISO-BMFF, truncated, or fragmented
 * without an `mdat` at top level).
 */
export async function mp4MoovAtEnd(path: string): Promise<boolean | undefined> {
  let boxes: Mp4Box[]
  try {
    boxes = await readMp4TopLevelBoxes(path)
  } catch {
    return undefined
  }
  const moov = boxes.find((b) => b.type === 'moov')
  const mdat = boxes.find((b) => b.type === 'mdat')
  if (!moov || !mdat) return undefined
  return moov.offset > mdat.offset
}

/**
 * How many tracks (`trak` boxes) the `moov` of an MP4/MOV file holds, read from box headers
 * only (no demuxer): cheap whatever the file, and known before ffprobe, which opens a decoder
 * for every track. Undefined when the file has no top-level `moov` (not ISO-BMFF).
 */
export async function mp4TrackCount(path: string): Promise<number | undefined> {
  let moov: Mp4Box | undefined
  try {
    moov = (await readMp4TopLevelBoxes(path)).find((b) => b.type === 'moov')
  } catch {
    return undefined
  }
  if (!moov) return undefined
  const file = Bun.file(path)
  const end = Math.min(moov.offset + moov.size, file.size)
  let tracks = 0
  let offset = moov.offset + 8
  for (let boxes = 0; offset + 8 <= end && boxes < MAX_TOP_LEVEL_BOXES; boxes++) {
    const header = new DataView(await file.slice(offset, offset + 8).arrayBuffer())
    const size = header.getUint32(0)
    if (size < 8) break
    if (header.getUint32(4) === TRAK) tracks++
    offset += size
  }
  return tracks
}

/** `trak` as a box type's four bytes. */
const TRAK = 0x7472616b
