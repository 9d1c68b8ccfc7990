/**
 * Files built to cost a pod (issue 18's media bombs), made small and fast by the real ffmpeg
 * or by editing a small MP4's boxes: huge frames, hundreds of tracks, a thousand frames per
 * second, frames hours apart, a container that claims 100 hours, media data that cannot be
 * decoded.
 */
import { join } from 'node:path'
import { ffmpeg } from './media-files'

/** One black H.264 frame of `size` (`16000x16000`): under a MB, and gigabytes to decode and scale. */
export async function hugeFrame(dir: string, size: string): Promise<string> {
  const out = join(dir, `huge-${size}.mp4`)
  // One thread, no lookahead: the encoder holds as few frames of that size as it can.
  await ffmpeg('-f', 'lavfi', '-i', `color=c=black:s=${size}:r=1`, '-frames:v', '1', '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-threads', '1', '-pix_fmt', 'yuv420p', out)
  return out
}

/** A tiny clip whose one video track is copied `tracks` times (`-map 0:v` again and again). */
export async function manyTracks(dir: string, tracks: number): Promise<string> {
  const one = join(dir, 'one-frame.mp4')
  await ffmpeg('-f', 'lavfi', '-i', 'color=c=blue:s=64x64:r=1', '-frames:v', '1', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', one)
  const out = join(dir, `tracks-${tracks}.mp4`)
  await ffmpeg('-i', one, ...Array.from({ length: tracks }, () => ['-map', '0:v']).flat(), '-c', 'copy', out)
  return out
}

/** `seconds` of a small picture at `fps` frames per second. */
export async function atFrameRate(dir: string, fps: number, seconds: number): Promise<string> {
  const out = join(dir, `rate-${fps}.mp4`)
  await ffmpeg('-f', 'lavfi', '-i', `testsrc=size=64x64:rate=${fps}`, '-t', String(seconds), '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', out)
  return out
}

/** Three frames, `hours` apart: a few KB that last twice `hours`. */
export async function framesHoursApart(dir: string, hours: number): Promise<string> {
  const out = join(dir, `apart-${hours}h.mp4`)
  await ffmpeg(
    '-f', 'lavfi', '-i', 'testsrc=size=64x64:rate=1', '-frames:v', '3', '-vf', `setpts=N*${hours * 3600}/TB`, '-fps_mode', 'passthrough',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-video_track_timescale', '1000', out,
  )
  return out
}

/** The offsets of every box of type `type` in an MP4 (a plain search for its four letters after a size). */
function boxesOf(bytes: Uint8Array, type: string): number[] {
  const code = [...type].map((c) => c.charCodeAt(0))
  const found: number[] = []
  for (let i = 4; i + 4 <= bytes.length; i++) if (code.every((c, k) => bytes[i + k] === c)) found.push(i - 4)
  return found
}

/**
 * A `size` clip of `seconds` (index first) whose movie header (`mvhd`) says it lasts `hours`:
 * ffprobe reports that duration, and the pod plans its work by it.
 */
export async function claimsHours(dir: string, hours: number, size = '64x64', seconds = 1): Promise<string> {
  const clip = join(dir, `claim-src-${size}.mp4`)
  await ffmpeg('-f', 'lavfi', '-i', `testsrc=size=${size}:rate=25`, '-t', String(seconds), '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-movflags', '+faststart', clip)
  const bytes = new Uint8Array(await Bun.file(clip).arrayBuffer())
  const view = new DataView(bytes.buffer)
  // Version 0 mvhd: size, type, version and flags, creation and modification times, time scale, duration.
  const at = boxesOf(bytes, 'mvhd')[0]!
  view.setUint32(at + 24, hours * 3600 * view.getUint32(at + 20))
  const out = join(dir, `claims-${hours}h-${size}.mp4`)
  await Bun.write(out, bytes)
  return out
}

/** A clip whose headers are intact and whose media data is noise: ffprobe reads it, ffmpeg cannot decode a frame. */
export async function undecodable(dir: string): Promise<string> {
  const clip = join(dir, 'noise-src.mp4')
  await ffmpeg('-f', 'lavfi', '-i', 'testsrc=size=64x64:rate=25', '-t', '1', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-movflags', '+faststart', clip)
  const bytes = new Uint8Array(await Bun.file(clip).arrayBuffer())
  const mdat = boxesOf(bytes, 'mdat')[0]!
  for (let i = mdat + 8; i < bytes.length; i++) bytes[i] = (i * 7919) & 0xff
  const out = join(dir, 'noise.mp4')
  await Bun.write(out, bytes)
  return out
}
