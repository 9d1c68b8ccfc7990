/**
 * The tab's WebTorrent client and the service worker it streams through.
 *
 * One client per tab, kept across page changes: the torrents it holds keep seeding to other
 * viewers while the tab is open (player/torrents.ts bounds how many). The client, the worker
 * and the stream server are each made once, on first need, and shared by every playback.
 *
 * Streaming needs a service worker, which needs a secure context (HTTPS or localhost): a pod
 * served over plain HTTP on a LAN address has none, and the player falls back to playing a
 * web seed URL itself (player.ts).
 */
import { debug } from './debug'
import { loadWebTorrent, type WebTorrentClient } from './webtorrent'

/** Where the player's assets are and how its WebRTC connects: from the page's boot data. */
export interface ClientOptions {
  webtorrentUrl: string
  serviceWorkerUrl: string
  /** STUN/TURN server URLs for WebRTC (the pod's `webrtc.iceServers`). */
  iceServers?: readonly string[]
}

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
export function canStream(): boolean {
  return 'serviceWorker' in navigator && window.isSecureContext
}

let client: Promise<WebTorrentClient> | undefined

/**
 * The tab's WebTorrent client (made as soon as WebTorrent's code is loaded). Its WebRTC
 * connections use the pod's ICE servers (config `webrtc.iceServers`), none by default.
 */
export function getClient(webtorrentUrl: string, iceServers: readonly string[] = []): Promise<WebTorrentClient> {
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
 * The client's stream server, once the service worker controls the page; false if it never
 * does. The torrent does not wait for it (pieces arrive meanwhile), only handing the file to
 * the <video> does.
 */
export function streamServer(c: WebTorrentClient, swUrl: string): Promise<boolean> {
  server ??= registerServiceWorker(swUrl).then((reg) => {
    if (reg) c.createServer({ controller: reg })
    return !!reg
  })
  return server
}

/**
 * Starts what every playback needs (WebTorrent's code, its service worker, the client)
 * before the page has even rendered.
 */
export function warmUp(opts: ClientOptions): void {
  if (!canStream()) return
  registerServiceWorker(opts.serviceWorkerUrl)
  getClient(opts.webtorrentUrl, opts.iceServers).catch(() => undefined)
}
