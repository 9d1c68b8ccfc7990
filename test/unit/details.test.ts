/** The summary of a description that the index and friends keep (src/details/model.ts). */
import { describe, expect, test } from 'bun:test'
import { SUMMARY_MAX, summarize } from '../../src/details/model'

describe('summaries', () => {
  test('the index keeps a short description cut at a word, the details the full text', () => {
    expect(summarize('  short  ')).toBe('short')
    const long = `Night trains. ${'The carriages rock through the dark valley while the passengers sleep and the conductor walks by. '.repeat(8)}Dawn.`
    const s = summarize(long)
    expect(long.length).toBeGreaterThan(SUMMARY_MAX)
    expect(s.length).toBeLessThanOrEqual(SUMMARY_MAX)
    expect(s.endsWith('…')).toBe(true)
    expect(long.startsWith(s.slice(0, -1))).toBe(true)
    expect(long[s.length - 1]).toBe(' ')
  })
})
