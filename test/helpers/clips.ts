/** Video clips made by the real ffmpeg (testsrc picture and a sine tone), for tests and benches. */
import { join } from 'node:path'

/** Makes an H.264/AAC MP4 clip; by default with its index (moov) at the end, as ffmpeg writes it. */
export async function makeClip(
  dir: string,
  opts: { seconds?: number; size?: string; faststart?: boolean; name?: string } = {},
): Promise<string> {
  const out = join(dir, opts.name ?? `clip-${crypto.randomUUID().slice(0, 8)}.mp4`)
  const args = [
    'ffmpeg', '-hide_banner', '-nostdin', '-v', 'error', '-y',
    '-f', 'lavfi', '-i', `testsrc=size=${opts.size ?? '320x240'}:rate=25`,
    '-f', 'lavfi', '-i', 'sine=frequency=440',
    '-t', String(opts.seconds ?? 2),
    '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac',
    ...(opts.faststart ? ['-movflags', '+faststart'] : []),
    out,
  ]
  const p = Bun.spawn(args, { stdout: 'ignore', stderr: 'pipe' })
  if ((await p.exited) !== 0) throw new Error(`ffmpeg failed: ${await new Response(p.stderr).text()}`)
  return out
}

/** SHA-256 of a file, hex. */
export async function sha256(path: string): Promise<string> {
  const hasher = new Bun.CryptoHasher('sha256')
  for await (const chunk of Bun.file(path).stream()) hasher.update(chunk)
  return hasher.digest('hex')
}
