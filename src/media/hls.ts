/**
 * Packaging a video as a stream: ONE fragmented MP4 plus an HLS media playlist of byte ranges
 * into it (`ffmpeg -f hls -hls_segment_type fmp4 -hls_flags single_file`). The same file is a
 * torrent's content, a web seed (BEP 19) and an HLS stream at once, so BitTorrent clients,
 * native HLS players and the watch page's hls.js (fetching each segment's bytes from the
 * torrent) all read the very same bytes.
 *
 * Renditions are encoded with a keyframe every SEGMENT_SECONDS exactly (no scene-cut
 * keyframes), so their segments start at the same moments and a player can switch between
 * them at any segment boundary. An original is only remuxed (`-c copy`, remux.ts): its segments
 * start at its own keyframes.
 */
import { readFileSync, rmSync } from 'node:fs'
import { basename } from 'node:path'
import { DomainError, failure, ok, type Result } from '../shared/errors'
import { INPUT_GUARD } from './exec'

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
  /**
   * Whether its segments start every SEGMENT_SECONDS (within a frame), as every rendition's
   * do: a player may then switch to and from it at any segment. A rendition is by
   * construction; a remux is if the uploader's keyframes happen to fall there (remux.ts).
   */
  aligned?: boolean
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

/** The durations (s) of a media playlist's segments, in order. */
function segmentDurations(playlist: string): number[] {
  return [...playlist.matchAll(/#EXTINF:([\d.]+)/g)].map((m) => Number(m[1]))
}

/**
 * Whether the segments of a media playlist start on the SEGMENT_SECONDS grid: the i-th at
 * i * SEGMENT_SECONDS, later by less than a frame (`frameSeconds`), and none spans a mark
 * (the last is no longer than the others). ffmpeg cuts a segment at the first keyframe at or
 * after each mark, so this holds exactly when the video has a keyframe on the first frame of
 * every mark, as renditions have.
 */
export function alignedSegments(playlist: string, frameSeconds: number): boolean {
  // The playlist gives durations to the microsecond: a little slack for their sum.
  const slack = frameSeconds + 0.001
  let start = 0
  let last = 0
  for (const [i, d] of segmentDurations(playlist).entries()) {
    if (Math.abs(start - i * SEGMENT_SECONDS) >= slack) return false
    start += d
    last = d
  }
  return last < SEGMENT_SECONDS + slack
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

/** The lines ffmpeg writes in a single-file fMP4 VOD media playlist, but for the file's name (a URI line, or the map's URI). */
const PLAYLIST_LINES = [
  /^#EXTM3U$/,
  /^#EXT-X-VERSION:\d{1,2}$/,
  /^#EXT-X-TARGETDURATION:\d{1,6}$/,
  /^#EXT-X-MEDIA-SEQUENCE:\d{1,9}$/,
  /^#EXT-X-PLAYLIST-TYPE:VOD$/,
  /^#EXT-X-INDEPENDENT-SEGMENTS$/,
  /^#EXTINF:\d{1,6}(\.\d{1,9})?,$/,
  /^#EXT-X-ENDLIST$/,
  /^$/,
]

/**
 * A media playlist another pod served for a stream (src/redundancy/), as this pod keeps and
 * serves it: every segment and the map named `segmentUri` (where this pod serves the file,
 * relative to the playlist: wherever the other pod's named it, its bucket for one), so it is
 * byte for byte the playlist its origin stored. Refused (`bad_playlist`): a line ffmpeg does
 * not write (a key, another URI, a tag of a live stream), a byte range beyond the file's
 * `size` bytes, or no segment at all: what this pod serves under its name is only ever byte
 * ranges of a file whose hashes it checked.
 */
export function normalizedPlaylist(text: string, segmentUri: string, size: number): Result<string> {
  const refused = (message: string) => failure('upstream_failed', 'bad_playlist', message)
  const lines = text.split('\n')
  if (lines[0] !== '#EXTM3U' || !lines.includes('#EXT-X-ENDLIST')) return refused('the playlist is not a whole HLS media playlist')
  const beyond = (length: string, offset: string) => Number(offset) + Number(length) > size && `the playlist names bytes ${offset}+${length}, beyond the file's ${size}`
  const out: string[] = []
  let segments = 0
  for (const [i, line] of lines.entries()) {
    const map = /^#EXT-X-MAP:URI="[^"]*",BYTERANGE="(\d{1,15})@(\d{1,15})"$/.exec(line)
    const range = /^#EXT-X-BYTERANGE:(\d{1,15})@(\d{1,15})$/.exec(line)
    const outside = (map && beyond(map[1]!, map[2]!)) || (range && beyond(range[1]!, range[2]!))
    if (outside) return refused(outside)
    if (map) out.push(`#EXT-X-MAP:URI="${segmentUri}",BYTERANGE="${map[1]}@${map[2]}"`)
    else if (line !== '' && !line.startsWith('#')) out.push(segmentUri)
    else if (range || PLAYLIST_LINES.some((r) => r.test(line))) out.push(line)
    else return refused(`the playlist has a line this pod does not serve (line ${i + 1})`)
    if (range) segments++
  }
  return segments === 0 ? refused('the playlist names no segment') : ok(out.join('\n'))
}

