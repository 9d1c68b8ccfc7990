/**
 * The metrics' text (src/shared/metrics.ts) as Prometheus reads it: escaping, cumulative
 * histogram buckets, a counter without labels there from the start; and the `metrics.*`
 * configuration keys. (What a pod exposes, checked by promtool and scraped by Prometheus, is
 * test/metrics.test.ts.)
 */
import { describe, expect, test } from 'bun:test'
import { ConfigError, loadConfig, resolveConfig } from '../../src/shared/config'
import { DomainError } from '../../src/shared/errors'
import { Registry } from '../../src/shared/metrics'

describe('the text format', () => {
  test('label values and help have their backslashes, quotes and line feeds escaped', () => {
    const r = new Registry()
    r.counter('x_total', 'A help with \\ and\na line feed.', ['v']).inc({ v: 'a "quoted" \\ value\non two lines' })
    expect(r.render()).toBe(
      ['# HELP x_total A help with \\\\ and\\na line feed.', '# TYPE x_total counter', 'x_total{v="a \\"quoted\\" \\\\ value\\non two lines"} 1', ''].join('\n'),
    )
  })

  test('a counter without labels reads 0 before anything happened; with labels, only what happened', () => {
    const r = new Registry()
    r.counter('bytes_total', 'Bytes.').inc({}, 0)
    const byRoute = r.counter('requests_total', 'Requests.', ['route'])
    expect(r.render()).toContain('\nbytes_total 0\n')
    expect(r.render()).not.toContain('requests_total{')
    byRoute.inc({ route: '/a' })
    byRoute.inc({ route: '/a' }, 2)
    byRoute.inc({ route: '/b' })
    expect(r.render()).toContain('requests_total{route="/a"} 3\nrequests_total{route="/b"} 1\n')
    byRoute.remove({ route: '/a' })
    expect(r.render()).not.toContain('route="/a"')
  })

  test('histogram buckets are cumulative, with +Inf, sum and count; a series can be removed', () => {
    const r = new Registry()
    const h = r.histogram('wait_seconds', 'Waits.', ['friend'], [0.1, 1])
    for (const v of [0.05, 0.1, 0.5, 3]) h.observe({ friend: 'f1' }, v)
    h.observe({ friend: 'f2' }, 0.2)
    const text = r.render()
    expect(text).toContain(
      [
        'wait_seconds_bucket{friend="f1",le="0.1"} 2',
        'wait_seconds_bucket{friend="f1",le="1"} 3',
        'wait_seconds_bucket{friend="f1",le="+Inf"} 4',
        'wait_seconds_sum{friend="f1"} 3.65',
        'wait_seconds_count{friend="f1"} 4',
      ].join('\n'),
    )
    h.remove({ friend: 'f1' })
    expect(r.render()).not.toContain('f1')
    expect(r.render()).toContain('wait_seconds_count{friend="f2"} 1')
  })

  test('gauges are read at each scrape; none read writes only the HELP and TYPE; special values are +Inf, -Inf, NaN', () => {
    const r = new Registry()
    let n = 1
    r.gauge('now', 'Now.', [], () => n)
    r.gauge('absent', 'Not on this system.', [], () => undefined)
    r.gauge('odd', 'Odd values.', ['k'], () => [
      [{ k: 'inf' }, Infinity],
      [{ k: 'minus' }, -Infinity],
      [{ k: 'nan' }, NaN],
    ])
    expect(r.render()).toContain('\nnow 1\n')
    n = 2
    expect(r.render()).toContain('\nnow 2\n')
    expect(r.render()).toContain('# TYPE absent gauge\n# HELP odd')
    expect(r.render()).toContain('odd{k="inf"} +Inf\nodd{k="minus"} -Inf\nodd{k="nan"} NaN\n')
  })

  test('a name is registered once', () => {
    const r = new Registry()
    r.counter('once_total', 'Once.')
    expect(() => r.counter('once_total', 'Twice.')).toThrow(DomainError)
  })
})

describe('metrics.* configuration', () => {
  const problems = (values: Record<string, unknown>) => {
    try {
      resolveConfig([{ source: 't', values }])
      return []
    } catch (e) {
      if (e instanceof ConfigError) return e.problems
      throw e
    }
  }

  test('off by default; a token of 16 characters or more, and host:port addresses, are taken', () => {
    const off = resolveConfig([]).metrics
    expect([off.token, off.listen]).toEqual(['', ''])
    for (const listen of ['127.0.0.1:9100', '[::1]:9100', 'localhost:1', 'metrics.internal:65535', ''])
      expect(resolveConfig([{ source: 't', values: { metrics: { listen, token: 'a'.repeat(16) } } }]).metrics.listen).toBe(listen)
  })

  test('a short token and addresses that are not host:port are refused, the token never shown', () => {
    const short = problems({ metrics: { token: 'fifteen-chars-x' } })
    expect(short).toEqual(['metrics.token = (hidden) is not valid: expected at least 16 characters (e.g. `openssl rand -hex 32`), or "" for none'])
    for (const listen of ['9100', '127.0.0.1', '127.0.0.1:0', '127.0.0.1:70000', 'http://127.0.0.1:9100', '::1:9100'])
      expect(problems({ metrics: { listen } })).toEqual([`t: metrics.listen = ${JSON.stringify(listen)} is not valid: expected host:port to listen on (127.0.0.1:9100, [::1]:9100), or "" for none`])
    expect(problems({ metrics: { token: 42 } })).toEqual(['t: metrics.token = (hidden) is not valid: expected a non-empty string'])
  })

  test('the token comes from SEEDPOD_METRICS_TOKEN, is readable by name and hidden from JSON and spreads', () => {
    const token = 'f'.repeat(64)
    const c = loadConfig({ env: { SEEDPOD_METRICS_TOKEN: token, SEEDPOD_METRICS_LISTEN: '127.0.0.1:9100' } })
    expect(c.metrics.token).toBe(token)
    expect(c.metrics.listen).toBe('127.0.0.1:9100')
    expect(JSON.stringify(c)).not.toContain(token)
    expect(Object.keys({ ...c.metrics })).toEqual(['listen'])
  })
})
