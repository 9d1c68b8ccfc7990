/**
 * One line per event: readable on a terminal, JSON lines elsewhere (journald, files, log
 * shippers). Events are dot-named (`pod.started`, `friend.delivery.failed`).
 */
import type { ActorLog, ActorLogFields } from '../../actors/ports'
import type { LogLevel } from './config'

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 }
const COLOR: Record<LogLevel, string> = { debug: '\x1b[90m', info: '\x1b[36m', warn: '\x1b[33m', error: '\x1b[31m' }

export type LogFields = ActorLogFields

/** A logger bound to a level and a format: the one the actors declare they log to. */
export type Logger = ActorLog

function pretty(v: unknown): string {
  if (v instanceof Error) return JSON.stringify(v.message)
  if (typeof v === 'string') return /^[\w./:@+-]*$/.test(v) && v !== '' ? v : JSON.stringify(v)
  return JSON.stringify(v) ?? String(v)
}

/**
 * Creates a logger. `format: 'auto'` writes pretty lines to a TTY and JSON lines otherwise.
 * `write` defaults to stderr so that stdout stays free for command output.
 */
export function createLogger(opts: {
  level: LogLevel
  format: 'auto' | 'pretty' | 'json'
  write?: (line: string) => void
  isTTY?: boolean
}): Logger {
  const write = opts.write ?? ((line: string) => process.stderr.write(line + '\n'))
  const json = opts.format === 'json' || (opts.format === 'auto' && !(opts.isTTY ?? process.stderr.isTTY))
  const min = ORDER[opts.level]
  const emit = (level: LogLevel) => (event: string, all: LogFields = {}) => {
      if (ORDER[level] < min) return
      if (json) {
        const record: LogFields = { time: new Date().toISOString(), level, event }
        // A field never hides the line's own time, level or event.
        for (const [k, v] of Object.entries(all)) record[k in record ? `_${k}` : k] = v instanceof Error ? v.message : v
        write(JSON.stringify(record))
      } else {
        const time = new Date().toISOString().slice(11, 23)
        const rest = Object.entries(all).map(([k, v]) => `${k}=${pretty(v)}`).join(' ')
        write(`${time} ${COLOR[level]}${level.toUpperCase().padEnd(5)}\x1b[0m ${event}${rest ? ' ' + rest : ''}`)
      }
    }
  return { debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error') }
}
