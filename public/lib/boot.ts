/** The JSON the pod put in the page (`<script id="seedpod-boot">`, see src/pages/shell.ts). */
import type { Boot } from './types'

function read(): Boot {
  const el = document.getElementById('seedpod-boot')
  try {
    if (el?.textContent) return JSON.parse(el.textContent) as Boot
  } catch {
    // fall through: a page without boot data still works with defaults
  }
  return {
    pod: {
      name: 'seedpod', url: location.origin, version: '', registrations: 'closed', requireLoginToWatch: false, maxUploadBytes: 4 * 1024 ** 3, iceServers: [],
      player: { bufferSeconds: 30, cacheBytes: 64 * 1024 * 1024 },
    },
    assets: { webtorrent: '/vendor/webtorrent.min.js', hls: '/vendor/hls.light.min.mjs' },
  }
}

/** Read once at start. `video` is only valid for the page it was served with: take it once. */
export const boot: Boot = read()

/** The video the HTML carried for watch page `id`, once (later visits ask the API). */
export function takeBootVideo(id: string) {
  const v = boot.video
  if (v && v.id === id) {
    boot.video = undefined
    return v
  }
  return undefined
}
