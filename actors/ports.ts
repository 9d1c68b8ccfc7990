/**
 * The types the actors own and the rest of the pod implements. The machines of this folder
 * import nothing from src/: what they need from the pod (a log, files to seed, a BitTorrent
 * client) they declare here, and src/app/assemble.ts provides it, as tests provide fakes.
 */
import type WebTorrent from 'webtorrent'

/** Fields of a log line. */
export type ActorLogFields = Record<string, unknown>

/** Where the actors log (the pod's logger satisfies it). */
export interface ActorLog {
  debug(event: string, fields?: ActorLogFields): void
  info(event: string, fields?: ActorLogFields): void
  warn(event: string, fields?: ActorLogFields): void
  error(event: string, fields?: ActorLogFields): void
}

/** A file the pod seeds: an own video's original or rendition, or a copy of a friend's. */
export interface SeedFile {
  infoHash: string
  /** Its key in the pod's store, and its stored .torrent's (made when the file was stored). */
  key: string
  torrentKey: string
}

/** Loads webtorrent at first use (the pod's largest module; a pod that seeds nothing never loads it). */
export type LoadWebTorrent = () => Promise<typeof WebTorrent>
