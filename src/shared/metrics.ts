/**
 * Metrics in Prometheus's text exposition format (version 0.0.4): counters and histograms the
 * code moves as things happen, and gauges read when scraped. What the pod measures, and with
 * which labels, is src/metrics/; this module only keeps and writes them.
 *
 * Written here rather than taken from prom-client: the pod's gauges are all read at scrape
 * time from its own stores, which needs no more than a callback; and prom-client's default
 * metrics are Node's (V8's heap spaces, libuv handles), which under Bun read as zeros, so the
 * process's own would have been written here anyway.
 */
import { DomainError } from './errors'

/** Label values by label name. */
export type Labels = Readonly<Record<string, string>>

/** One sample: its labels and value. */
export type Sample = readonly [labels: Labels, value: number]

/** `\`, `"` and line feeds escaped, as label values need them. */
function escapeValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')
}

/** A number as the format writes it (`+Inf`, `-Inf`, `NaN`). */
function formatNumber(n: number): string {
  if (Number.isNaN(n)) return 'NaN'
  if (n === Infinity) return '+Inf'
  if (n === -Infinity) return '-Inf'
  return String(n)
}

function formatLabels(names: readonly string[], labels: Labels, extra?: [string, string]): string {
  const pairs = names.map((n) => `${n}="${escapeValue(labels[n] ?? '')}"`)
  if (extra) pairs.push(`${extra[0]}="${escapeValue(extra[1])}"`)
  return pairs.length ? `{${pairs.join(',')}}` : ''
}

/** A family of series: its name, help, type and label names. */
abstract class Family {
  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
  ) {}

  abstract readonly type: 'counter' | 'gauge' | 'histogram'

  /** The lines of its samples (no HELP or TYPE). */
  abstract lines(): string[]

  /** The key of a label set, in the family's label order. */
  protected key(labels: Labels): string {
    return this.labelNames.map((n) => labels[n] ?? '').join('\u0000')
  }

  protected labelsOf(key: string): Labels {
    const values = key.split('\u0000')
    return Object.fromEntries(this.labelNames.map((n, i) => [n, values[i] ?? '']))
  }
}

/** A count that only goes up (its name ends in `_total`). */
export class Counter extends Family {
  readonly type = 'counter'
  private readonly values = new Map<string, number>()

  constructor(name: string, help: string, labelNames: readonly string[]) {
    super(name, help, labelNames)
    // One without labels is one series, there from the start: a query finds its 0.
    if (!labelNames.length) this.values.set('', 0)
  }

  inc(labels: Labels = {}, by = 1): void {
    const k = this.key(labels)
    this.values.set(k, (this.values.get(k) ?? 0) + by)
  }

  /** Forgets the series whose labels include `match` (a friend gone). */
  remove(match: Labels): void {
    for (const k of this.values.keys()) if (Object.entries(match).every(([n, v]) => this.labelsOf(k)[n] === v)) this.values.delete(k)
  }

  lines(): string[] {
    return [...this.values].map(([k, v]) => `${this.name}${formatLabels(this.labelNames, this.labelsOf(k))} ${formatNumber(v)}`)
  }
}

/** How many observations fell at or below each bound, with their sum and count. */
export class Histogram extends Family {
  readonly type = 'histogram'
  private readonly series = new Map<string, { buckets: number[]; sum: number; count: number }>()

  constructor(name: string, help: string, labelNames: readonly string[], readonly bounds: readonly number[]) {
    super(name, help, labelNames)
  }

  observe(labels: Labels, value: number): void {
    const k = this.key(labels)
    let s = this.series.get(k)
    if (!s) this.series.set(k, (s = { buckets: this.bounds.map(() => 0), sum: 0, count: 0 }))
    // Each bucket counts what is at or below its bound: the text format's buckets are cumulative.
    this.bounds.forEach((b, i) => {
      if (value <= b) s.buckets[i]!++
    })
    s.sum += value
    s.count++
  }

  /** Forgets the series whose labels include `match`. */
  remove(match: Labels): void {
    for (const k of this.series.keys()) if (Object.entries(match).every(([n, v]) => this.labelsOf(k)[n] === v)) this.series.delete(k)
  }

  lines(): string[] {
    return [...this.series].flatMap(([k, s]) => {
      const labels = this.labelsOf(k)
      return [
        ...this.bounds.map((b, i) => `${this.name}_bucket${formatLabels(this.labelNames, labels, ['le', formatNumber(b)])} ${s.buckets[i]}`),
        `${this.name}_bucket${formatLabels(this.labelNames, labels, ['le', '+Inf'])} ${s.count}`,
        `${this.name}_sum${formatLabels(this.labelNames, labels)} ${formatNumber(s.sum)}`,
        `${this.name}_count${formatLabels(this.labelNames, labels)} ${s.count}`,
      ]
    })
  }
}

/** Values read when scraped (`type` counter: a total kept elsewhere, such as the process's CPU time). */
class Collected extends Family {
  constructor(
    name: string,
    help: string,
    labelNames: readonly string[],
    readonly type: 'gauge' | 'counter',
    private readonly read: () => readonly Sample[] | number | undefined,
  ) {
    super(name, help, labelNames)
  }

  lines(): string[] {
    const read = this.read()
    if (read === undefined) return []
    const samples: readonly Sample[] = typeof read === 'number' ? [[{}, read]] : read
    return samples.map(([labels, v]) => `${this.name}${formatLabels(this.labelNames, labels)} ${formatNumber(v)}`)
  }
}

/** The metrics of one pod, and their text. */
export class Registry {
  private readonly families: Family[] = []

  private add<F extends Family>(family: F): F {
    if (this.families.some((f) => f.name === family.name)) throw new DomainError('internal', 'metric_registered', `metric ${family.name} is registered already`)
    this.families.push(family)
    return family
  }

  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    return this.add(new Counter(name, help, labelNames))
  }

  histogram(name: string, help: string, labelNames: readonly string[], bounds: readonly number[]): Histogram {
    return this.add(new Histogram(name, help, labelNames, bounds))
  }

  /** A gauge read at each scrape: a number, samples, or undefined for none. */
  gauge(name: string, help: string, labelNames: readonly string[], read: () => readonly Sample[] | number | undefined): void {
    this.add(new Collected(name, help, labelNames, 'gauge', read))
  }

  /** A counter kept elsewhere (the process's CPU time), read at each scrape. */
  collectedCounter(name: string, help: string, read: () => number | undefined): void {
    this.add(new Collected(name, help, [], 'counter', read))
  }

  /** Every family's HELP, TYPE and samples: the body of `GET /metrics`. */
  render(): string {
    const out: string[] = []
    for (const f of this.families) {
      out.push(`# HELP ${f.name} ${f.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${f.name} ${f.type}`, ...f.lines())
    }
    return out.join('\n') + '\n'
  }
}

/** The Content-Type of the text format. */
export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8'
