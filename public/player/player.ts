/**
 * Playing a video peer to peer: WebTorrent in the page, its service worker turning the
 * torrent into a URL the <video> element streams from (playback starts before the download
 * ends, and seeking asks for the right bytes), and the web-seed governor (governor.ts) that
 * keeps the web seed for what is urgent or what no peer has.
 *
 * What is played is a Source (sources.ts): a video's original or one of its renditions, each
 * its own torrent. The original may have several web seeds (its origin's and those of pods
 * that keep a copy of it) and several .torrent URLs (`xs` of its magnet): the player uses
 * every one that answers, so a video still plays while its origin pod is down.
 *
 * One WebTorrent client per tab, kept across page changes: the torrents it holds keep
 * seeding to other viewers while the tab is open (the latest few; older ones are dropped).
 *
 * Without a service worker (a pod served over plain HTTP on a LAN address is not a secure
 * context) the player falls back to a web seed URL itself.
 *
 * On a page loaded with a quick start (quick.ts), the element is already playing the video's
 * first seconds from the web seed: the player hands it over to the stream at the same moment.
 */
import { debug } from './debug'
import { MemoryChunkStore } from './memory-store'
import { WebSeedGovernor, type GovernorMode, type GovernorOptions } from './governor'
import { headStartBytes } from './head-start'
import type { Source } from './sources'
import { loadWebTorrent, type Torrent, type WebTorrentClient, type Wire } from './webtorrent'

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
  /** What the web seed is allowed to do; `direct` without peer-to-peer (no service worker). */
  mode: GovernorMode | 'direct' | 'starting' | 'plain'
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

/** Videos up to this size are held in memory (fast to open); larger ones in the origin's private file system. */
const MEMORY_STORE_MAX = 256 * 1024 * 1024

/** Whether a source's torrent is held in memory (the only store a head start is given to). */
const inMemory = (source: Source) => source.size !== null && source.size > 0 && source.size <= MEMORY_STORE_MAX

/** Torrents kept seeding per tab, besides the one playing. */
const KEEP_SEEDING = 3

/**
 * How long a .torrent URL or web seed may take to answer before it counts as down. A pod
 * that is stopped refuses at once; one whose host is gone may leave the connection hanging.
 */
const ANSWER_TIMEOUT_MS = 5000

/** With several .torrent URLs, the next is tried when the one before failed or after this long. */
const TORRENT_STAGGER_MS = 1500

/** A web seed that did not answer is asked again this often (its pod may come back). */
const REPROBE_MS = 15_000

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

/**
 * The tab's WebTorrent client (made as soon as WebTorrent's code is loaded). Its WebRTC
 * connections use the pod's ICE servers (config `webrtc.iceServers`), none by default.
 */
function getClient(webtorrentUrl: string, iceServers: readonly string[] = []): Promise<WebTorrentClient> {
  client ??= loadWebTorrent(webtorrentUrl).then((WebTorrent) => {
    debug('webtorrent loaded')
    const c = new WebTorrent({
      // Only the pods' own trackers and web seeds, and the STUN/TURN servers the pod names:
      // no public ones (nothing leaves the network of pods unless its admin says so), no
      // automatic web seeds (the player adds those that answer, the governor masks them).
      tracker: { rtcConfig: { iceServers: iceServers.map((urls) => ({ urls })) } },
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

/** Torrents whose web seeds are being added (once per torrent, as each answers). */
const seeded = new WeakSet<Torrent>()

/** Options of `play` and `warmUp`. */
export interface PlayOptions {
  webtorrentUrl: string
  serviceWorkerUrl: string
  /** STUN/TURN server URLs for WebRTC (the pod's `webrtc.iceServers`). */
  iceServers?: readonly string[]
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

/** The quick start playing in the element: its URL (the web seed's `?head=`) and length. */
export interface QuickStartInfo {
  src: string
  bytes: number
}

/**
 * Starts what every playback needs (WebTorrent's code, its service worker, the client)
 * before the page has even rendered.
 */
export function warmUp(opts: PlayOptions): void {
  if (!canStream()) return
  registerServiceWorker(opts.serviceWorkerUrl)
  getClient(opts.webtorrentUrl, opts.iceServers).catch(() => undefined)
}

/** URLs on this page's own pod first (it just answered), then the others in their order. */
function ownPodFirst(urls: readonly string[]): string[] {
  const unique = [...new Set(urls)]
  const own = (u: string) => {
    try {
      return new URL(u).origin === location.origin
    } catch {
      return false
    }
  }
  return [...unique.filter(own), ...unique.filter((u) => !own(u))]
}

/** The .torrent URLs of a source: its `torrentUrl` and every `xs` of its magnet (mirrors add theirs). */
function torrentUrls(source: Source): string[] {
  const xs = new URLSearchParams(source.magnetUri.slice(source.magnetUri.indexOf('?') + 1)).getAll('xs')
  return ownPodFirst([...(source.torrentUrl ? [source.torrentUrl] : []), ...xs].filter((u) => /^https?:\/\//.test(u)))
}

/** Trackers (`tr`) of a magnet link. */
function trackersOf(magnet: string): string[] {
  return new URLSearchParams(magnet.slice(magnet.indexOf('?') + 1)).getAll('tr')
}

/** What is fetched for a source before its torrent is added (once; `play` takes it). */
interface Prefetch {
  /** The .torrent file, from the first of its URLs that answers. */
  torrent: Promise<Uint8Array | undefined>
  /** The head start (see `startBytes`) and the web seed it came from. */
  start: Promise<Uint8Array | undefined> | undefined
  /** Whether the head start came from the browser's cache: the quick start's bytes, counted already. */
  startCached: Promise<boolean>
  /** Per web seed URL: whether it answered. */
  probes: Map<string, Promise<boolean>>
}

const prefetched = new Map<string, Prefetch>()

/**
 * Starts fetching a source's .torrent, its head start and asking its web seeds (once). With a
 * quick start of the same file, the head start is the quick start's own URL: the browser
 * has it in its cache, having just played it.
 */
function prefetch(source: Source, quick?: QuickStartInfo): Prefetch {
  let p = prefetched.get(source.infoHash)
  if (p) return p
  const seeds = ownPodFirst(source.webseedUrls)
  const bytes = quick ? undefined : startBytes(source)
  const cachedHead = quick && inMemory(source) && seeds.includes(withoutQuery(quick.src)) ? fetchCached(quick.src) : undefined
  const start = cachedHead ? cachedHead.then((h) => h.body) : bytes && seeds[0] ? fetchStart(seeds[0], bytes) : undefined
  const probes = new Map<string, Promise<boolean>>()
  seeds.forEach((url, i) => probes.set(url, i === 0 && start ? start.then((b) => !!b || answers(url)) : answers(url)))
  p = { torrent: firstTorrent(torrentUrls(source)), start, startCached: cachedHead?.then((h) => h.cached) ?? Promise.resolve(false), probes }
  prefetched.set(source.infoHash, p)
  return p
}

/**
 * `fetch` that gives up when no answer has come within ANSWER_TIMEOUT_MS; once the answer
 * has come, its body may take as long as it takes (a head start on a slow link).
 */
async function fetchSoon(url: string, init: RequestInit = {}): Promise<Response> {
  const abort = new AbortController()
  const timer = setTimeout(() => abort.abort(), ANSWER_TIMEOUT_MS)
  try {
    return await fetch(url, { ...init, signal: abort.signal })
  } finally {
    clearTimeout(timer)
  }
}

/** Whether a web seed answers (a HEAD request: a simple cross-origin request, no preflight). */
async function answers(url: string): Promise<boolean> {
  try {
    const res = await fetchSoon(url, { method: 'HEAD' })
    return res.ok
  } catch {
    return false
  }
}

/** The .torrent from the first URL that answers; the next URL is tried when one fails or is slow. */
function firstTorrent(urls: string[]): Promise<Uint8Array | undefined> {
  if (!urls.length) return Promise.resolve(undefined)
  return new Promise((resolve) => {
    let pending = urls.length
    let done = false
    const next = (i: number) => {
      if (done || i >= urls.length) return
      let moved = false
      const moveOn = () => {
        if (moved) return
        moved = true
        next(i + 1)
      }
      const timer = setTimeout(moveOn, TORRENT_STAGGER_MS)
      fetchSoon(urls[i]!)
        .then(async (res) => (res.ok ? new Uint8Array(await res.arrayBuffer()) : undefined))
        .catch(() => undefined)
        .then((file) => {
          clearTimeout(timer)
          if (file && !done) {
            done = true
            debug('torrent file', { from: urls[i], bytes: file.length })
            return resolve(file)
          }
          moveOn()
          if (--pending === 0 && !done) resolve(undefined)
        })
    }
    next(0)
  })
}

/**
 * How many bytes at the start of the file to fetch from a web seed while WebTorrent is still
 * loading: the governor's startup window (`startHorizonSeconds` of video), when that is a
 * small part of the video (`cheapShare`) and the video is held in memory. It is what the
 * governor would have the web seed serve first anyway, fetched a few hundred milliseconds
 * sooner. Undefined: no head start (a short video waits for peers instead).
 */
function startBytes(source: Source): number | undefined {
  if (!source.webseedUrls.length || plainWebSeed()) return undefined
  if (!inMemory(source)) return undefined
  return headStartBytes(source.size, source.duration)
}

function withoutQuery(url: string): string {
  const u = new URL(url, location.href)
  u.search = ''
  return u.href
}

/**
 * Fetches `url` (a quick start's, which the browser holds) and tells whether it came from the
 * browser's cache: Resource Timing says 0 bytes transferred. Unknown counts as not cached.
 */
async function fetchCached(url: string): Promise<{ body?: Uint8Array; cached: boolean }> {
  try {
    const res = await fetchSoon(url)
    if (!res.ok) return { cached: false }
    const body = new Uint8Array(await res.arrayBuffer())
    const timing = performance
      .getEntriesByName(res.url, 'resource')
      .filter((e) => (e as PerformanceResourceTiming).initiatorType === 'fetch')
      .at(-1) as PerformanceResourceTiming | undefined
    return { body, cached: timing?.transferSize === 0 }
  } catch {
    return { cached: false }
  }
}

async function fetchStart(url: string, bytes: number): Promise<Uint8Array | undefined> {
  try {
    const res = await fetchSoon(url, { headers: { range: `bytes=0-${bytes - 1}` } })
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

/**
 * Adds each of the source's web seeds to the torrent once it answers. One that does not (its
 * pod is down) is not added: WebTorrent would hand it pieces whose requests then fail or hang,
 * holding up playback; it is asked again every REPROBE_MS while the torrent is incomplete.
 */
function addWebSeeds(t: Torrent, source: Source, probes: Map<string, Promise<boolean>>): void {
  if (seeded.has(t)) return
  seeded.add(t)
  for (const url of ownPodFirst(source.webseedUrls)) {
    const attempt = (probe: Promise<boolean>) =>
      probe.then((ok) => {
        if (t.destroyed || t.done) return
        debug('web seed', { url, ok })
        if (ok) t.addWebSeed(url)
        else setTimeout(() => attempt(answers(url)), REPROBE_MS)
      })
    attempt(probes.get(url) ?? answers(url))
  }
}

function whenReady(t: Torrent): Promise<void> {
  return t.ready ? Promise.resolve() : new Promise((resolve) => t.once('ready', resolve))
}

/** The first web seed that answers, for playing without WebTorrent. */
async function firstAnswering(urls: readonly string[]): Promise<string | undefined> {
  const ordered = ownPodFirst(urls)
  for (const url of ordered) if (await answers(url)) return url
  return ordered[0]
}

/** Where a playback that is handed over got to, and whether the viewer had paused it. */
interface Position {
  time: number
  viewerPaused: boolean
}

/** Takes up a position in a newly set source once its metadata is there. */
function takeUp(el: HTMLVideoElement, at: Position): void {
  const go = () => {
    if (at.time > 0) el.currentTime = at.time
    if (!at.viewerPaused) el.play().catch(() => undefined)
  }
  if (el.readyState >= HTMLMediaElement.HAVE_METADATA) go()
  else el.addEventListener('loadedmetadata', go, { once: true })
}

/**
 * Ends the quick start playing in `el`: where it got to (ended: it played all it had, not
 * paused by the viewer). Its `autoplay` goes: the player starts the next source itself,
 * and autoplay would start it over a viewer's pause.
 */
function endQuickStart(el: HTMLVideoElement): Position {
  el.autoplay = false
  return { time: el.currentTime, viewerPaused: el.paused && !el.ended && el.currentTime > 0 }
}

/**
 * Plays `source` in `el`: joins its swarm (or reuses the torrent this tab already holds),
 * streams the file into the element and lets the governor hand urgent pieces to the web seeds.
 */
export async function play(source: Source, el: HTMLVideoElement, opts: PlayOptions): Promise<Playback> {
  debug('play', { infoHash: source.infoHash })
  const direct = async (): Promise<Playback> => {
    const url = await firstAnswering(source.webseedUrls)
    const at = opts.quickStart ? endQuickStart(el) : undefined
    if (url) el.src = url
    if (url && at) takeUp(el, at)
    return {
      stats: () => ({ peers: 0, downloadSpeed: 0, uploadSpeed: 0, fromPeers: 0, fromWebSeed: 0, uploaded: 0, progress: 0, mode: 'direct' }),
      stop: () => el.removeAttribute('src'),
    }
  }
  if (!canStream()) return direct()
  // The .torrent (a few KB), the head start and the web seeds' answers are fetched while
  // WebTorrent loads: with the .torrent the torrent is ready at once instead of waiting for
  // metadata from peers.
  const pre = prefetch(source, opts.quickStart)
  prefetched.delete(source.infoHash)
  const c = await getClient(opts.webtorrentUrl, opts.iceServers)
  let torrent = await c.get(source.infoHash)
  // Held already (seeding since an earlier visit in this tab): no head start needed.
  if (!torrent) {
    const file = await pre.torrent
    if (!file && opts.requireReachable && !(await Promise.all(pre.probes.values())).some(Boolean)) throw new SourceUnreachable()
    // The magnet without its web seeds (`ws`): the player adds those that answer, masked by
    // the governor. Its `xs` still let WebTorrent fetch the .torrent if the fetches above failed.
    const magnet = source.magnetUri.replace(/&ws=[^&]*/g, '')
    const start = await pre.start
    const startCached = await pre.startCached
    torrent = c.add(file ?? magnet, {
      announce: trackersOf(source.magnetUri),
      ...(inMemory(source) ? { store: MemoryChunkStore, storeOpts: { preload: start } } : {}),
    })
    const counted = count(torrent)
    // What the quick start played came from the web seed (the browser may have taken less).
    if (opts.quickStart) counted.fromWebSeed += Math.min(opts.quickStart.bytes, source.size ?? Infinity)
    if (start && !startCached) {
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
  // `plain` (for comparisons, test/bench/p2p.ts): the web seeds as plain WebTorrent uses them.
  if (!governor && !t.done && !plainWebSeed()) {
    governor = new WebSeedGovernor(t, { duration: source.duration ?? undefined, ...opts.governor })
    governors.set(t, governor)
  }
  if (!t.done) addWebSeeds(t, source, pre.probes)
  governor?.attach(el)
  // The first pieces are on their way; the <video> can have the file once the worker is there.
  if (!(await streamServer(c, opts.serviceWorkerUrl))) {
    governor?.detach()
    return direct()
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
