/**
 * The choice of rendition that is ours, not hls.js's: which levels Auto may switch between,
 * and the level playback starts with. Within those bounds hls.js measures the link and the
 * buffer and switches at segment boundaries, never above what the player's size needs
 * (its `capLevelToPlayerSize`). Pure, so test/unit/ checks it as it is.
 *
 * A level whose keyframes are not on the 2 s grid of the others (`aligned: false`: an
 * original whose encoder put them elsewhere) cannot be switched to or from at a segment
 * boundary without a skip: Auto keeps off it, and only a viewer's pick plays it.
 */
import { START_HEIGHT } from '../../../src/shared/playback'

/** What the choice needs of a level; levels are in hls.js's order (by bit rate, lowest first). */
export interface Choosable {
  height: number
  aligned: boolean
}

/**
 * The levels Auto may use, as hls.js can bound them (a lowest and a highest index): from the
 * lowest aligned level up to the last aligned one before an unaligned level. A level between
 * two unaligned ones is left out with them: hls.js switches within one range of levels.
 * Every level when none is aligned (nothing to switch in step with).
 */
export function autoBounds(levels: readonly Choosable[]): { min: number; max: number } {
  const min = levels.findIndex((l) => l.aligned)
  if (min < 0) return { min: 0, max: levels.length - 1 }
  let max = min
  while (levels[max + 1]?.aligned) max++
  return { min, max }
}

/**
 * The level to start with: the quick start's, when the page played one and Auto may use it
 * (its first segments are in the browser's cache); else the lowest Auto level at least
 * START_HEIGHT high, or as high as the player needs (`neededPx`, its height in device pixels)
 * when that is less: a start that slow links carry, which hls.js then takes up where the link
 * allows. Without one that high, the highest Auto level.
 */
export function startLevel(levels: readonly Choosable[], neededPx: number, quickStart?: number): number {
  const { min, max } = autoBounds(levels)
  if (quickStart !== undefined && quickStart >= min && quickStart <= max) return quickStart
  const target = neededPx > 0 ? Math.min(START_HEIGHT, neededPx) : START_HEIGHT
  for (let i = min; i <= max; i++) if (levels[i]!.height >= target) return i
  return max
}

/** The Quality menu's order: highest first (levels of one height: the higher bit rate first). */
export function menuOrder(levels: readonly Choosable[]): number[] {
  return levels.map((_, i) => i).sort((a, b) => levels[b]!.height - levels[a]!.height || b - a)
}
