/**
 * The rules an upload meets before any work (src/media/limits.ts) and the queue it waits in
 * (src/videos/ingest-queue.ts), on their own: every limit refuses with its code, and the
 * queue admits, orders and refuses as its config says. (Against a real pod and real files:
 * test/media-limits.test.ts and test/upload-queue.test.ts.)
 */
import { describe, expect, test } from 'bun:test'
import { checkProbed, toolLimits } from '../../src/media/limits'
import type { Probed } from '../../src/media/probe'
import { resolveConfig } from '../../src/shared/config'
import { IngestQueue } from '../../src/videos/ingest-queue'

const media = resolveConfig([]).media
const clip: Probed = { durationSeconds: 60, width: 1920, height: 1080, frameRate: 30, streams: 2, videoCodec: 'h264', audioCodec: 'aac', container: 'mov,mp4', sizeBytes: 20_000_000 }
const codeOf = (p: Probed) => {
  const r = checkProbed(p, media)
  return r.ok ? 'ok' : r.error.code
}

describe('media limits', () => {
  test('an ordinary clip passes; each limit refuses with its code (415)', () => {
    expect(codeOf(clip)).toBe('ok')
    expect(codeOf({ ...clip, width: 16000, height: 16000 })).toBe('frame_too_large')
    expect(codeOf({ ...clip, width: 4096, height: 4096 })).toBe('ok')
    expect(codeOf({ ...clip, frameRate: 1000 })).toBe('frame_rate_too_high')
    expect(codeOf({ ...clip, streams: 999 })).toBe('too_many_streams')
    expect(codeOf({ ...clip, durationSeconds: 100 * 3600, sizeBytes: 4e9 })).toBe('too_long')
    expect(codeOf({ ...clip, durationSeconds: 3600, sizeBytes: 600_000 })).toBe('implausible_duration')
    const refused = checkProbed({ ...clip, durationSeconds: 13 * 3600, sizeBytes: 4e9 }, media)
    expect(refused).toMatchObject({ ok: false, error: { kind: 'unsupported_media', message: 'it lasts 13 hours; this pod takes videos of at most 12 hours' } })
  })

  test("a run's CPU time grows with the video it goes through; its memory does not", () => {
    expect(toolLimits(media)).toEqual({ memoryBytes: 1024 ** 3, cpuSeconds: 60 })
    expect(toolLimits(media, 3600)).toEqual({ memoryBytes: 1024 ** 3, cpuSeconds: 60 + 10 * 3600 })
  })
})

describe('the upload queue', () => {
  const limits = { concurrency: 1, perUser: 2, queueLength: 2 }
  const ticket = (q: IngestQueue, user: number) => {
    const r = q.admit(user)
    if (!r.ok) throw r.error
    return r.value
  }

  test('a user past their share gets 429, the pod past concurrency + queueLength 503, each with when to try again', () => {
    const q = new IngestQueue(limits)
    ticket(q, 1)
    ticket(q, 1)
    expect(q.admit(1)).toMatchObject({ ok: false, error: { kind: 'rate_limited', code: 'too_many_uploads', extra: { retryAfter: 5 } } })
    ticket(q, 2)
    expect(q.admit(3)).toMatchObject({ ok: false, error: { kind: 'unavailable', code: 'uploads_busy' } })
  })

  test('turns are taken one at a time, in order; an upload broken off, or released twice, frees its place once', async () => {
    const q = new IngestQueue(limits)
    const [a, b, c] = [ticket(q, 1), ticket(q, 2), ticket(q, 3)]
    const order: string[] = []
    let finishA!: () => void
    const runA = a.turn(() => new Promise<void>((resolve) => (finishA = resolve)).then(() => order.push('a')))
    const runB = b.turn(async () => order.push('b'))
    await Bun.sleep(5)
    expect(q.load()).toEqual({ preparing: 1, waiting: 2 })
    expect(order).toEqual([])
    // c is broken off before its turn (its client went away): it no longer counts.
    c.release()
    c.release()
    expect(q.load()).toEqual({ preparing: 1, waiting: 1 })
    finishA()
    await Promise.all([runA, runB])
    expect(order).toEqual(['a', 'b'])
    a.release()
    b.release()
    expect(q.load()).toEqual({ preparing: 0, waiting: 0 })
    expect(q.admit(1).ok && q.admit(1).ok).toBe(true)
  })
})
