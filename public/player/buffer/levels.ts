/**
 * Which stream plays at the playhead: the level of the newest fragment buffered there.
 *
 * hls.js's own answer (`hls.currentLevel`, and its LEVEL_SWITCHED event) looks the playhead up
 * in its fragment tracker, which after a switch can still hold the old level's fragment that
 * overlaps the new level's first one by a few frames (each rendition's fragments start a frame
 * or two apart). Paused in that overlap, the viewer was told the old level while the new one
 * showed (and the menu kept saying so until playback moved on).
 */

/** Fragments remembered at most (the element's buffer holds far fewer). */
const MAX = 200

/** A fragment's playlist times can start a little after its first frame. */
const START_TOLERANCE_S = 0.1

export class BufferedLevels {
  private frags: { level: number; start: number; end: number }[] = []

  /** A main fragment of `level` covering start..end (seconds) was appended. */
  add(level: number, start: number, end: number): void {
    this.frags.push({ level, start, end })
    if (this.frags.length > MAX) this.frags.shift()
  }

  /** hls.js removes start..end from the buffer: the fragments wholly inside it are gone. */
  flushed(start: number, end: number): void {
    this.frags = this.frags.filter((f) => f.start < start || f.end > end)
  }

  /** The level playing at `time`, undefined when no remembered fragment covers it. */
  at(time: number): number | undefined {
    for (let i = this.frags.length - 1; i >= 0; i--) {
      const f = this.frags[i]!
      if (f.start - START_TOLERANCE_S <= time && time < f.end) return f.level
    }
    return undefined
  }
}
