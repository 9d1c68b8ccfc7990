/**
 * The player's piece store (public/player/swarm/store.ts), with no browser: every stream
 * torrent of a tab shares one cap (config `player.cacheBytes`); beyond it the least recently
 * used pieces go and their torrent is told, never a piece a read has pinned; a destroyed
 * store gives its bytes back.
 */
import { describe, expect, test } from 'bun:test'
import { BoundedChunkStore, PieceBudget } from '../../public/player/swarm/store'

const PIECE = 100

/** A store of `budget`, and the pieces it evicted (as its torrent is told). */
function storeOf(budget: PieceBudget) {
  const evicted: number[] = []
  let made: BoundedChunkStore | undefined
  const store = new BoundedChunkStore(PIECE, { budget, onStore: (s) => (made = s), onEvict: (i) => evicted.push(i) })
  expect(made).toBe(store)
  return { store, evicted }
}

const piece = (fill: number) => new Uint8Array(PIECE).fill(fill)
const put = (s: BoundedChunkStore, i: number) => new Promise<void>((resolve, reject) => s.put(i, piece(i), (e) => (e ? reject(e) : resolve())))
const get = (s: BoundedChunkStore, i: number, opts: { offset?: number; length?: number } | null = null) =>
  new Promise<Uint8Array>((resolve, reject) => s.get(i, opts, (e, b) => (e ? reject(e) : resolve(b!))))

describe('the piece store', () => {
  test('keeps pieces up to the cap; beyond it the least recently used go, and their torrent is told', async () => {
    const budget = new PieceBudget(3 * PIECE)
    const { store, evicted } = storeOf(budget)
    for (const i of [0, 1, 2]) await put(store, i)
    expect(evicted).toEqual([])
    // Piece 0 is read again: now 1 is the least recently used.
    await get(store, 0)
    await put(store, 3)
    expect(evicted).toEqual([1])
    expect(budget.bytes).toBe(3 * PIECE)
    await expect(get(store, 1)).rejects.toMatchObject({ notFound: true })
    expect((await get(store, 0))[0]).toBe(0)
    // A part of a piece, as WebTorrent reads them.
    expect([...(await get(store, 3, { offset: 10, length: 3 }))]).toEqual([3, 3, 3])
  })

  test('the cap is shared by every store: a new video pushes out the oldest pieces of another', async () => {
    const budget = new PieceBudget(2 * PIECE)
    const a = storeOf(budget)
    const b = storeOf(budget)
    await put(a.store, 0)
    await put(a.store, 1)
    await put(b.store, 0)
    expect(a.evicted).toEqual([0])
    expect(b.evicted).toEqual([])
    expect(budget.bytes).toBe(2 * PIECE)
  })

  test('a pinned piece (a read uses it) is never evicted, even beyond the cap; once unpinned it goes in its turn', async () => {
    const budget = new PieceBudget(2 * PIECE)
    const { store, evicted } = storeOf(budget)
    await put(store, 0)
    await put(store, 1)
    // A read of pieces 2..4 pins them before they arrive.
    store.pin(2, 4)
    await put(store, 2)
    await put(store, 3)
    expect(evicted).toEqual([0, 1])
    await put(store, 4)
    expect(evicted).toEqual([0, 1])
    expect(budget.bytes).toBe(3 * PIECE)
    // A second read of piece 4; the first one ends.
    store.pin(4, 4)
    store.unpin(2, 4)
    await put(store, 5)
    expect(evicted).toEqual([0, 1, 2, 3])
    expect(budget.bytes).toBe(2 * PIECE)
    store.unpin(4, 4)
    await put(store, 6)
    expect(evicted).toEqual([0, 1, 2, 3, 4])
    expect((await get(store, 5))[0]).toBe(5)
  })

  test('a destroyed store gives its bytes back to the budget; a closed one takes nothing', async () => {
    const budget = new PieceBudget(10 * PIECE)
    const { store } = storeOf(budget)
    await put(store, 0)
    await put(store, 1)
    expect(budget.bytes).toBe(2 * PIECE)
    await new Promise<void>((resolve) => store.destroy(() => resolve()))
    expect(budget.bytes).toBe(0)
    const other = storeOf(budget).store
    await new Promise<void>((resolve) => other.close(() => resolve()))
    await expect(put(other, 0)).rejects.toThrow('store is closed')
    expect(budget.bytes).toBe(0)
  })
})
