/**
 * The playlist loader hls.js is given. The master playlist is written here from the video's
 * streams (its JSON says all that a master says: bit rate, size and codecs of each), so no
 * pod need answer for it; each level's media playlist comes from the first of the pods that
 * serve it to answer (its origin first, then those that keep a copy: pods.ts `firstAnswer`).
 * A playlist names byte ranges of its stream's file, which are read from the torrent and
 * checked against its hashes whoever sent the playlist.
 */
import type { HlsConfig, PlaylistLoaderContext } from 'hls.js'
import { debug } from '../debug'
import { fetchSoon, firstAnswer } from '../pods'
import type { Level } from '../video'
import { PromiseLoader } from './base'

/** The master playlist of `levels`: one `#EXT-X-STREAM-INF` each, naming its origin's media playlist. */
export function masterPlaylist(levels: readonly Level[]): string {
  const lines = ['#EXTM3U', '#EXT-X-VERSION:7', '#EXT-X-INDEPENDENT-SEGMENTS']
  for (const l of levels) {
    const codecs = l.codecs ? `,CODECS="${l.codecs}"` : ''
    lines.push(`#EXT-X-STREAM-INF:BANDWIDTH=${l.bandwidth},RESOLUTION=${l.width}x${l.height}${codecs}`, l.playlistUrls[0]!)
  }
  return `${lines.join('\n')}\n`
}

/** A media playlist from `url`, or undefined when it does not answer with one. */
export async function playlistAt(url: string): Promise<string | undefined> {
  const res = await fetchSoon(url)
  const text = res.ok ? await res.text() : ''
  return text.startsWith('#EXTM3U') ? text : undefined
}

/**
 * The playlist loader class for hls.js's config (`pLoader`): the master (whatever its URL)
 * is `masterPlaylist(levels)`. `onServed(copy)` tells, with each media playlist, whether it
 * came from a copy (not the stream's origin).
 */
export function playlistLoader(levels: readonly Level[], onServed: (copy: boolean) => void): HlsConfig['pLoader'] {
  const master = masterPlaylist(levels)
  /** Per level, the URL that answered last: asked first next time (a retry, a switch back). */
  const answered = new Map<Level, string>()
  const mediaPlaylist = async (level: Level): Promise<string | undefined> => {
    const order = [...new Set([answered.get(level) ?? level.playlistUrls[0]!, ...level.playlistUrls])]
    const got = await firstAnswer(order, playlistAt)
    if (!got) return undefined
    const url = order[got.index]!
    answered.set(level, url)
    onServed(url !== level.playlistUrls[0])
    debug('playlist', { level: level.label, from: url })
    return got.value
  }
  class MirrorPlaylistLoader extends PromiseLoader<PlaylistLoaderContext> {
    // Answered under the URL hls.js asked for: relative URLs in it resolve the same from any pod.
    protected async fetch(context: PlaylistLoaderContext): Promise<string> {
      const level = levels.find((l) => l.playlistUrls[0] === context.url)
      const text = context.type === 'manifest' ? master : level && (await mediaPlaylist(level))
      if (!text) throw new Error(`no pod answers with ${context.url}`)
      return text
    }
  }
  return MirrorPlaylistLoader as unknown as HlsConfig['pLoader']
}
