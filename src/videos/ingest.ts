/**
 * What an upload becomes before it is stored (Videos.store): its texts checked, the file
 * probed and refused unless browsers play it and it is within the media limits (src/media/
 * limits.ts), remuxed into a stream (no re-encoding) where the codecs allow or moved to
 * faststart, and its thumbnail made, each ffmpeg run within its own limits; and the ids of
 * new videos. A file ffmpeg cannot read is the file's fault (415), never the pod's.
 */
import { rmSync } from 'node:fs'
import { DESCRIPTION_MAX } from '../details/model'
import { MediaToolError, type ToolLimits } from '../media/exec'
import { remuxFaststart } from '../media/faststart'
import type { StreamInfo } from '../media/hls'
import { checkProbed, tooManyStreams, toolLimits, type MediaLimits } from '../media/limits'
import { mp4TrackCount, probeVideo, type Probed } from '../media/probe'
import { packageCopy } from '../media/remux'
import { makeThumbnail } from '../media/thumbnail'
import { DomainError } from '../shared/errors'
import { insufficientStorage, isNoSpace, type DiskSpace } from '../storage/disk'
import type { VideoFiles } from './files'
import { segmentUri } from './streams'
import type { ReceivedUpload } from './upload'

/** A file remuxed into a stream: its numbers and media playlist (src/media/hls.ts). */
export type Packaged = { info: StreamInfo; playlist: string }

/** Limits of the texts a user gives a video. */
const NAME_MAX = 120

/** Formats browsers play, stored as they come; others are refused (transcoding makes smaller copies, it does not convert the original). */
const FORMATS: { container: RegExp; codecs: RegExp; ext: string; mime: string }[] = [
  { container: /mp4|mov/, codecs: /^(h264|hevc|av1|vp9)$/, ext: 'mp4', mime: 'video/mp4' },
  { container: /webm|matroska/, codecs: /^(vp8|vp9|av1)$/, ext: 'webm', mime: 'video/webm' },
]

/** Video codecs that go into a fragmented MP4 as they are (an original with one of them is remuxed into a stream). */
const STREAMABLE = /^(h264|hevc|av1|vp9)$/

/** Audio codecs that do too (`none`: no audio). WebM's Vorbis does not: such an original is kept as it is. */
const STREAMABLE_AUDIO = /^(none|aac|mp3|opus|ac3|eac3|flac|alac)$/

/** Whether an original's codecs go into a fragmented MP4 as they are (it is then remuxed into its stream, rendition 0). */
export const streamable = (probe: Probed) => STREAMABLE.test(probe.videoCodec) && STREAMABLE_AUDIO.test(probe.audioCodec ?? 'none')

/** How many characters of its origin's fingerprint begin a video id. */
const ID_ORIGIN_CHARS = 16
/** Ids of earlier releases: 11 random characters, no origin in them. */
const LEGACY_ID = /^[A-Za-z0-9_-]{11}$/

/**
 * A new video id: the start of its origin's fingerprint (96 bits), then 11 url-safe
 * characters from 64 random bits. The index's ids are global, so the origin's part is what
 * keeps a friend from claiming another pod's ids before that pod's videos arrive.
 */
export function newVideoId(fingerprint: string): string {
  return fingerprint.slice(0, ID_ORIGIN_CHARS) + Buffer.from(crypto.getRandomValues(new Uint8Array(8))).toString('base64url')
}

/** Whether a pod may announce a video under this id: one of its own ids, or an id of an earlier release. */
export function mayClaimId(id: string, fingerprint: string): boolean {
  return id.startsWith(fingerprint.slice(0, ID_ORIGIN_CHARS)) || LEGACY_ID.test(id)
}

/** Checks a video's name and description as a user gave them; returns them trimmed. */
export function checkTexts(fields: { name?: unknown; description?: unknown }, partial = false): { name?: string; description?: string } {
  const out: { name?: string; description?: string } = {}
  if (fields.name !== undefined || !partial) {
    if (typeof fields.name !== 'string' || !fields.name.trim()) throw new DomainError('invalid', 'invalid_request', 'name: a video needs a name')
    if (fields.name.trim().length > NAME_MAX) throw new DomainError('invalid', 'invalid_request', `name: at most ${NAME_MAX} characters`)
    out.name = fields.name.trim()
  }
  if (fields.description !== undefined || !partial) {
    const d = fields.description ?? ''
    if (typeof d !== 'string') throw new DomainError('invalid', 'invalid_request', 'description: must be text')
    if (d.length > DESCRIPTION_MAX) throw new DomainError('invalid', 'invalid_request', `description: at most ${DESCRIPTION_MAX} characters`)
    out.description = d.trim()
  }
  return out
}

/** A checked upload, ready for Videos.store, and how to remove what it made if storing fails. */
export interface PreparedUpload {
  video: { id: string; name?: string; description?: string; ext: string; mime: string; source: string; thumb: string; duration: number; width: number; height: number; audio: string; stream?: Packaged }
  discard(): void
}

/**
 * The original as it is stored: remuxed into a stream (no re-encoding) where its codecs allow,
 * moved to faststart where its index is at the end, else the file as it came. What it makes
 * in tmp/ is added to `made`.
 */
async function browserReady(
  path: string,
  probe: Probed,
  format: { ext: string },
  segmentName: string,
  files: VideoFiles,
  made: string[],
  limits: ToolLimits,
): Promise<{ source: string; stream?: Packaged }> {
  if (streamable(probe)) {
    // One fragmented MP4 with its HLS playlist.
    const packaged = files.temp('.mp4')
    made.push(packaged)
    return { source: packaged, stream: await packageCopy(path, packaged, segmentName, { limits }) }
  }
  if (format.ext === 'mp4' && probe.moovAtEnd) {
    // The index at the end means a browser must fetch the whole file before playing.
    const fast = files.temp('.mp4')
    made.push(fast)
    await remuxFaststart(path, fast, limits)
    return { source: fast }
  }
  return { source: path }
}

/**
 * What a failure to prepare an upload means for its uploader: with the disk full (or below
 * its margin: ffmpeg's HLS muxer can meet a full disk and still exit 0, leaving an empty
 * playlist), the pod's (507, try again later); a failed ffmpeg run, the file's (415: it
 * cannot be read, or not within what this pod gives a run). A tool that cannot be started
 * at all stays the pod's (500).
 */
function refusal(e: unknown, disk: DiskSpace): unknown {
  if (e instanceof DomainError && e.kind !== 'internal') return e
  if (isNoSpace(e) || (e instanceof MediaToolError && isNoSpace(e.stderrTail)) || disk.room() < 0)
    return insufficientStorage("the pod's disk filled up while it prepared this video; try again once space is freed", { cause: e })
  if (!(e instanceof MediaToolError) || e.exitCode === -1) return e
  const why = e.overLimit ? `decoding it takes more ${e.overLimit === 'cpu' ? 'CPU time' : 'memory'} than this pod gives a video` : 'its data cannot be decoded'
  return new DomainError('unsupported_media', 'unreadable_video', `ffmpeg could not read the video: ${why}`, undefined, { cause: e })
}

/**
 * Checks and prepares a received upload, within the `media` limits. On any failure every file
 * it made is removed (the upload's own file too) and the error says what is wrong with the file.
 */
export async function prepareUpload(upload: ReceivedUpload, files: VideoFiles, fingerprint: string, media: MediaLimits): Promise<PreparedUpload> {
  const made = [upload.file.path]
  try {
    const texts = checkTexts(upload.fields)
    // The stream (or faststart) copy is about as large as the upload.
    files.disk.mustHaveRoom(upload.file.size, 'to prepare this video')
    // Counted from the MP4's boxes before ffprobe, which would open a decoder for each.
    const tracks = tooManyStreams((await mp4TrackCount(upload.file.path)) ?? 0, media)
    if (tracks) throw DomainError.of(tracks)
    const probed = await probeVideo(upload.file.path, toolLimits(media))
    if (!probed.ok) throw new DomainError('unsupported_media', 'not_a_video', `the file is not a playable video: ${probed.error}`)
    const probe = probed.value
    const within = checkProbed(probe, media)
    if (!within.ok) throw DomainError.of({ ...within.error, message: `the video is beyond this pod's limits: ${within.error.message}` })
    const format = FORMATS.find((f) => f.container.test(probe.container) && f.codecs.test(probe.videoCodec))
    if (!format)
      throw new DomainError('unsupported_media', 'unsupported_format', `a ${probe.videoCodec} video in ${probe.container} does not play in browsers; upload MP4 (H.264) or WebM (VP9)`)
    const id = newVideoId(fingerprint)
    const thumb = files.temp('.jpg')
    made.push(thumb)
    // From the file as it was sent, while it is remuxed: the same pictures, and the two
    // ffmpeg runs (one decodes a frame, one copies) take the time of the longer one.
    const thumbnail = makeThumbnail(upload.file.path, thumb, Math.min(1, probe.durationSeconds / 3), toolLimits(media))
    const copying = browserReady(upload.file.path, probe, format, segmentUri(id, 0), files, made, toolLimits(media, probe.durationSeconds))
    const [ready, thumbnailed] = await Promise.allSettled([copying, thumbnail])
    if (ready.status === 'rejected') throw ready.reason
    if (thumbnailed.status === 'rejected') throw thumbnailed.reason
    const { source, stream } = ready.value
    const stored = stream ? { ext: 'mp4', mime: 'video/mp4', stream } : format
    return {
      video: { ...texts, ...stored, id, source, thumb, duration: probe.durationSeconds, width: probe.width, height: probe.height, audio: probe.audioCodec ?? '' },
      discard: () => {
        for (const path of made) rmSync(path, { force: true })
      },
    }
  } catch (e) {
    for (const path of made) rmSync(path, { force: true })
    throw refusal(e, files.disk)
  }
}

