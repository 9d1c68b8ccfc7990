/** Human-readable sizes, speeds, durations and dates. */

/** `1.5 MB`, `820 KB`, `12 B` (decimal units, as browsers and OSes show downloads). */
export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '–'
  const units = ['B', 'KB', 'MB', 'GB', 'TB']
  let i = 0
  let v = n
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000
    i++
  }
  return `${i === 0 ? Math.round(v) : v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`
}

/** `1.2 MB/s`. */
export const speed = (n: number) => `${bytes(n)}/s`

/** `3:07`, `1:02:03`. */
export function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return ''
  const s = Math.round(seconds)
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  const ss = String(s % 60).padStart(2, '0')
  return h ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`
}

/** A duration for screen readers: `3 minutes 7 seconds`. */
export function durationWords(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return ''
  const s = Math.round(seconds)
  const parts: string[] = []
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  if (h) parts.push(`${h} hour${h === 1 ? '' : 's'}`)
  if (m) parts.push(`${m} minute${m === 1 ? '' : 's'}`)
  if (s % 60 || !parts.length) parts.push(`${s % 60} second${s % 60 === 1 ? '' : 's'}`)
  return parts.join(' ')
}

const rtf = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' })

/** `3 hours ago`, `in 5 minutes`. */
export function relative(iso: string | number, now = Date.now()): string {
  const t = typeof iso === 'number' ? iso : Date.parse(iso)
  if (Number.isNaN(t)) return ''
  const diff = (t - now) / 1000
  const abs = Math.abs(diff)
  if (abs < 45) return rtf.format(Math.round(diff), 'second')
  if (abs < 2700) return rtf.format(Math.round(diff / 60), 'minute')
  if (abs < 64800) return rtf.format(Math.round(diff / 3600), 'hour')
  if (abs < 26 * 86400) return rtf.format(Math.round(diff / 86400), 'day')
  if (abs < 320 * 86400) return rtf.format(Math.round(diff / (30 * 86400)), 'month')
  return rtf.format(Math.round(diff / (365 * 86400)), 'year')
}

/** A full local date and time, for `title` and `<time>`. */
export const fullDate = (iso: string) => new Date(iso).toLocaleString()

/** The host of a URL (`pod.example:9000`), or the URL itself. */
export function host(url: string): string {
  try {
    return new URL(url).host
  } catch {
    return url
  }
}

/** The API's messages start in lower case: `the password...` -> `The password....`. */
export function sentence(message: string): string {
  const m = message.trim()
  if (!m) return m
  return m[0]!.toUpperCase() + m.slice(1) + (/[.!?]$/.test(m) ? '' : '.')
}
