/**
 * Playing a video peer to peer: WebTorrent in the page, its service worker turning the
 * torrent into a URL the <video> element streams from (playback starts before the download
 * ends, and seeking asks for the right bytes), and the web-seed governor (governor.ts) that
 * keeps the web seed for what is urgent or what no peer has.
 *
 * What is played is a Source (sources.ts): a video's original or one of its renditions, each
 * its own torrent. The original may have several web seeds (its origin's and those of pods
 * that keep a copy of it) and several .torrent URLs (`xs` of its magnet): the player uses
 * every one that answers (pods.ts), so a video still plays while its origin pod is down.
 *
 * The parts: the tab's client and service worker (client.ts), what is fetched while
 * WebTorrent loads (prefetch.ts), the torrents the tab holds and seeds (torrents.ts), and the
 * hand-over of a playing element to another source (handover.ts). This module puts them
 * together for one playback.
 *
 * On a page loaded with a quick start (quick.ts), the element is already playing the video's
 * first seconds from the web seed: the player hands it over to the stream at the same moment.
 */
import type { GovernorOptions } from '../../src/shared/playback'
import { canStream, getClient, streamServer, type ClientOptions } from './client'
import { debug } from './debug'
import { plainWebSeed, type GovernorMode } from './governor'
import { endQuickStart, takeUp } from './handover'
import { prefetch } from './prefetch'
import type { QuickStartInfo } from './quick'
import type { Source } from './sources'
import { addTorrent, addWebSeeds, countersOf, governorOf, whenReady } from './torrents'

/** What the stats panel shows, refreshed by the watch page. */
export interface PlayerStats {
  /** Connected WebRTC peers. */
  peers: number
  /** Bytes per second. */
  downloadSpeed: number
  uploadSpeed: number
  /** Bytes received from other viewers, and from web seeds (the origin's and its mirrors'). */
  fromPeers: number
  fromWebSeed: number
  /** Bytes sent to other viewers. */
  uploaded: number
  /** 0..1 of the file held. */
  progress: number
  /**
   * What the web seed is allowed to do; `direct` without peer-to-peer (no service worker);
   * `stream` for a video played by its streams (stream.ts: each segment from peers first).
   */
  mode: GovernorMode | 'direct' | 'starting' | 'plain' | 'stream'
  /** The stream playing (`480p (Auto)`), for a video played by its streams. */
  quality?: string
}

/** A video being played; `stop` detaches the element (the torrent keeps seeding). */
export interface Playback {
  stats(): PlayerStats
  stop(): void
}

/** The source cannot be reached: no .torrent and no web seed answered (see `PlayOptions.requireReachable`). */
export class SourceUnreachable extends Error {
  constructor() {
    super('none of the pods that serve this file answered')
    this.name = 'SourceUnreachable'
  }
}

/** Options of `play`. */
interface PlayOptions extends ClientOptions {
  governor?: Partial<GovernorOptions>
  /**
   * Fail with SourceUnreachable when neither a .torrent nor any web seed answers, instead of
   * waiting for peers: for a rendition, which only its origin serves, when the original
   * (which mirrors may serve) is there to fall back to.
   */
  requireReachable?: boolean
  /**
   * The element is playing the page's quick start (quick.ts): the first `bytes` of the file,
   * from the web seed. No head start is fetched then; the player takes over from it at the
   * same moment once the stream is ready.
   */
  quickStart?: QuickStartInfo
}

/**
 * Plays `source` in `el` from its origin's web seed, without WebTorrent: where the page cannot
 * stream through a service worker, or the worker never took control. Only the origin's own
 * file may be played bare: a mirror's bytes are used only through the torrent's piece hashes.
 */
async function playDirect(source: Source, el: HTMLVideoElement, quickStart: QuickStartInfo | undefined): Promise<Playback> {
  const url = source.webseedUrls[0]
  const at = quickStart ? endQuickStart(el) : undefined
  if (url) el.src = url
  if (url && at) takeUp(el, at)
  return {
    stats: () => ({ peers: 0, downloadSpeed: 0, uploadSpeed: 0, fromPeers: 0, fromWebSeed: 0, uploaded: 0, progress: 0, mode: 'direct' }),
    stop: () => el.removeAttribute('src'),
  }
}

/**
 * Plays `source` in `el`: joins its swarm (or reuses the torrent this tab already holds),
 * streams the file into the element and lets the governor hand urgent pieces to the web seeds.
 */
export async function play(source: Source, el: HTMLVideoElement, opts: PlayOptions): Promise<Playback> {
  debug('play', { infoHash: source.infoHash })
  if (!canStream()) return playDirect(source, el, opts.quickStart)
  // The .torrent (a few KB), the head start and the web seeds' answers are fetched while
  // WebTorrent loads: with the .torrent the torrent is ready at once instead of waiting for
  // metadata from peers.
  const pre = prefetch(source, opts.quickStart)
  const c = await getClient(opts.webtorrentUrl, opts.iceServers)
  let torrent = await c.get(source.infoHash)
  // Held already (seeding since an earlier visit in this tab): no head start needed.
  if (!torrent) {
    const file = await pre.torrent
    if (!file && opts.requireReachable && !(await Promise.all(pre.probes.values())).some(Boolean)) throw new SourceUnreachable()
    torrent = await addTorrent(c, source, file, pre, opts.quickStart)
  }
  const t = torrent
  const counted = countersOf(t)
  await whenReady(t)
  debug('torrent ready', { pieces: t.pieces.length, pieceLength: t.pieceLength })
  t.on('wire', (w) => debug('wire', { type: w.type }))
  t.on('verified', (i) => i < 8 && debug('verified', { piece: i }))
  const governor = governorOf(t, source, opts.governor)
  if (!t.done) addWebSeeds(t, source, pre.probes)
  governor?.attach(el)
  // The first pieces are on their way; the <video> can have the file once the worker is there.
  if (!(await streamServer(c, opts.serviceWorkerUrl))) {
    governor?.detach()
    return playDirect(source, el, opts.quickStart)
  }
  debug('stream server ready')
  const file = t.files.reduce((a, b) => (b.length > a.length ? b : a))
  const at = opts.quickStart ? endQuickStart(el) : undefined
  file.streamTo(el)
  if (at) takeUp(el, at)
  el.addEventListener('loadedmetadata', () => debug('loadedmetadata'), { once: true })
  el.addEventListener('playing', () => debug('playing'), { once: true })
  return {
    stats: () => ({
      peers: t.wires.filter((w) => w.type === 'webrtc' && !w.destroyed).length,
      downloadSpeed: t.downloadSpeed,
      uploadSpeed: t.uploadSpeed,
      fromPeers: counted.fromPeers,
      fromWebSeed: counted.fromWebSeed,
      uploaded: t.uploaded,
      progress: t.progress,
      mode: t.done ? 'done' : (governor?.mode ?? (plainWebSeed() ? 'plain' : 'starting')),
    }),
    stop: () => {
      governor?.detach()
      el.removeAttribute('src')
      el.load()
    },
  }
}
