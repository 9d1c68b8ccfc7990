/**
 * The login limiter (src/accounts/service.ts) on its own, with an injected clock: its memory
 * of addresses and names stays bounded under a flood. (Login limits over HTTP are
 * test/accounts.test.ts.)
 */
import { describe, expect, test } from 'bun:test'
import { AttemptLimiter } from '../../src/accounts/service'

describe('login limits under a flood', () => {
  test('a flood of addresses and names is remembered up to a bound, the ones still asked about last to go', () => {
    let now = 0
    const limiter = new AttemptLimiter(1, 600_000, () => now++)
    const refused = (address: string, name: string) => !limiter.admit(address, name).ok
    expect(refused('192.0.2.1', 'tried-once')).toBe(false)
    expect(refused('192.0.2.2', 'tried-on')).toBe(false)
    for (let i = 0; i < 150_000; i++) {
      limiter.admit(`10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`, `flood-${i}`)
      if (i % 1000 === 0) expect(refused('192.0.2.2', 'tried-on')).toBe(true)
    }
    // Well within the window: the address still asked about is still limited, the other forgotten.
    expect(refused('192.0.2.2', 'another')).toBe(true)
    expect(refused('192.0.2.1', 'another')).toBe(false)
  })
})
