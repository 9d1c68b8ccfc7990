/**
 * Streams (src/videos/streams.ts, src/media/hls.ts) with the real ffmpeg and aria2c: an upload
 * is remuxed into one fragmented MP4 with an HLS playlist, each rendition is encoded into one
 * with keyframes every 2 s; the origin serves a master playlist that ffmpeg plays, every
 * stream file downloads byte-identical over BitTorrent, friends learn the streams, an
 * original whose keyframes are not every 2 s gets an aligned top rendition (also when a stream
 * of the release before is checked at start), and a WebM with Vorbis (which no MP4 carries)
 * stays a plain file.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { openDatabase } from '../src/shared/db'
import type { Video } from '../src/videos/model'
import type { Stream } from '../src/videos/streams'
import { makeClip, makeWebmClip, sha256 } from './helpers/clips'
import { netPod, restart, stopPods, until } from './helpers/network'
import { removeTempDirs, tempDir, type TestPod } from './helpers/pods'
import { uploadVideo, userToken } from './helpers/videos'

afterAll(stopPods)
afterAll(removeTempDirs)

type Full = Omit<Video, 'streams'> & { streams?: Stream[]; transcoding?: { state: string; resolution: number }[] }

let a: TestPod
let b: TestPod
let video: Full

const getVideo = async (base: string, id: string) => (await (await fetch(`${base}/api/v1/videos/${id}`)).json()) as Full

async function run(cmd: string[]): Promise<{ code: number; out: string }> {
  const p = Bun.spawn(cmd, { stdout: 'pipe', stderr: 'pipe' })
  const [out, err] = [await new Response(p.stdout).text(), await new Response(p.stderr).text()]
  return { code: await p.exited, out: out + err }
}

/** Times (s) of the video keyframes of a file, by ffprobe. */
async function keyframes(path: string): Promise<number[]> {
  const r = await run(['ffprobe', '-v', 'error', '-select_streams', 'v:0', '-skip_frame', 'nokey', '-show_entries', 'frame=pts_time', '-of', 'csv=p=0', path])
  return r.out.split('\n').filter((l) => /^\d/.test(l)).map((l) => Number.parseFloat(l))
}

beforeAll(async () => {
  let clip: string
  ;[a, b, clip] = await Promise.all([netPod({ transcoding: { resolutions: [144, 240] } }), netPod(), makeClip(tempDir(), { seconds: 7, size: '480x360' })])
  await b.running.pod.making.makeFriends([a.base])
  const res = await uploadVideo(a.base, await userToken(a), { file: Bun.file(clip), name: 'Streamed' })
  expect(res.status).toBe(201)
  const id = ((await res.json()) as Video).id
  video = await until(async () => {
    const v = await getVideo(a.base, id)
    return v.transcoding?.every((j) => j.state === 'done') && v.streams?.length === 3 ? v : undefined
  }, 60_000, 'the renditions')
}, 90_000)

describe('streams', () => {
  test('the original and each rendition are streams: one fragmented MP4 each, its playlist, its numbers', async () => {
    const streams = video.streams!
    // Lowest bit rate first; the original (rendition 0) is remuxed, not re-encoded.
    expect(streams.map((s) => s.height)).toEqual([144, 240, 360])
    expect(streams.map((s) => s.rendition)).toEqual([144, 240, 0])
    expect(streams[0]!.bandwidth).toBeLessThan(streams[1]!.bandwidth)
    expect(streams[0]!.codecs).toMatch(/^avc1\.[0-9a-f]{6},mp4a\.40\.2$/)
    // Its keyframes every 2 s (test/helpers/clips.ts), the original's segments start where the renditions' do.
    expect(streams.map((s) => s.aligned)).toEqual([true, true, true])
    const original = streams[2]!
    expect(original.infoHash).toBe(video.infoHash!)
    expect(original.webseedUrl).toBe(video.webseedUrls[0]!)
    expect(video.masterPlaylistUrl).toBe(`${a.base}/static/hls/${video.id}/master.m3u8`)
    for (const s of streams) {
      const res = await fetch(s.playlistUrl)
      expect(res.status).toBe(200)
      expect(res.headers.get('content-type')).toBe('application/vnd.apple.mpegurl')
      const text = await res.text()
      const file = s.webseedUrl.split('/').pop()!
      // Byte ranges into the web seed file, named relative to the playlist.
      expect(text).toContain(`#EXT-X-MAP:URI="../../webseed/${file}",BYTERANGE=`)
      expect(text).toContain('#EXT-X-ENDLIST')
      const ranges = [...text.matchAll(/#EXT-X-BYTERANGE:(\d+)@(\d+)/g)].map((m) => [Number(m[1]), Number(m[2])] as const)
      // The segments follow each other to the end of the file.
      const last = ranges.at(-1)!
      expect(last[0] + last[1]).toBe(s.size)
      for (let i = 1; i < ranges.length; i++) expect(ranges[i]![1]).toBe(ranges[i - 1]![0] + ranges[i - 1]![1])
    }
    // Renditions have a keyframe every 2 s, the same moments in each (a player switches at any segment).
    const dir = join(a.config.dataDir, 'videos')
    const k144 = await keyframes(join(dir, `${video.id}.144.mp4`))
    expect(k144).toEqual(await keyframes(join(dir, `${video.id}.240.mp4`)))
    expect(k144.map((t) => Math.round((t - k144[0]!) * 10) / 10)).toEqual([0, 2, 4, 6])
    // Nothing left over in tmp/ (ffmpeg's own master playlists are not kept).
    expect(readdirSync(join(a.config.dataDir, 'tmp'))).toEqual([])
  })

  test('the master playlist plays in ffmpeg, and lists every stream', async () => {
    const master = await (await fetch(video.masterPlaylistUrl!)).text()
    expect(master.match(/#EXT-X-STREAM-INF:BANDWIDTH=\d+,RESOLUTION=\d+x\d+/g)).toHaveLength(3)
    expect(master).toContain('original.m3u8')
    const r = await run(['ffmpeg', '-v', 'error', '-i', video.masterPlaylistUrl!, '-t', '5', '-f', 'null', '-'])
    expect(r.code).toBe(0)
    const probe = await run(['ffprobe', '-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', video.streams![0]!.playlistUrl])
    expect(Number(probe.out.trim())).toBeCloseTo(video.duration!, 0)
  })

  test('aria2c downloads a rendition over BitTorrent, byte-identical to its web seed', async () => {
    const s = video.streams![0]!
    const dir = tempDir()
    const torrent = join(dir, 'r.torrent')
    await Bun.write(torrent, await (await fetch(s.torrentUrl)).arrayBuffer())
    const r = await run(['aria2c', '-d', dir, '--seed-time=0', '--enable-dht=false', '--bt-enable-lpd=false', '--enable-peer-exchange=false', '--follow-torrent=false', torrent])
    expect(r.code, r.out).toBe(0)
    const web = join(dir, 'web.mp4')
    await Bun.write(web, await (await fetch(s.webseedUrl)).arrayBuffer())
    expect(await sha256(join(dir, `${video.id}.144.mp4`))).toBe(await sha256(web))
  }, 30_000)

  test("a friend's index keeps the streams with the origin's URLs; only the origin serves playlists", async () => {
    const atFriend = await until(async () => {
      const v = await getVideo(b.base, video.id)
      return v.streams?.length === 3 ? v : undefined
    }, 5000, 'the streams at the friend')
    expect(atFriend.streams!.map((s) => s.playlistUrl)).toEqual(video.streams!.map((s) => s.playlistUrl))
    expect(atFriend.masterPlaylistUrl).toBe(video.masterPlaylistUrl!)
    const res = await fetch(`${b.base}/static/hls/${video.id}/master.m3u8`)
    expect(res.status).toBe(404)
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('not_found')
    for (const name of ['720.m3u8', 'original.txt', '..%2Fsecret.m3u8']) {
      const bad = await fetch(`${a.base}/static/hls/${video.id}/${name}`)
      expect(bad.status).toBe(404)
      expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('not_found')
    }
  })

  test('a pod that befriends the origin after the upload gets the streams with the videos of friend making', async () => {
    const c = await netPod()
    await c.running.pod.making.makeFriends([a.base])
    // No wait: friend making stores the origin's videos as its answer gives them, streams included.
    const atNewFriend = await getVideo(c.base, video.id)
    expect(atNewFriend.streams?.map((s) => s.infoHash)).toEqual(video.streams!.map((s) => s.infoHash))
  })

  test('an original with keyframes every 3 s is not aligned (kept out of Auto), and the top rendition at its height is', async () => {
    const clip = await makeClip(tempDir(), { seconds: 7, size: '320x240', keyframeSeconds: 3 })
    const res = await uploadVideo(a.base, await userToken(a), { file: Bun.file(clip), name: 'Misaligned' })
    expect(res.status).toBe(201)
    const uploaded = (await res.json()) as Full
    // 144 below it, and 240, its own height: the top that Auto may switch to.
    expect(uploaded.transcoding!.map((j) => j.resolution)).toEqual([144, 240])
    expect(uploaded.streams!.map((s) => [s.rendition, s.aligned])).toEqual([[0, false]])
    const done = await until(async () => {
      const v = await getVideo(a.base, uploaded.id)
      return v.streams?.length === 3 ? v : undefined
    }, 60_000, 'the renditions')
    const top = done.streams!.find((s) => s.rendition === 240)!
    expect([top.height, top.aligned]).toEqual([240, true])
    const dir = join(a.config.dataDir, 'videos')
    const from0 = (k: number[]) => k.slice(0, 3).map((t) => Math.round((t - k[0]!) * 10) / 10)
    expect(from0(await keyframes(join(dir, `${uploaded.id}.mp4`)))).toEqual([0, 3, 6])
    expect(from0(await keyframes(join(dir, `${uploaded.id}.240.mp4`)))).toEqual([0, 2, 4])
    // Every stream is in the master playlist: the player keeps the unaligned one for a viewer's own choice.
    const master = await (await fetch(done.masterPlaylistUrl!)).text()
    expect(master.match(/#EXT-X-STREAM-INF:/g)).toHaveLength(3)
  }, 90_000)

  test("an original stream of the release before (alignment not known) is checked at the next start, and gets its top rendition if it needs one", async () => {
    const pod = await netPod({ transcoding: { enabled: false } })
    const clip = await makeClip(tempDir(), { seconds: 5, size: '320x240', keyframeSeconds: 3 })
    const id = ((await (await uploadVideo(pod.base, await userToken(pod), { file: Bun.file(clip), name: 'Older stream' })).json()) as Full).id
    const before = await getVideo(pod.base, id)
    await pod.stop()
    // As the release before this one left it: a stream without `aligned`.
    const db = openDatabase(join(pod.config.dataDir, 'seedpod.db'))
    db.query('UPDATE video_streams SET aligned = NULL WHERE video = ?').run(id)
    db.close()
    // Transcoding on now: the check is re-packaging's, the ladder below is not (the owner may ask for it).
    const again = await restart(pod, { transcoding: { resolutions: [144] } })
    const done = await until(async () => {
      const v = await getVideo(again.base, id)
      return v.streams?.length === 2 ? v : undefined
    }, 30_000, 'the check and the top rendition')
    expect(done.streams!.map((s) => [s.rendition, s.aligned]).sort()).toEqual([[0, false], [240, true]])
    // Only checked: the original's file and torrent are the same.
    expect(done.infoHash).toBe(before.infoHash!)
    expect(done.transcoding!.map((j) => [j.resolution, j.state])).toEqual([[0, 'done'], [240, 'done']])
  }, 60_000)

  test('a WebM with Vorbis audio, which no MP4 carries, stays a plain file; its stream is the top rendition, where transcoding is on', async () => {
    const webm = await makeWebmClip(tempDir(), { seconds: 1, size: '160x120' })
    const pod = await netPod({ transcoding: { enabled: false } })
    const res = await uploadVideo(pod.base, await userToken(pod), { file: Bun.file(webm), name: 'Vorbis' })
    expect(res.status).toBe(201)
    const v = (await res.json()) as Full
    expect(v.streams).toBeUndefined()
    expect(v.webseedUrls[0]).toEndWith('.webm')
    // With transcoding: an H.264/AAC stream at its own height, below every configured one.
    const upload = await uploadVideo(a.base, await userToken(a), { file: Bun.file(webm), name: 'Vorbis' })
    const id = ((await upload.json()) as Full).id
    const done = await until(async () => {
      const w = await getVideo(a.base, id)
      return w.streams?.length ? w : undefined
    }, 30_000, 'the top rendition')
    expect(done.streams!.map((s) => [s.rendition, s.height, s.aligned, s.codecs?.split('.')[0]])).toEqual([[120, 120, true, 'avc1']])
    expect(done.webseedUrls[0]).toEndWith('.webm')
  })
})
