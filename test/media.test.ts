/**
 * The media building blocks of src/media/ against the real tools: probing, faststart remux and
 * thumbnails of clips made by ffmpeg, checked with ffprobe. (The .torrent files and the web
 * seed are test/webseed.test.ts.)
 */
import { beforeAll, describe, expect, test } from 'bun:test'
import { randomBytes } from 'node:crypto'
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { MediaToolError } from '../src/media/exec'
import { remuxFaststart } from '../src/media/faststart'
import { mp4MoovAtEnd, probeVideo, readMp4TopLevelBoxes } from '../src/media/probe'
import { makeThumbnail } from '../src/media/thumbnail'
import { clipArgs, fastStartClip, ffmpeg, mediaDir } from './helpers/media-files'

const dir = mediaDir()
/** 2 s 320x240 H.264 + AAC, default mp4 layout: moov written last. */
const moovEnd = join(dir, 'moov-end.mp4')
/** The same content with -movflags +faststart: moov first. */
const fastStart = join(dir, 'fast-start.mp4')
/** Random bytes named .mp4. */
const junk = join(dir, 'junk.mp4')
/** Audio only: a real media file, but not a video. */
const audioOnly = join(dir, 'audio-only.m4a')

/** ffprobe's view of a file, to check our outputs with the reference tool rather than our own code. */
async function ffprobe(path: string): Promise<{
  streams: { codec_type: string; codec_name: string; width?: number; height?: number }[]
  format: { duration?: string; format_name: string }
}> {
  const p = Bun.spawn(['ffprobe', '-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', path], { stdout: 'pipe', stderr: 'pipe' })
  const [code, out] = await Promise.all([p.exited, new Response(p.stdout).text()])
  if (code !== 0) throw new Error(`ffprobe failed on ${path}`)
  return JSON.parse(out)
}

beforeAll(async () => {
  await Promise.all([
    ffmpeg(...clipArgs(2), moovEnd),
    fastStartClip(fastStart),
    ffmpeg('-f', 'lavfi', '-i', 'sine=frequency=440', '-t', '1', '-c:a', 'aac', audioOnly),
  ])
  writeFileSync(junk, randomBytes(64 * 1024))
})

describe('probeVideo', () => {
  test('reads duration, size and codecs of a real clip', async () => {
    const probed = await probeVideo(fastStart)
    if (!probed.ok) throw new Error(probed.error)
    const r = probed.value
    expect(r.durationSeconds).toBeGreaterThan(1.9)
    expect(r.durationSeconds).toBeLessThan(2.2)
    expect(r.width).toBe(320)
    expect(r.height).toBe(240)
    expect(r.videoCodec).toBe('h264')
    expect(r.audioCodec).toBe('aac')
    expect(r.container).toContain('mp4')
    expect(r.sizeBytes).toBe(statSync(fastStart).size)
  })

  test('detects moov after mdat (default ffmpeg layout) and before it (+faststart)', async () => {
    const end = await probeVideo(moovEnd)
    const front = await probeVideo(fastStart)
    expect(end.ok && end.value.moovAtEnd).toBe(true)
    expect(front.ok && front.value.moovAtEnd).toBe(false)
    expect(await mp4MoovAtEnd(moovEnd)).toBe(true)
    expect(await mp4MoovAtEnd(fastStart)).toBe(false)
  })

  test('top-level boxes tile the whole file, ftyp first', async () => {
    const boxes = await readMp4TopLevelBoxes(moovEnd)
    expect(boxes[0]?.type).toBe('ftyp')
    expect(boxes.map((b) => b.type)).toContain('mdat')
    const last = boxes[boxes.length - 1]!
    expect(last.offset + last.size).toBe(statSync(moovEnd).size)
  })

  test('junk bytes named .mp4 are not a video', async () => {
    const r = await probeVideo(junk)
    expect(r.ok).toBe(false)
    if (!r.ok) {
      expect(r.error).toMatch(/not a readable media file/)
      expect(r.error).not.toContain(dir) // no server paths in a reason shown to uploaders
    }
    expect(await mp4MoovAtEnd(junk)).toBeUndefined()
  })

  test('audio without video, a missing file and an empty file are not videos', async () => {
    const audio = await probeVideo(audioOnly)
    expect(audio).toEqual({ ok: false, error: 'the file has no video stream' })
    expect(await probeVideo(join(dir, 'nope.mp4'))).toEqual({ ok: false, error: 'file not found' })
    const empty = join(dir, 'empty.mp4')
    writeFileSync(empty, '')
    expect(await probeVideo(empty)).toEqual({ ok: false, error: 'the file is empty' })
  })

  test('a still image named .mp4 is not a video', async () => {
    const still = join(dir, 'still.mp4')
    await ffmpeg('-f', 'lavfi', '-i', 'testsrc=size=64x48', '-frames:v', '1', '-f', 'image2', '-c:v', 'mjpeg', still)
    // A JPEG is not a container the pod takes (ffprobe reads only those: INPUT_GUARD).
    expect(await probeVideo(still)).toEqual({ ok: false, error: 'not an MP4, MOV, WebM or Matroska file' })
  })
})

describe('remuxFaststart', () => {
  test('moves moov to the front and keeps the streams', async () => {
    const out = join(dir, 'remuxed.mp4')
    await remuxFaststart(moovEnd, out)
    expect(await mp4MoovAtEnd(out)).toBe(false)
    const before = await ffprobe(moovEnd)
    const after = await ffprobe(out)
    const describe = (p: typeof before) => p.streams.map((s) => `${s.codec_type}:${s.codec_name}:${s.width ?? ''}x${s.height ?? ''}`)
    expect(describe(after)).toEqual(describe(before))
    expect(Number(after.format.duration)).toBeCloseTo(Number(before.format.duration), 1)
    const probed = await probeVideo(out)
    expect(probed.ok && probed.value.moovAtEnd).toBe(false)
    // No temp files left beside the output.
    expect(readdirSync(dir).filter((f) => f.includes('.tmp'))).toEqual([])
  })

  test('a failing ffmpeg throws with its stderr and leaves no output', async () => {
    const out = join(dir, 'junk-remuxed.mp4')
    const err = await remuxFaststart(junk, out).then(() => null, (e: unknown) => e)
    expect(err).toBeInstanceOf(MediaToolError)
    expect((err as MediaToolError).stderrTail).toMatch(/Invalid data/i)
    expect((err as MediaToolError).message).toMatch(/Invalid data/i)
    expect(existsSync(out)).toBe(false)
    expect(readdirSync(dir).filter((f) => f.includes('.tmp'))).toEqual([])
  })

  test('refuses to remux a file onto itself', async () => {
    await expect(remuxFaststart(moovEnd, moovEnd)).rejects.toThrow(/differ/)
  })
})

describe('makeThumbnail', () => {
  test('writes a JPEG of the frame, not upscaled past the source width', async () => {
    const out = join(dir, 'thumb.jpg')
    await makeThumbnail(fastStart, out, 1)
    const bytes = readFileSync(out)
    expect([...bytes.subarray(0, 3)]).toEqual([0xff, 0xd8, 0xff]) // JPEG SOI marker
    const p = await ffprobe(out)
    expect(p.streams[0]?.codec_name).toBe('mjpeg')
    expect(p.streams[0]?.width).toBe(320)
    expect(p.streams[0]?.height).toBe(240)
  })

  test('scales a wide video down to 640 keeping the aspect ratio', async () => {
    const hd = join(dir, 'hd.mp4')
    await ffmpeg(...clipArgs(0.2, '1280x720'), hd)
    const out = join(dir, 'thumb-hd.jpg')
    await makeThumbnail(hd, out, 0)
    const p = await ffprobe(out)
    expect(p.streams[0]?.width).toBe(640)
    expect(p.streams[0]?.height).toBe(360)
  })

  test('a time past the end throws and writes nothing', async () => {
    const out = join(dir, 'thumb-late.jpg')
    await expect(makeThumbnail(fastStart, out, 60)).rejects.toBeInstanceOf(MediaToolError)
    expect(existsSync(out)).toBe(false)
  })
})
