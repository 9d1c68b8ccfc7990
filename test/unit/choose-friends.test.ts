/** The friend-choosing rule (src/friends/choose.ts, docs/protocol.md "Friend making") on its own. */
import { describe, expect, test } from 'bun:test'
import { chooseFriends } from '../../src/friends/choose'

const pod = (n: number, host = `pod${n}.example`) => ({ fingerprint: `fp${n}`, url: `https://${host}` })
const chosen = (...args: Parameters<typeof chooseFriends>) => chooseFriends(...args).map((p) => p.fingerprint).sort()

describe('chooseFriends', () => {
  test("the 2015 design's example: asked 1, 2, 3 listing [2,3,4,5], [3,5], [5] gives 1, 2, 3 and 5", () => {
    const [p1, p2, p3, p4, p5] = [pod(1), pod(2), pod(3), pod(4), pod(5)]
    expect(chosen([p1, p2, p3], [[p2, p3, p4, p5], [p3, p5], [p5]], 'self')).toEqual(['fp1', 'fp2', 'fp3', 'fp5'])
  })

  test('never this pod, even when every list names it; a list naming a pod twice counts it once', () => {
    const [p1, p2, me] = [pod(1), pod(2), pod(0)]
    expect(chosen([p1, me], [[me], [me]], 'fp0')).toEqual(['fp1'])
    // fp2 is named by one list of three (twice in it): not half of them.
    expect(chosen([p1], [[p2, p2], [], []], 'fp0')).toEqual(['fp1'])
    expect(chosen([p1], [[p2, p2], []], 'fp0')).toEqual(['fp1', 'fp2'])
  })

  test("a pod is one pod by fingerprint: an asked pod's URL wins over a list's, else the first list's", () => {
    const moved = pod(1, 'new.example')
    expect(chooseFriends([moved], [[pod(1, 'old.example')]], 'self')).toEqual([moved])
    const listed = chooseFriends([], [[pod(2, 'first.example')], [pod(2, 'second.example')]], 'self')
    expect(listed).toEqual([pod(2, 'first.example')])
  })

  test('no answers and no lists: nobody', () => {
    expect(chooseFriends([], [], 'self')).toEqual([])
  })
})
