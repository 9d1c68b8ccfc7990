/** The logger: one line per event, JSON or pretty, filtered by level. */
import { describe, expect, test } from 'bun:test'
import { createLogger } from '../../src/shared/log'

function capture(opts: { level?: 'debug' | 'info' | 'warn' | 'error'; format: 'auto' | 'pretty' | 'json'; isTTY?: boolean }) {
  const lines: string[] = []
  const log = createLogger({ level: opts.level ?? 'debug', format: opts.format, isTTY: opts.isTTY, write: (l) => lines.push(l) })
  return { log, lines }
}

describe('log', () => {
  test('JSON lines carry time, level, event and the fields; errors become their message', () => {
    const { log, lines } = capture({ format: 'json' })
    log.warn('friend.delivery.failed', { friend: 'https://b.example', attempt: 3, error: new Error('connection refused') })
    expect(lines).toHaveLength(1)
    const record = JSON.parse(lines[0]!)
    expect(record).toMatchObject({ level: 'warn', event: 'friend.delivery.failed', friend: 'https://b.example', attempt: 3, error: 'connection refused' })
    expect(new Date(record.time).getTime()).toBeGreaterThan(0)
  })

  test('a field named like time, level or event does not replace them', () => {
    const { log, lines } = capture({ format: 'json' })
    log.info('video.added', { event: 'upload', level: 3 })
    expect(JSON.parse(lines[0]!)).toMatchObject({ event: 'video.added', level: 'info', _event: 'upload', _level: 3 })
  })

  test('a multi-line value stays on one line', () => {
    for (const format of ['json', 'pretty'] as const) {
      const { log, lines } = capture({ format })
      log.error('http.error', { stack: 'Error: x\n    at a\n    at b' })
      expect(lines).toHaveLength(1)
      expect(lines[0]).not.toContain('\n')
    }
  })

  test('pretty lines read as time, level, event, key=value', () => {
    const { log, lines } = capture({ format: 'pretty' })
    log.info('pod.started', { url: 'http://localhost:9000', name: 'my pod' })
    expect(lines[0]).toMatch(/^\d\d:\d\d:\d\d\.\d{3} \x1b\[\d+mINFO \x1b\[0m pod\.started url=http:\/\/localhost:9000 name="my pod"$/)
  })

  test('auto is pretty on a terminal and JSON elsewhere', () => {
    const tty = capture({ format: 'auto', isTTY: true })
    tty.log.info('a.b')
    expect(tty.lines[0]).toContain('INFO')
    const pipe = capture({ format: 'auto', isTTY: false })
    pipe.log.info('a.b')
    expect(JSON.parse(pipe.lines[0]!).event).toBe('a.b')
  })

  test('lines below the level are left out', () => {
    const { log, lines } = capture({ format: 'json', level: 'warn' })
    log.debug('x.debug')
    log.info('x.info')
    log.warn('x.warn')
    log.error('x.error')
    expect(lines.map((l) => JSON.parse(l).event)).toEqual(['x.warn', 'x.error'])
  })
})
