/**
 * Whether anything answers: the viewer is told (`onChange(false)`) when segments or
 * playlists are awaited (or failed) and no bytes came for NOTICE_MS; told again (true) with
 * the next bytes.
 */

/** How long a segment or playlist may bring nothing before the viewer is told. */
const NOTICE_MS = 4000

export class Reachability {
  private pending = 0
  /** A playlist is awaited or failed (the first, at the start). */
  private failing = true
  private last = performance.now()
  private reachable = true
  private readonly timer = setInterval(() => this.check(), 500)

  constructor(private readonly onChange: (reachable: boolean) => void) {}

  /** A segment load starts: a wait starts with the first of them. */
  begin(): void {
    if (this.pending++ === 0 && !this.failing) this.last = performance.now()
  }

  end(): void {
    this.pending--
  }

  /** Bytes came (a segment's, or a playlist). */
  alive(): void {
    this.last = performance.now()
    if (!this.reachable) this.onChange((this.reachable = true))
  }

  /** A playlist loaded (true), or is awaited or failed (false). */
  playlists(ok: boolean): void {
    if (!ok && !this.failing && this.pending === 0) this.last = performance.now()
    this.failing = !ok
    if (ok) this.alive()
  }

  private check(): void {
    if (this.reachable && (this.pending > 0 || this.failing) && performance.now() - this.last >= NOTICE_MS) this.onChange((this.reachable = false))
  }

  stop(): void {
    clearInterval(this.timer)
  }
}
