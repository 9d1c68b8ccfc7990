/**
 * The parts of re-packaging and alignment that need no process: whether a playlist's
 * segments are on the 2 s grid, when a video needs a top rendition and which heights its
 * ladder has, and the durable queue's package jobs (never a runner's, taken by the pod at
 * once) and re-packaging progress, on a real database with an injected clock.
 */
import { afterAll, describe, expect, test } from 'bun:test'
import { join } from 'node:path'
import { alignedSegments } from '../../src/media/hls'
import { RunnerStore } from '../../src/runners/store'
import { openDatabase } from '../../src/shared/db'
import { targetResolutions, TranscodeQueue } from '../../src/transcoding/queue'
import { needsTopRendition } from '../../src/videos/streams'
import { removeTempDirs, tempDir } from '../helpers/temp'

afterAll(removeTempDirs)

/** A media playlist of segments of these durations, as ffmpeg writes them. */
const playlist = (durations: number[]) =>
  ['#EXTM3U', '#EXT-X-VERSION:7', '#EXT-X-TARGETDURATION:3', ...durations.flatMap((d, i) => [`#EXTINF:${d.toFixed(6)},`, `#EXT-X-BYTERANGE:1000@${1000 * i}`, 'v.mp4']), '#EXT-X-ENDLIST'].join('\n')

describe('aligned segments', () => {
  test('segments every 2 s are aligned, within a frame (29.97 fps), and a shorter last one is fine', () => {
    expect(alignedSegments(playlist([2, 2, 2, 1.2]), 1 / 25)).toBe(true)
    expect(alignedSegments(playlist([2.002, 2.002, 2.002, 1.001]), 1001 / 30000)).toBe(true)
    expect(alignedSegments(playlist([1.5]), 1 / 25)).toBe(true)
  })

  test('keyframes every 3 s, one keyframe for the whole video, or a frame late are not', () => {
    expect(alignedSegments(playlist([3, 3, 3]), 1 / 25)).toBe(false)
    expect(alignedSegments(playlist([7]), 1 / 25)).toBe(false)
    // Each segment starts two frames after its mark: the renditions' start on the first frame.
    expect(alignedSegments(playlist([2.08, 2, 2]), 1 / 25)).toBe(false)
    expect(alignedSegments(playlist([2, 2, 2.5]), 1 / 25)).toBe(false)
  })
})

describe('the top rendition', () => {
  test('an original needs one unless it is an aligned H.264 stream; unknown alignment counts as aligned', () => {
    expect(needsTopRendition(undefined)).toBe(true)
    expect(needsTopRendition({ codecs: 'avc1.64001f,mp4a.40.2', aligned: false })).toBe(true)
    expect(needsTopRendition({ aligned: true })).toBe(true)
    expect(needsTopRendition({ codecs: 'avc1.64001f,mp4a.40.2', aligned: true })).toBe(false)
    expect(needsTopRendition({ codecs: 'avc1.64001f' })).toBe(false)
  })

  test("the ladder: configured heights below the source's, and its own (even) height on top when needed", () => {
    expect(targetResolutions([240, 480, 720], 720)).toEqual([240, 480])
    expect(targetResolutions([240, 480, 720], 720, true)).toEqual([240, 480, 720])
    expect(targetResolutions([240, 480], 241, true)).toEqual([240])
    expect(targetResolutions([240, 480], 121, true)).toEqual([120])
    expect(targetResolutions([], 0, true)).toEqual([])
  })
})

/** A queue and a runners' store on a fresh database whose clock the test moves. */
function setup() {
  const clock = { now: 1_000_000 }
  const db = openDatabase(join(tempDir(), 'seedpod.db'))
  // The jobs' video rows are not what this test is about.
  db.exec('PRAGMA foreign_keys = OFF')
  const queue = new TranscodeQueue(db, () => clock.now)
  const store = new RunnerStore(db, queue, () => clock.now)
  const runner = store.register(store.createToken('rack').token, 'a')!.runner
  return { clock, db, queue, store, runner }
}

describe('package jobs in the queue', () => {
  test('never leased to a runner; the pod takes one at once, even while runners are in contact or with transcoding.local off', () => {
    const { clock, queue, store, runner } = setup()
    queue.enqueue('v', [240])
    expect(queue.enqueueRepack('v', 'package', 0)).toBe(true)
    // A runner is in contact: the pod leaves the fresh transcoding job to it, not the package job.
    expect(store.anyActive(10_000)).toBe(true)
    expect(queue.claim(clock.now - 5_000)).toMatchObject({ kind: 'package', resolution: 0, repack: true })
    expect(queue.leaseTo(runner.id, 10_000)).toMatchObject({ resolution: 240 })
    expect(queue.leaseTo(runner.id, 10_000)).toBeUndefined()
    // transcoding.local off: package jobs only.
    queue.enqueue('w', [240])
    queue.enqueueRepack('w', 'package', 0)
    expect(queue.claim(null)).toMatchObject({ video: 'w', kind: 'package' })
    expect(queue.claim(null)).toBeUndefined()
  })

  test('re-packaging queues a done job again (a rendition of an earlier release), leaves a waiting or failed one, and counts its progress', () => {
    const { db, queue } = setup()
    expect(queue.repackProgress()).toMatchObject({ videos: 0, progress: 1 })
    queue.enqueue('v', [144, 240])
    const [first, second] = [queue.claim()!, queue.claim()!]
    queue.done(first.id)
    queue.fail(second.id, 'ffmpeg could not transcode to 240p')
    expect(queue.enqueueRepack('v', 'transcode', 144)).toBe(true)
    expect(queue.enqueueRepack('v', 'transcode', 240)).toBe(false)
    expect(queue.enqueueRepack('v', 'transcode', 144)).toBe(false)
    expect(queue.enqueueRepack('v', 'package', 0)).toBe(true)
    expect(queue.of('v').map((j) => [j.kind, j.resolution, j.state, j.repack])).toEqual([
      ['package', 0, 'queued', true],
      ['transcode', 144, 'queued', true],
      ['transcode', 240, 'failed', false],
    ])
    const job = queue.claim()!
    queue.progress(job.id, 0.5)
    // Jobs of uploads do not count: only the two of the re-packaging, one half done.
    expect(queue.repackProgress()).toEqual({ videos: 1, videosDone: 0, queued: 1, running: 1, done: 0, failed: 0, progress: 0.25 })
    queue.done(job.id)
    queue.done(queue.claim()!.id)
    expect(queue.repackProgress()).toEqual({ videos: 1, videosDone: 1, queued: 0, running: 0, done: 2, failed: 0, progress: 1 })
    // A package job has its kind in the table's CHECK: nothing else goes in.
    expect(() => db.query("UPDATE transcode_jobs SET kind = 'remux' WHERE resolution = 0").run()).toThrow(/CHECK/)
  })
})
