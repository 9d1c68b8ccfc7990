/** Video clips made by the real ffmpeg (testsrc picture and a sine tone), for tests and benches. */
import { join } from 'node:path'

/**
 * ffmpeg's options for a video bit rate of about `kbps`: noise on the picture (testsrc alone
 * squeezes to almost nothing), its rate capped there. None without `kbps`.
 */
const bitrate = (kbps?: number) => (kbps ? ['-vf', 'noise=alls=12:allf=t', '-b:v', `${kbps}k`, '-maxrate', `${kbps}k`, '-bufsize', `${2 * kbps}k`] : [])

/** Runs ffmpeg on testsrc at `size` and a 440 Hz tone for `seconds`, encoding with `encode` into `out`. */
async function testsrc(out: string, seconds: number, size: string, encode: string[]): Promise<string> {
  const args = [
    'ffmpeg', '-hide_banner', '-nostdin', '-v', 'error', '-y',
    '-f', 'lavfi', '-i', `testsrc=size=${size}:rate=25`,
    '-f', 'lavfi', '-i', 'sine=frequency=440',
    '-t', String(seconds),
    ...encode,
    out,
  ]
  const p = Bun.spawn(args, { stdout: 'ignore', stderr: 'pipe' })
  if ((await p.exited) !== 0) throw new Error(`ffmpeg failed: ${await new Response(p.stderr).text()}`)
  return out
}

/**
 * Makes an H.264/AAC MP4 clip; by default with its index (moov) at the end, as ffmpeg writes
 * it, and a keyframe every 2 s like the pod's renditions (its stream is aligned with theirs:
 * src/media/hls.ts), or every `keyframeSeconds`; at about `kbps` if given.
 */
export function makeClip(
  dir: string,
  opts: { seconds?: number; size?: string; faststart?: boolean; name?: string; keyframeSeconds?: number; kbps?: number } = {},
): Promise<string> {
  return testsrc(join(dir, opts.name ?? `clip-${crypto.randomUUID().slice(0, 8)}.mp4`), opts.seconds ?? 2, opts.size ?? '320x240', [
    ...bitrate(opts.kbps),
    '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac',
    '-force_key_frames', `expr:gte(t,n_forced*${opts.keyframeSeconds ?? 2})`, '-sc_threshold', '0',
    ...(opts.faststart ? ['-movflags', '+faststart'] : []),
  ])
}

/** Makes a WebM clip with VP8 video (at about `kbps`) and Vorbis audio (which no MP4 carries: no stream can be remuxed from it). */
export function makeWebmClip(dir: string, opts: { seconds?: number; size?: string; name?: string; kbps?: number } = {}): Promise<string> {
  return testsrc(join(dir, opts.name ?? `clip-${crypto.randomUUID().slice(0, 8)}.webm`), opts.seconds ?? 2, opts.size ?? '320x240', [
    ...bitrate(opts.kbps ?? 300),
    '-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-c:a', 'libvorbis',
  ])
}

/** SHA-256 of a file, hex. */
export async function sha256(path: string): Promise<string> {
  const hasher = new Bun.CryptoHasher('sha256')
  for await (const chunk of Bun.file(path).stream()) hasher.update(chunk)
  return hasher.digest('hex')
}
