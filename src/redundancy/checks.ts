/**
 * Mirrors proven: a mirror another pod announced (`video.mirror`) is listed to viewers only
 * once this pod has fetched a few pieces of its file from the mirror's web seed, chosen at
 * random, and found them to be the pieces of the torrent it trusts (proof.ts); and it is
 * checked again every `recheckMs`. A check that fails (other bytes, an error status, no answer
 * in time) unlists the mirror, which is checked again after a backoff that doubles with each
 * failure. A hostile mirror costs bounded bytes and time: each request goes through the
 * outbound client (its deadline, the piece's bytes at most), a check fetches a few pieces, one
 * pod is checked once at a time and a few pods at once in all, and at most `bytesPerHour` are
 * fetched from one pod in an hour (a check beyond waits for the next hour). The state is the
 * table's (known-store.ts): a restart carries on where it was.
 */
import type { Chore } from '../../actors/housekeeper'
import type { Logger } from '../shared/log'
import type { DueMirror, KnownMirrors } from './known-store'

/** How often mirrors are checked, and how much they may cost (config `redundancy.*`). */
export interface CheckSettings {
  /** A proven mirror is checked again this long after its last check (ms). */
  recheckMs: number
  /** Bytes fetched from one pod per hour for checks, at most. */
  bytesPerHour: number
}

/** What one check of a mirror's file found. */
export type CheckOutcome =
  /** Its pieces are the torrent's: listed. */
  | { kind: 'proven'; bytes: number }
  /** They are not, or it did not answer as a web seed does: unlisted. */
  | { kind: 'failed'; bytes: number; reason: string }
  /** It would cost more than what is left of its pod's hour (`cost` bytes): checked in the next hour. */
  | { kind: 'over_budget'; cost: number }
  /** This pod could not check it now, through no fault of the mirror's (the origin's torrent is out of reach): as it was. */
  | { kind: 'later'; reason: string }
  /** This pod's own copy, which it keeps: listed without a check. */
  | { kind: 'own' }
  /** A file no longer the video's, or a copy of this pod's that it no longer keeps: forgotten. */
  | { kind: 'gone'; reason: string }

/** What the checks run on. */
export interface MirrorChecksDeps {
  known: KnownMirrors
  /** Checks one mirror's file, fetching at most `allowance` bytes. */
  check(m: DueMirror, allowance: number): Promise<CheckOutcome>
  settings: CheckSettings
  log: Logger
  now: () => number
}

/** The first wait after a failed check; it doubles with each failure in a row, up to MAX_BACKOFF_MS. */
export const FIRST_BACKOFF_MS = 60_000
/** The longest wait between checks of a failing mirror. */
export const MAX_BACKOFF_MS = 24 * 3600_000
/** How long a check this pod could not make waits. */
export const LATER_MS = 10 * 60_000
/** Pods checked at once. */
const AT_ONCE = 4
/** Due mirrors read per round. */
const ROUND = 64
const HOUR_MS = 3600_000

/** The wait before the check after the `failures`-th failure in a row. */
export const backoffMs = (failures: number) => Math.min(FIRST_BACKOFF_MS * 2 ** Math.max(0, failures - 1), MAX_BACKOFF_MS)

/** Runs the checks of the mirrors that are due (the housekeeper's chore, and at once when a mirror is announced). */
export class MirrorChecks {
  /** Bytes fetched from each pod (by its id) in its current hour. */
  private readonly spent = new Map<number, { since: number; bytes: number }>()
  private running: Promise<void> | undefined
  private again = false
  private stopped = false

  constructor(private readonly deps: MirrorChecksDeps) {}

  /** The housekeeper's chore: the checks that came due. */
  chores(): Chore[] {
    return [{ name: 'mirror-checks', everyMs: 5000, run: () => this.run() }]
  }

  /** Checks what is due now, in the background (a mirror was just announced). */
  wake(): void {
    setTimeout(() => void this.run().catch((e) => this.deps.log.warn('mirror.checks.failed', { error: e })), 0)
  }

  /** No further check starts, and none in flight changes anything (the pod stops, its database closes). */
  stop(): void {
    this.stopped = true
  }

  /** Checks every mirror that is due, a few pods at a time; resolves when none is due. A call while it runs makes it look again. */
  run(): Promise<void> {
    if (this.stopped) return Promise.resolve()
    if (this.running) {
      this.again = true
      return this.running
    }
    this.running = this.rounds().finally(() => (this.running = undefined))
    return this.running
  }

  private async rounds(): Promise<void> {
    do {
      this.again = false
      // Each check moves its mirror's next check past now: a round never sees it again.
      for (let due = this.due(); due.length; due = this.due()) await this.round(due)
    } while (this.again && !this.stopped)
  }

  private due(): DueMirror[] {
    return this.stopped ? [] : this.deps.known.due(this.deps.now(), ROUND)
  }

  /** Checks `due`, at most AT_ONCE at a time and one per pod. */
  private async round(due: DueMirror[]): Promise<void> {
    const busy = new Set<number>()
    const queue = [...due]
    const worker = async () => {
      for (;;) {
        const i = queue.findIndex((m) => !busy.has(m.pod))
        if (i < 0 || this.stopped) return
        const [m] = queue.splice(i, 1)
        busy.add(m!.pod)
        await this.checkOne(m!)
        busy.delete(m!.pod)
      }
    }
    await Promise.all(Array.from({ length: AT_ONCE }, worker))
  }

  /** This hour's spending of a pod's budget. */
  private hourOf(pod: number, now: number): { since: number; bytes: number } {
    const hour = this.spent.get(pod)
    if (hour && now - hour.since < HOUR_MS) return hour
    const fresh = { since: now, bytes: 0 }
    this.spent.set(pod, fresh)
    return fresh
  }

  private async checkOne(m: DueMirror): Promise<void> {
    const { known, settings, log, now } = this.deps
    const hour = this.hourOf(m.pod, now())
    let outcome: CheckOutcome
    try {
      outcome = await this.deps.check(m, settings.bytesPerHour - hour.bytes)
    } catch (e) {
      // Cut short by the pod stopping (its database closed) is no fault.
      if (this.stopped) return
      // A fault of this pod's own (its database, its storage): as it was, and said so.
      log.error('mirror.check.error', { video: m.video, infoHash: m.infoHash, error: e })
      outcome = { kind: 'later', reason: 'the check failed here' }
    }
    if (this.stopped) return
    const at = now()
    const about = { video: m.video, rendition: m.rendition, infoHash: m.infoHash, pod: m.podUrl }
    switch (outcome.kind) {
      case 'proven':
        hour.bytes += outcome.bytes
        known.proven(m, at, at + settings.recheckMs)
        if (!m.listed) log.info('mirror.proven', { ...about, bytes: outcome.bytes })
        return
      case 'failed':
        hour.bytes += outcome.bytes
        known.failed(m, at + backoffMs(m.failures + 1))
        log.warn(m.listed ? 'mirror.unlisted' : 'mirror.check.failed', { ...about, reason: outcome.reason, failures: m.failures + 1 })
        return
      case 'over_budget':
        known.later(m, Math.max(hour.since + HOUR_MS, at + 1))
        log.debug('mirror.check.deferred', { ...about, cost: outcome.cost })
        return
      case 'later':
        known.later(m, at + LATER_MS)
        log.info('mirror.check.later', { ...about, reason: outcome.reason })
        return
      case 'own':
        known.addOwn(m.video, m.infoHash, m.rendition, at)
        return
      case 'gone':
        known.drop(m)
        log.info('mirror.forgotten', { ...about, reason: outcome.reason })
    }
  }
}
