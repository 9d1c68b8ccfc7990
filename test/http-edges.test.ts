/**
 * Small things an attacker or an odd client met at the HTTP layer, sent as raw HTTP
 * (test/helpers/raw-http.ts) to a real pod: a HEAD of a web seed, a .torrent and a playlist
 * gets the length its GET would send (Elysia answered `Content-Length: 0`), and a Host of 1 to
 * 3 characters neither loses every route nor lets `/xx/api/...` reach `/api/...`, and a file's
 * path whose escapes do not decode is a 404, never a 500.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { Video } from '../src/videos/model'
import { makeClip } from './helpers/clips'
import { netPod, stopPods, until } from './helpers/network'
import { removeTempDirs, tempDir, type TestPod } from './helpers/pods'
import { rawHttp } from './helpers/raw-http'
import { uploadVideo, userToken } from './helpers/videos'

afterAll(stopPods)
afterAll(removeTempDirs)

let pod: TestPod
let port: number
let video: Video & { torrentUrl: string }

beforeAll(async () => {
  let clip: string
  ;[pod, clip] = await Promise.all([netPod({ transcoding: { enabled: false } }), makeClip(tempDir(), { seconds: 1 })])
  port = pod.running.port
  const res = await uploadVideo(pod.base, await userToken(pod), { file: Bun.file(clip), name: 'Edges' })
  expect(res.status).toBe(201)
  const id = ((await res.json()) as Video).id
  video = await until(async () => {
    const v = (await (await fetch(`${pod.base}/api/v1/videos/${id}`)).json()) as typeof video
    return v.streams?.length ? v : undefined
  })
})

/** One raw request; its (single) answer. */
async function raw(method: string, path: string, host = '127.0.0.1') {
  const r = await rawHttp(port, `${method} ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`, undefined, { head: method === 'HEAD' })
  expect(r.responses.length).toBe(1)
  return r.responses[0]!
}

describe('HEAD', () => {
  test('of a web seed: the file\'s length and Accept-Ranges, as its GET; of a range: the range\'s', async () => {
    const path = new URL(video.webseedUrls[0]!).pathname
    const get = await raw('GET', path)
    expect(get.status).toBe(200)
    const size = Number(get.headers['content-length'])
    expect(size).toBeGreaterThan(1000)
    const head = await raw('HEAD', path)
    expect(head.status).toBe(200)
    expect(head.headers['content-length']).toBe(String(size))
    expect(head.headers['accept-ranges']).toBe('bytes')
    expect(head.headers['etag']).toBe(get.headers['etag']!)
    expect(head.body).toBe('')
    const ranged = await rawHttp(port, `HEAD ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nRange: bytes=10-99\r\nConnection: close\r\n\r\n`, undefined, { head: true })
    expect(ranged.responses[0]!.status).toBe(206)
    expect(ranged.responses[0]!.headers['content-length']).toBe('90')
    expect(ranged.responses[0]!.headers['content-range']).toBe(`bytes 10-99/${size}`)
    // What is not there is still a 404.
    expect((await raw('HEAD', '/static/webseed/nothere.mp4')).status).toBe(404)
  })

  test('of a .torrent and of the playlists: their lengths', async () => {
    const paths = [new URL(video.torrentUrl).pathname, `/static/hls/${video.id}/master.m3u8`, `/static/hls/${video.id}/original.m3u8`]
    for (const path of paths) {
      const get = await raw('GET', path)
      expect(`${path} ${get.status}`).toBe(`${path} 200`)
      const head = await raw('HEAD', path)
      expect(Number(get.headers['content-length'])).toBeGreaterThan(0)
      expect(`${path} ${head.status} ${head.headers['content-length']}`).toBe(`${path} 200 ${get.headers['content-length']}`)
    }
  })
})

describe('a path that does not decode', () => {
  test('is a 404 of the playlists, web seeds and torrents, never a 500', async () => {
    // Elysia hands such a parameter over as null: a playlist's name was then a TypeError.
    for (const path of [`/static/hls/${video.id}/%C0%AF`, '/static/hls/%E0%A4%A/master.m3u8', '/static/webseed/%C0%AF', '/static/torrents/%ff%fe'])
      for (const method of ['GET', 'HEAD']) {
        const res = await raw(method, path)
        expect(`${method} ${path} ${res.status}`).toBe(`${method} ${path} 404`)
        if (method === 'GET') expect(JSON.parse(res.body).error.code).toBe('not_found')
      }
  })
})

describe('a short Host', () => {
  test('of 1 to 3 characters still reaches every route, and a path is matched exactly', async () => {
    for (const host of ['a', 'ab', 'abc', 'abcd', 'a:80']) {
      const pod = await raw('GET', '/api/v1/pod', host)
      expect(`${host} ${pod.status}`).toBe(`${host} 200`)
      const health = await raw('GET', '/api/v1/health', host)
      expect(`${host} ${health.status}`).toBe(`${host} 200`)
      expect(JSON.parse(health.body).version).toBeString()
      // Two characters before the path were skipped: /xx/api/v1/health reached /api/v1/health.
      const prefixed = await raw('GET', '/xx/api/v1/health', host)
      expect(`${host} ${prefixed.status}`).toBe(`${host} 404`)
      const video1 = await raw('GET', `/api/v1/videos/${video.id}`, host)
      expect(`${host} ${video1.status}`).toBe(`${host} 200`)
    }
  })
})
