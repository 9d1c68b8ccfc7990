/**
 * The tab's WebTorrent client: one per tab, kept across page changes, so that the stream
 * torrents it holds keep seeding to other viewers while the tab is open (torrents.ts bounds
 * how many). Made once, on first need, and shared by every playback.
 */
import { debug } from '../debug'
import type { WebTorrentClient, WebTorrentConstructor } from './webtorrent'

let client: Promise<WebTorrentClient> | undefined

/**
 * The tab's WebTorrent client, loading the pod's copy of WebTorrent (`url`: a runtime URL, not
 * a bundled import, so the pod serves WebTorrent's own build as it ships). Its WebRTC
 * connections use the pod's ICE servers (config `webrtc.iceServers`), none by default.
 */
export function getClient(url: string, iceServers: readonly string[] = []): Promise<WebTorrentClient> {
  client ??= (import(/* @vite-ignore */ url) as Promise<{ default: WebTorrentConstructor }>).then(({ default: WebTorrent }) => {
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
