/**
 * The head start of a video: its first seconds (the governor's startup window), fetched from
 * the web seed before WebTorrent is there. The watch page's HTML plays exactly these bytes
 * (`?head=` of the web seed, src/pages/routes.ts) and the player fetches them for the torrent:
 * both ask this module how many there are.
 */
import { DEFAULT_GOVERNOR } from './governor'

/**
 * How many bytes at the start of a file hold its first `startHorizonSeconds` (at its average
 * bit rate), when that is a small part of it (`cheapShare`); undefined otherwise (size or
 * duration unknown, or a short video, which waits for peers instead).
 */
export function headStartBytes(size: number | null | undefined, duration: number | null | undefined): number | undefined {
  if (!size || !duration || duration <= 0) return undefined
  const bytes = Math.ceil((DEFAULT_GOVERNOR.startHorizonSeconds / duration) * size)
  return bytes / size <= DEFAULT_GOVERNOR.cheapShare ? bytes : undefined
}
