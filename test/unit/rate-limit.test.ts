/**
 * Rate limits by key (src/shared/rate-limit.ts) with an injected clock, and the client address
 * they count by (src/shared/client-address.ts).
 */
import { describe, expect, test } from 'bun:test'
import { clientAddress } from '../../src/shared/client-address'
import { RateLimiter } from '../../src/shared/rate-limit'

describe('RateLimiter', () => {
  test('allows `limit` events a window, then says how many seconds until the window ends', () => {
    let now = 1_000_000
    const limiter = new RateLimiter(3, 60_000, () => now)
    expect([1, 2, 3].map(() => limiter.take('a').ok)).toEqual([true, true, true])
    expect(limiter.take('a')).toEqual({ ok: false, error: { retryAfterSeconds: 60 } })
    now += 59_001
    expect(limiter.take('a')).toEqual({ ok: false, error: { retryAfterSeconds: 1 } })
    // Less than a second left still says one second, never zero.
    now += 998
    expect(limiter.take('a')).toEqual({ ok: false, error: { retryAfterSeconds: 1 } })
    now += 1
    expect(limiter.take('a').ok).toBe(true)
  })

  test('keys are counted apart: one key at its limit leaves the others alone', () => {
    const limiter = new RateLimiter(1, 60_000, () => 0)
    expect(limiter.take('friend-a').ok).toBe(true)
    expect(limiter.take('friend-a').ok).toBe(false)
    expect(limiter.take('friend-b').ok).toBe(true)
  })

  test('past maxKeys the oldest window is forgotten (it starts afresh), the newest kept', () => {
    let now = 0
    const limiter = new RateLimiter(1, 60_000, () => now++, 3)
    for (const key of ['a', 'b', 'c']) limiter.take(key)
    expect(limiter.take('c').ok).toBe(false)
    limiter.take('d')
    // 'a' was the oldest of four keys: forgotten, so allowed again; 'c' and 'd' still limited.
    expect(limiter.take('a').ok).toBe(true)
    expect(limiter.take('c').ok).toBe(false)
    expect(limiter.take('d').ok).toBe(false)
  })
})

describe('clientAddress', () => {
  test('without trustProxy: the TCP peer, whatever X-Forwarded-For says, IPv4-mapped as plain IPv4', () => {
    expect(clientAddress(false, '203.0.113.9', '192.0.2.1')).toBe('192.0.2.1')
    expect(clientAddress(false, null, '::ffff:192.0.2.1')).toBe('192.0.2.1')
    expect(clientAddress(false, null, '2001:db8::1')).toBe('2001:db8::1')
    expect(clientAddress(false, null, undefined)).toBe('')
  })

  test("with trustProxy: the last valid entry (our proxy's), skipping what is no address", () => {
    expect(clientAddress(true, '198.51.100.7, 203.0.113.9', '127.0.0.1')).toBe('203.0.113.9')
    expect(clientAddress(true, '203.0.113.9, abc, unknown', '127.0.0.1')).toBe('203.0.113.9')
    expect(clientAddress(true, ' ::ffff:203.0.113.9 ', '127.0.0.1')).toBe('203.0.113.9')
    expect(clientAddress(true, 'abc, 999.1.1.1', '127.0.0.1')).toBe('127.0.0.1')
    expect(clientAddress(true, null, '127.0.0.1')).toBe('127.0.0.1')
  })
})
