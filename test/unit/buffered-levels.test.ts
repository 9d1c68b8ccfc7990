/**
 * Which level plays at the playhead (public/player/buffer/levels.ts), with no browser: the
 * newest fragment buffered there, also where a switch left two levels' fragments overlapping
 * by a few frames, and nothing once hls.js flushed it.
 */
import { describe, expect, test } from 'bun:test'
import { BufferedLevels } from '../../public/player/buffer/levels'

/** Fragments appended in this order: [level, start, end] each. */
function buffered(...frags: [number, number, number][]): BufferedLevels {
  const b = new BufferedLevels()
  for (const [level, start, end] of frags) b.add(level, start, end)
  return b
}

describe('the level at the playhead', () => {
  test('the level of the fragment that covers the time; none where nothing is buffered', () => {
    const b = buffered([0, 0, 2], [0, 2, 4], [1, 4, 6])
    expect(b.at(1)).toBe(0)
    expect(b.at(4.5)).toBe(1)
    expect(b.at(6)).toBeUndefined()
    expect(b.at(10)).toBeUndefined()
  })

  test('after a switch, where the old fragment overlaps the new one by a few frames, the new level', () => {
    // The viewer picks level 0 at 2 s: its fragment starts a frame early, and is buffered last.
    const b = buffered([2, 0, 2.04], [2, 2.04, 4.08], [0, 2.0, 4.0])
    expect(b.at(2.02)).toBe(0)
    // A fragment's playlist time can start a little after its first frame.
    expect(b.at(1.95)).toBe(0)
    expect(b.at(1.5)).toBe(2)
  })

  test('a flush (a pick drops what is buffered ahead) forgets the fragments wholly inside it, and only those', () => {
    const b = buffered([0, 0, 2], [0, 2, 4], [1, 4, 6], [1, 6, 8])
    b.flushed(4, Infinity)
    expect(b.at(3)).toBe(0)
    expect(b.at(5)).toBeUndefined()
    b.add(2, 4, 6)
    expect(b.at(5)).toBe(2)
    // A flush that only cuts into a fragment leaves it.
    b.flushed(1, 3)
    expect(b.at(0.5)).toBe(0)
  })

  test('only the newest fragments are remembered (the element buffers far fewer)', () => {
    const b = buffered(...Array.from({ length: 300 }, (_, i): [number, number, number] => [i % 3, i * 2, i * 2 + 2]))
    expect(b.at(1)).toBeUndefined()
    expect(b.at(599)).toBe(299 % 3)
  })
})
