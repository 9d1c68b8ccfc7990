/**
 * "Fast start" remux: move an MP4's `moov` index in front of the media data, so a browser
 * (or a web-seed streaming client) can start playing after the first bytes instead of
 * fetching the end of the file first. Stream copy only: no quality loss, seconds of work.
 */
import { basename, dirname, extname, join, resolve } from 'node:path'
import { DomainError } from '../shared/errors'
import { INPUT_GUARD, runToFile, type ToolLimits } from './exec'

/**
 * Copying streams is I/O bound (no decode); ten minutes covers multi-GiB files on slow
 * disks while still ending a hung ffmpeg.
 */
const REMUX_TIMEOUT_MS = 10 * 60_000

/**
 * A temporary sibling of `output` with the same extension (ffmpeg picks the muxer from it):
 * we write there and rename, so `output` never exists half-written, even if ffmpeg dies.
 */
export function tempSibling(output: string): string {
  const ext = extname(output)
  const rand = crypto.randomUUID().slice(0, 8)
  return join(dirname(output), `.${basename(output, ext)}.${rand}.tmp${ext}`)
}

/**
 * Remuxes `input` to `output` with `-c copy -movflags +faststart` (no re-encode). Keeps every
 * video and audio stream; drops data and subtitle streams, which MP4 often cannot carry
 * over (e.g. camera timecode tracks) and which a web player would ignore anyway.
 * The output is written atomically (temp file, then rename). Throws `MediaToolError` with
 * the tail of ffmpeg's stderr when ffmpeg fails. ffmpeg runs within `limits` when given.
 */
export async function remuxFaststart(input: string, output: string, limits?: ToolLimits): Promise<void> {
  // ffmpeg would truncate its own input before reading it.
  if (resolve(input) === resolve(output)) throw new DomainError('internal', 'same_file', 'remuxFaststart: input and output must differ')
  const tmp = tempSibling(output)
  const cmd = [
    'ffmpeg', '-hide_banner', '-nostdin', '-v', 'error', '-y',
    ...INPUT_GUARD, '-i', input,
    '-map', '0:v', '-map', '0:a?',
    '-c', 'copy',
    '-movflags', '+faststart',
    tmp,
  ]
  await runToFile(cmd, tmp, output, { timeoutMs: REMUX_TIMEOUT_MS, what: 'ffmpeg remux', limits })
}
