/**
 * Playing a video peer to peer: WebTorrent in the page, its service worker turning the
 * torrent into a URL the <video> element streams from (playback starts before the download
 * ends, and seeking asks for the right bytes), and the web-seed governor (governor.ts) that
 * keeps the web seed for what is urgent or what no peer has.
 *
 * One WebTorrent client per tab, kept across page changes: the torrents it holds keep
 * seeding to other viewers while the tab is open (the latest few; older ones are dropped).
 *
 * Without a service worker (a pod served over plain HTTP on a LAN address is not a secure
 * context) the player falls back to the web seed URL itself.
 */
import type { Video } from '../lib/types'
import { debug } from './debug'
import { MemoryChunkStore } from './memory-store'
import { DEFAULT_GOVERNOR, WebSeedGovernor, type GovernorMode, type GovernorOptions } from './governor'
import { loadWebTorrent, webSeedUrls, type Torrent, type WebTorrentClient, type Wire } from './webtorrent'

/** What the stats panel shows, refreshed by the watch page. */
export interface PlayerStats {
  /** Connected WebRTC peers. */
  peers: number
  /** Bytes per second. */
  downloadSpeed: number
  uploadSpeed: number
  /** Bytes received from other viewers, and from the origin pod's web seed. */
  fromPeers: number
  fromWebSeed: number
  /** Bytes sent to other viewers. */
  uploaded: number
  /** 0..1 of the file held. */
  progress: number
  /** What the web seed is allowed to do; `direct` without peer-to-peer (no service worker). */
  mode: GovernorMode | 'direct' | 'starting' | 'plain'
}

/** A video being played; `stop` detaches the element (the torrent keeps seeding). */
export interface Playback {
  stats(): PlayerStats
  stop(): void
}

/** Videos up to this size are held in memory (fast to open); larger ones in the origin's private file system. */
const MEMORY_STORE_MAX = 256 * 1024 * 1024

/** Torrents kept seeding per tab, besides the one playing. */
const KEEP_SEEDING = 3

let registration: Promise<ServiceWorkerRegistration | undefined> | undefined

/**
 * Registers WebTorrent's service worker (at the pod's root, scope `/`) and resolves once it
 * controls this page; undefined where service workers are not available. Called at app start
 * so that the first watch page does not wait for the worker to install.
 */
export function registerServiceWorker(url: string): Promise<ServiceWorkerRegistration | undefined> {
  registration ??= (async () => {
    if (!('serviceWorker' in navigator) || !window.isSecureContext) return undefined
    try {
      const reg = await navigator.serviceWorker.register(url, { scope: '/' })
      await navigator.serviceWorker.ready
      debug('service worker active', { controlling: !!navigator.serviceWorker.controller })
      if (!navigator.serviceWorker.controller) {
        // The worker claims open pages when it activates; a page loaded with a forced reload
        // stays uncontrolled, so do not wait for ever.
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, 3000)
          navigator.serviceWorker.addEventListener('controllerchange', () => (clearTimeout(t), resolve()), { once: true })
        })
      }
      return navigator.serviceWorker.controller ? reg : undefined
    } catch {
      return undefined
    }
  })()
  return registration
}

/** Whether this page can stream through a service worker (a secure context: HTTPS or localhost). */
function canStream(): boolean {
  return 'serviceWorker' in navigator && window.isSecureContext
}

let client: Promise<WebTorrentClient> | undefined

/** The tab's WebTorrent client (made as soon as WebTorrent's code is loaded). */
function getClient(webtorrentUrl: string): Promise<WebTorrentClient> {
  client ??= loadWebTorrent(webtorrentUrl).then((WebTorrent) => {
    debug('webtorrent loaded')
    const c = new WebTorrent({
      // Only the pods' own trackers and web seeds: no public STUN servers (nothing leaves the
      // network of pods), no automatic web seeds (the governor adds and masks them).
      tracker: { rtcConfig: { iceServers: [] } },
      webSeeds: false,
      dht: false,
      lsd: false,
    })
    c.on('error', (e) => console.warn('webtorrent:', e))
    return c
  })
  return client
}

let server: Promise<boolean> | undefined

/**
 * The client's stream server, once the service worker controls the page: the torrent does
 * not wait for it (pieces arrive meanwhile), only handing the file to the <video> does.
 */
function streamServer(c: WebTorrentClient, swUrl: string): Promise<boolean> {
  server ??= registerServiceWorker(swUrl).then((reg) => {
    if (reg) c.createServer({ controller: reg })
    return !!reg
  })
  return server
}

/** Whether localStorage `seedpod.webseed` is `plain`: no governor, WebTorrent's own use of the web seed. */
function plainWebSeed(): boolean {
  try {
    return localStorage.getItem('seedpod.webseed') === 'plain'
  } catch {
    return false
  }
}

/** One governor per torrent: it owns the web seed's mask for the torrent's life. */
const governors = new WeakMap<Torrent, WebSeedGovernor>()

/**
 * Starts what every playback needs (WebTorrent's code, its service worker, the client) and,
 * for a known video, its .torrent, before the page has even rendered.
 */
export function warmUp(opts: PlayOptions, video?: Video): void {
  if (!canStream()) return
  registerServiceWorker(opts.serviceWorkerUrl)
  getClient(opts.webtorrentUrl).catch(() => undefined)
  if (video) prefetch(video)
}

/** Starts fetching a video's .torrent and its head start (once; `play` takes them). */
function prefetch(video: Video): void {
  if (prefetched.has(video.id)) return
  prefetched.set(video.id, torrentFile(video.torrentUrl))
  const start = startBytes(video)
  if (start) startPrefetched.set(video.id, fetchStart(video.webseedUrls[0]!, start))
}

const prefetched = new Map<string, Promise<Uint8Array | undefined>>()
const startPrefetched = new Map<string, Promise<Uint8Array | undefined>>()

/**
 * How many bytes at the start of the video to fetch from the web seed while WebTorrent is
 * still loading: the governor's startup window (`startHorizonSeconds` of video), when that is
 * a small part of the video (`cheapShare`) and the video is held in memory. It is what the
 * governor would have the web seed serve first anyway, fetched a few hundred milliseconds
 * sooner. Undefined: no head start (a short video waits for peers instead).
 */
function startBytes(video: Video): number | undefined {
  const webseed = video.webseedUrls[0]
  if (!webseed || !video.size || !video.duration || plainWebSeed()) return undefined
  if (video.size > MEMORY_STORE_MAX) return undefined
  const bytes = Math.ceil((DEFAULT_GOVERNOR.startHorizonSeconds / video.duration) * video.size)
  return bytes / video.size <= DEFAULT_GOVERNOR.cheapShare ? bytes : undefined
}

async function fetchStart(url: string, bytes: number): Promise<Uint8Array | undefined> {
  webSeedUrls.add(url)
  try {
    const res = await fetch(url, { headers: { range: `bytes=0-${bytes - 1}` } })
    return res.status === 206 || res.status === 200 ? new Uint8Array(await res.arrayBuffer()) : undefined
  } catch {
    return undefined
  }
}

/** Byte counters per source, kept on the torrent across playbacks of the same video. */
interface Counters {
  fromPeers: number
  fromWebSeed: number
}
const counters = new WeakMap<Torrent, Counters>()

function count(torrent: Torrent): Counters {
  let c = counters.get(torrent)
  if (c) return c
  const fresh: Counters = { fromPeers: 0, fromWebSeed: 0 }
  counters.set(torrent, fresh)
  const seen = new WeakSet<Wire>()
  const watch = (w: Wire) => {
    if (seen.has(w)) return
    seen.add(w)
    w.on('download', (n) => {
      if (w.type === 'webSeed') fresh.fromWebSeed += n
      else fresh.fromPeers += n
    })
  }
  for (const w of torrent.wires) watch(w)
  torrent.on('wire', watch)
  return fresh
}

/** Trackers (`tr`) of a magnet link. */
function trackersOf(magnet: string): string[] {
  return new URLSearchParams(magnet.slice(magnet.indexOf('?') + 1)).getAll('tr')
}

async function torrentFile(url: string | null): Promise<Uint8Array | undefined> {
  if (!url) return undefined
  try {
    const res = await fetch(url)
    return res.ok ? new Uint8Array(await res.arrayBuffer()) : undefined
  } catch {
    return undefined
  }
}

function whenReady(t: Torrent): Promise<void> {
  return t.ready ? Promise.resolve() : new Promise((resolve) => t.once('ready', resolve))
}

/** Options of `play`. */
export interface PlayOptions {
  webtorrentUrl: string
  serviceWorkerUrl: string
  governor?: Partial<GovernorOptions>
}

/**
 * Plays `video` in `el`: joins its swarm (or reuses the torrent this tab already holds),
 * streams the file into the element and lets the governor hand urgent pieces to the web seed.
 */
export async function play(video: Video, el: HTMLVideoElement, opts: PlayOptions): Promise<Playback> {
  // The .torrent (a few KB) is fetched while WebTorrent loads: with it the torrent is ready
  // at once instead of waiting for metadata from peers.
  debug('play', { id: video.id })
  if (canStream()) prefetch(video)
  const bytes = prefetched.get(video.id) ?? torrentFile(video.torrentUrl)
  prefetched.delete(video.id)
  const webseed = video.webseedUrls[0]
  const direct = (): Playback => {
    if (webseed) el.src = webseed
    return {
      stats: () => ({ peers: 0, downloadSpeed: 0, uploadSpeed: 0, fromPeers: 0, fromWebSeed: 0, uploaded: 0, progress: 0, mode: 'direct' }),
      stop: () => el.removeAttribute('src'),
    }
  }
  if (!canStream()) return direct()
  const c = await getClient(opts.webtorrentUrl)
  const infoHash = video.infoHash ?? /xt=urn:btih:([0-9a-fA-F]{40})/.exec(video.magnetUri)?.[1]?.toLowerCase() ?? ''
  let torrent = await c.get(infoHash)
  // Held already (seeding since an earlier visit in this tab): no head start needed.
  if (torrent) startPrefetched.delete(video.id)
  else {
    const file = await bytes
    debug('torrent file', { bytes: file?.length })
    // The magnet without its web seed (`ws`): the governor adds it, masked. Its `xs` still
    // lets WebTorrent fetch the .torrent if the fetch above failed.
    const magnet = video.magnetUri.replace(/&ws=[^&]*/g, '')
    const small = video.size !== null && video.size <= MEMORY_STORE_MAX
    const start = await startPrefetched.get(video.id)
    startPrefetched.delete(video.id)
    torrent = c.add(file ?? magnet, {
      announce: trackersOf(video.magnetUri),
      ...(small ? { store: MemoryChunkStore, storeOpts: { preload: start } } : {}),
    })
    const counted = count(torrent)
    if (start) {
      // The head start's pieces that passed the hash check count as web seed bytes.
      const t = torrent
      whenReady(t).then(() => {
        let pieces = 0
        for (let i = 0; i * t.pieceLength < start.length; i++) {
          const length = Math.min(t.pieceLength, t.length - i * t.pieceLength)
          if (i * t.pieceLength + length > start.length || !t.bitfield.get(i)) break
          counted.fromWebSeed += length
          pieces++
        }
        debug('head start', { bytes: start.length, pieces })
      })
    }
    // Keep the tab's seeding bounded: drop the oldest torrents beyond KEEP_SEEDING.
    for (const old of c.torrents.slice(0, Math.max(0, c.torrents.length - KEEP_SEEDING - 1))) old.destroy({ destroyStore: true })
  }
  const t = torrent
  const counted = count(t)
  await whenReady(t)
  debug('torrent ready', { pieces: t.pieces.length, pieceLength: t.pieceLength })
  t.on('wire', (w) => debug('wire', { type: w.type }))
  t.on('verified', (i) => i < 8 && debug('verified', { piece: i }))
  let governor = governors.get(t)
  if (!governor && !t.done && !t.wires.some((w) => w.type === 'webSeed')) {
    // `plain` (for comparisons, test/bench/p2p.ts): the web seed as plain WebTorrent uses it.
    if (!plainWebSeed()) {
      governor = new WebSeedGovernor(t, { duration: video.duration ?? undefined, ...opts.governor })
      governors.set(t, governor)
    }
    // Every web seed: the origin's, and those of pods that mirror the video.
    for (const url of video.webseedUrls) {
      webSeedUrls.add(url)
      t.addWebSeed(url)
    }
  }
  governor?.attach(el)
  // The first pieces are on their way; the <video> can have the file once the worker is there.
  if (!(await streamServer(c, opts.serviceWorkerUrl))) {
    governor?.detach()
    return direct()
  }
  debug('stream server ready')
  const file = t.files.reduce((a, b) => (b.length > a.length ? b : a))
  file.streamTo(el)
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
