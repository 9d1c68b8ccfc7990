/**
 * The player's side of content integrity (public/player/pods.ts, verify.ts), against real
 * HTTP servers: a pod that keeps a "copy" of a video and serves a .torrent of other content
 * (another info hash) is not believed, whichever answers first; the video's own .torrent, from
 * whoever serves it, is. (With the right torrent, every piece from peers or web seeds is
 * checked against its hashes by WebTorrent.)
 */
import { afterAll, describe, expect, test } from 'bun:test'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { firstTorrent } from '../public/player/pods'
import { infoHashOf } from '../public/player/verify'
import { makeTorrent } from '../src/torrents/torrent-file'
import { removeTempDirs, tempDir } from './helpers/pods'

afterAll(removeTempDirs)

async function torrentOf(bytes: Uint8Array, name: string) {
  const file = join(tempDir(), name)
  writeFileSync(file, bytes)
  return makeTorrent({ file, name, announce: [], urlList: [] })
}

describe('the player believes only the video\'s own .torrent', () => {
  test('a copy that serves another torrent first is refused; the origin\'s is taken; with only the hostile one, none', async () => {
    const video = await torrentOf(new Uint8Array(300_000).fill(1), 'video.mp4')
    const swapped = await torrentOf(new Uint8Array(300_000).fill(2), 'video.mp4')
    expect(await infoHashOf(video.torrent)).toBe(video.infoHash)
    expect(await infoHashOf(swapped.torrent)).not.toBe(video.infoHash)
    const hits = { hostile: 0, origin: 0 }
    const hostile = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => (hits.hostile++, new Response(swapped.torrent as Uint8Array<ArrayBuffer>)) })
    const origin = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => (hits.origin++, new Response(video.torrent as Uint8Array<ArrayBuffer>)) })
    try {
      const got = await firstTorrent([`http://127.0.0.1:${hostile.port}/x.torrent`, `http://127.0.0.1:${origin.port}/x.torrent`], video.infoHash)
      expect(got && (await infoHashOf(got))).toBe(video.infoHash)
      expect(hits).toEqual({ hostile: 1, origin: 1 })
      expect(await firstTorrent([`http://127.0.0.1:${hostile.port}/x.torrent`], video.infoHash)).toBeUndefined()
    } finally {
      hostile.stop(true)
      origin.stop(true)
    }
  })
})
