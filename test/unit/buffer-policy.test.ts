/**
 * The player's buffer policy (public/player/buffer/policy.ts), with no browser: how far
 * ahead hls.js fetches, how long peers get before the web seed serves a segment, and when
 * the web seed may serve a missing piece.
 */
import { describe, expect, test } from 'bun:test'
import { alone, bufferedAhead, bufferSettings, othersIn, peerDeadlineMs, webSeedMay, type Swarm } from '../../public/player/buffer/policy'
import { DEFAULT_GOVERNOR } from '../../src/shared/playback'

/** A media element's `buffered` made of [start, end] ranges. */
const ranges = (...r: [number, number][]) => ({ length: r.length, start: (i: number) => r[i]![0], end: (i: number) => r[i]![1] })

const { graceMs, connectMs } = DEFAULT_GOVERNOR

describe('the horizon: what the player fetches ahead', () => {
  test('hls.js buffers exactly player.bufferSeconds ahead, and keeps at most 30 s behind', () => {
    expect(bufferSettings(12)).toEqual({ maxBufferLength: 12, maxMaxBufferLength: 12, backBufferLength: 12 })
    expect(bufferSettings(120)).toEqual({ maxBufferLength: 120, maxMaxBufferLength: 120, backBufferLength: 30 })
  })

  test('seconds buffered ahead: of the range the playhead is in, not of a range further on', () => {
    const b = ranges([0, 10], [20, 40])
    expect(bufferedAhead(b, 4)).toBe(6)
    expect(bufferedAhead(b, 25)).toBe(15)
    // Between the ranges (a seek into a gap): nothing ahead, though a range lies further on.
    expect(bufferedAhead(b, 15)).toBe(0)
    // Just before a range's start (after a seek the playhead can sit a hair early): that range.
    expect(bufferedAhead(b, 19.95)).toBeCloseTo(20.05)
    expect(bufferedAhead(ranges(), 3)).toBe(0)
  })

  test("peers get longer before the web seed the more is buffered: 0.3 s when nearly empty, 4 s from 16 s on", () => {
    expect(peerDeadlineMs(0)).toBe(300)
    expect(peerDeadlineMs(4)).toBe(300)
    expect(peerDeadlineMs(10)).toBe(2150)
    expect(peerDeadlineMs(16)).toBe(4000)
    expect(peerDeadlineMs(60)).toBe(4000)
    const steps = [0, 2, 5, 8, 11, 14, 17].map(peerDeadlineMs)
    expect(steps).toEqual([...steps].sort((a, b) => a - b))
  })
})

describe('what the web seed may serve', () => {
  const swarm = (s: Partial<Swarm>): Swarm => ({ others: 3, peers: true, openMs: graceMs + 1, ...s })
  const wait = { waitedMs: 0, deadlineMs: 2000, peerHas: true }

  test('the tracker counts others without the viewer itself and the pods\' seeders', () => {
    expect(othersIn(1, 1)).toBe(0)
    expect(othersIn(2, 3)).toBe(3)
    expect(othersIn(0, 0)).toBe(0)
  })

  test('alone: nobody else by the tracker, or no peer connected within the grace (no count yet) or the connect time (others counted)', () => {
    expect(alone(swarm({ others: 0, peers: false, openMs: 0 }))).toBe(true)
    expect(alone(swarm({ others: undefined, peers: false, openMs: graceMs - 1 }))).toBe(false)
    expect(alone(swarm({ others: undefined, peers: false, openMs: graceMs }))).toBe(true)
    expect(alone(swarm({ others: 2, peers: false, openMs: graceMs }))).toBe(false)
    expect(alone(swarm({ others: 2, peers: false, openMs: connectMs }))).toBe(true)
    // A connected peer: not alone, however long.
    expect(alone(swarm({ others: 2, peers: true, openMs: connectMs * 10 }))).toBe(false)
  })

  test('a piece a connected peer has waits for the peer until the read\'s deadline, then the web seed serves it', () => {
    expect(webSeedMay(swarm({}), wait)).toBe(false)
    expect(webSeedMay(swarm({}), { ...wait, waitedMs: 1999 })).toBe(false)
    expect(webSeedMay(swarm({}), { ...wait, waitedMs: 2000 })).toBe(true)
  })

  test('a piece no connected peer has goes to the web seed once the grace is over, not before', () => {
    expect(webSeedMay(swarm({ openMs: graceMs - 1 }), { ...wait, peerHas: false })).toBe(false)
    expect(webSeedMay(swarm({ openMs: graceMs }), { ...wait, peerHas: false })).toBe(true)
    // Without any peer connected (others counted, still connecting), it is the peers' to bring until the deadline.
    expect(webSeedMay(swarm({ peers: false, openMs: graceMs }), { ...wait, peerHas: false })).toBe(false)
  })

  test('alone, the web seed serves every piece at once', () => {
    expect(webSeedMay(swarm({ others: 0 }), wait)).toBe(true)
  })
})
