/**
 * Video thumbnails: one JPEG frame, at most 640 pixels wide, for lists and link previews.
 */
import { DomainError } from '../shared/errors'
import { INPUT_GUARD, runToFile, type ToolLimits } from './exec'
import { tempSibling } from './faststart'

/** Thumbnails are for lists: wider only costs bytes on every page view. */
const THUMBNAIL_MAX_WIDTH = 640

/** Seeking and decoding one frame; generous, but a hung ffmpeg must not hold an upload. */
const THUMBNAIL_TIMEOUT_MS = 60_000

/**
 * Writes one JPEG frame of `input`, taken at `atSeconds`, to `output`. The frame is scaled
 * to 640 pixels wide keeping the aspect ratio, never upscaled (a 320x240 video gives a
 * 320x240 JPEG), and non-square pixels are made square first so the picture is not squashed.
 * Pick `atSeconds` within the video's duration (see `probeVideo`): past the end there is no
 * frame, and this throws `MediaToolError`, as for any ffmpeg failure. Written atomically;
 * ffmpeg runs within `limits` when given.
 */
export async function makeThumbnail(input: string, output: string, atSeconds: number, limits?: ToolLimits): Promise<void> {
  if (!Number.isFinite(atSeconds) || atSeconds < 0) throw new DomainError('internal', 'bad_time', `makeThumbnail: bad time ${atSeconds}`)
  const tmp = tempSibling(output)
  // Square the pixels (iw*sar), then cap the width; -2 keeps the aspect with an even height,
  // which every JPEG decoder and later re-encoders are happy with.
  const filter = `scale='trunc(iw*sar/2)*2':ih,setsar=1,scale='min(${THUMBNAIL_MAX_WIDTH},iw)':-2`
  const cmd = [
    'ffmpeg', '-hide_banner', '-nostdin', '-v', 'error', '-y',
    // -ss before -i seeks by keyframe index instead of decoding from the start: fast on long files.
    '-ss', atSeconds.toFixed(3),
    ...INPUT_GUARD, '-i', input,
    '-map', '0:v:0',
    '-frames:v', '1',
    '-vf', filter,
    '-q:v', '3',
    // image2 with -update 1 writes exactly one file, whatever characters its name holds
    // (otherwise a "%d" in the name would be read as a sequence pattern).
    '-f', 'image2', '-c:v', 'mjpeg', '-update', '1',
    tmp,
  ]
  await runToFile(cmd, tmp, output, { timeoutMs: THUMBNAIL_TIMEOUT_MS, what: 'ffmpeg thumbnail', emptyMessage: `no frame at ${atSeconds}s (past the end of the video?)`, limits })
}
