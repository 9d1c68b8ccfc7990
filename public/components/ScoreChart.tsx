/** A small line chart of a friend's score over time (SVG, with a text alternative). */
import type { ScorePoint } from '../lib/types'

/** Draws `points` (oldest first) in a `width` x `height` box; `max` is the score ceiling. */
export function ScoreChart({ points, name, width = 140, height = 36 }: { points: ScorePoint[]; name: string; width?: number; height?: number }) {
  if (points.length === 0) return <span class="chart-empty">no history yet</span>
  const times = points.map((p) => Date.parse(p.at))
  const scores = points.map((p) => p.score)
  const t0 = Math.min(...times)
  const t1 = Math.max(...times)
  const lo = Math.min(0, ...scores)
  const hi = Math.max(...scores, lo + 1)
  const pad = 3
  const x = (t: number) => (t1 === t0 ? width - pad : pad + ((t - t0) / (t1 - t0)) * (width - 2 * pad))
  const y = (s: number) => height - pad - ((s - lo) / (hi - lo)) * (height - 2 * pad)
  // A single point draws as a short flat line ending at "now".
  const xy = points.length === 1 ? [[pad, y(scores[0]!)], [width - pad, y(scores[0]!)]] : points.map((p, i) => [x(times[i]!), y(p.score)])
  const line = xy.map(([a, b], i) => `${i ? 'L' : 'M'}${a!.toFixed(1)},${b!.toFixed(1)}`).join(' ')
  const area = `${line} L${xy[xy.length - 1]![0]!.toFixed(1)},${height - pad} L${xy[0]![0]!.toFixed(1)},${height - pad} Z`
  const first = scores[0]!
  const last = scores[scores.length - 1]!
  const label = `Score of ${name} over time: ${points.length} point${points.length === 1 ? '' : 's'}, from ${first} to ${last}, lowest ${Math.min(...scores)}, highest ${Math.max(...scores)}.`
  const [lx, ly] = xy[xy.length - 1]!
  return (
    <svg class="score-chart" viewBox={`0 0 ${width} ${height}`} width={width} height={height} role="img" aria-label={label}>
      <title>{label}</title>
      <path class="score-area" d={area} />
      <path class="score-line" d={line} />
      <circle class="score-dot" cx={lx} cy={ly} r="2.5" />
    </svg>
  )
}
