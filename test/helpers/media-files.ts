/**
 * Files of the media tests (test/media.test.ts, test/webseed.test.ts): clips made by the real
 * ffmpeg, in a temporary folder of each test file's own.
 */
import { afterAll } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** Runs ffmpeg quietly; throws with its stderr on failure. */
export async function ffmpeg(...args: string[]): Promise<void> {
  const p = Bun.spawn(['ffmpeg', '-hide_banner', '-nostdin', '-v', 'error', '-y', ...args], { stderr: 'pipe', stdout: 'ignore' })
  const [code, err] = await Promise.all([p.exited, new Response(p.stderr).text()])
  if (code !== 0) throw new Error(`ffmpeg failed: ${err}`)
}

/** ffmpeg arguments of a clip: `seconds` of testsrc at `size` and a 440 Hz tone, H.264 + AAC, a keyframe every 2 s. */
export const clipArgs = (seconds: number, size = '320x240') => [
  '-f', 'lavfi', '-i', `testsrc=size=${size}:rate=25`,
  '-f', 'lavfi', '-i', 'sine=frequency=440',
  '-t', String(seconds), '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-c:a', 'aac',
  '-force_key_frames', 'expr:gte(t,n_forced*2)', '-sc_threshold', '0',
]

/** Writes a 2 s 320x240 clip with -movflags +faststart (moov first) to `path`. */
export const fastStartClip = (path: string) => ffmpeg(...clipArgs(2), '-movflags', '+faststart', path)

/** A temporary folder for a test file's media, removed after its tests: call at the top of the file. */
export function mediaDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'seedpod-media-'))
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true })
  })
  return dir
}
