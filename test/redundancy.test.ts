/**
 * Redundancy with real pods: a friend's video is copied, every stream of it, over
 * BitTorrent, seeded, served like its origin serves it (web seeds, playlists, torrents),
 * announced with video.mirror, and still plays with its origin stopped; copies go, files and
 * all, beyond the budget, when the origin removes the video, when the friendship ends, and
 * (whole-file copies of the release before) at the upgrade.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import WebTorrent from 'webtorrent'
import type { Video } from '../src/videos/model'
import type { Stream } from '../src/videos/streams'
import { openDatabase } from '../src/shared/db'
import type { OwnMirror } from '../actors/redundancy'
import { makeClip, sha256 } from './helpers/clips'
import { adminToken, fp, indexIds, netPod, restart, stopPods, until } from './helpers/network'
import { removeTempDirs, tempDir, type TestPod } from './helpers/pods'
import { uploadVideo, userToken } from './helpers/videos'

afterAll(stopPods)
afterAll(removeTempDirs)

let clip: string
beforeAll(async () => {
  clip = await makeClip(tempDir(), { seconds: 3, faststart: true })
})

const REDUNDANT = { redundancy: { enabled: true, budgetBytes: 50_000_000 } }

async function mirrorsOf(p: TestPod): Promise<{ usedBytes: number; mirrors: OwnMirror[] }> {
  return (await (await fetch(`${p.base}/api/v1/videos/mirrors`, { headers: { authorization: `Bearer ${await adminToken(p)}` } })).json()) as never
}

const getVideo = async (p: TestPod, id: string) => (await (await fetch(`${p.base}/api/v1/videos/${id}`)).json()) as Omit<Video, 'streams'> & { streams?: Stream[] }

/** The bytes a URL answers (and its status), for comparing a pod's files with another's. */
const bytesOf = async (url: string, headers: Record<string, string> = {}) => {
  const res = await fetch(url, { headers })
  return { status: res.status, bytes: Buffer.from(await res.arrayBuffer()) }
}

async function setup(origin: Record<string, unknown> = {}) {
  const [a, b] = await Promise.all([netPod(origin), netPod(REDUNDANT)])
  await b.running.pod.making.makeFriends([a.base])
  const video = (await (await uploadVideo(a.base, await userToken(a), { file: Bun.file(clip), name: 'Worth keeping' })).json()) as Video
  const copy = await until(async () => (await mirrorsOf(b)).mirrors.find((m) => m.video === video.id && m.state === 'ready'), 20_000, 'a ready copy')
  return { a, b, video, copy }
}

describe('redundancy', () => {
  test("a copy keeps every stream of a friend's video, serves them byte for byte as the origin does, and plays them with the origin stopped", async () => {
    // The original (240p, a stream) and a 144p rendition: two streams.
    const { a, b, video } = await setup({ transcoding: { resolutions: [144] } })
    const origin = await until(async () => {
      const v = await getVideo(a, video.id)
      return v.streams?.length === 2 ? v : undefined
    }, 30_000, 'the rendition')
    const streams = origin.streams!
    const kept = await until(async () => {
      const m = (await mirrorsOf(b)).mirrors.filter((c) => c.video === video.id && c.state === 'ready')
      return m.length === 2 ? m : undefined
    }, 20_000, 'a copy of both streams')
    expect(kept.map((m) => m.rendition).sort()).toEqual(streams.map((s) => s.rendition).sort())
    // A copy's size is its streams' sizes.
    const size = streams.reduce((n, s) => n + s.size, 0)
    expect((await mirrorsOf(b)).usedBytes).toBe(size)

    // Everything the origin serves of the video, the copy serves the same, byte for byte.
    const paths = [
      `/static/hls/${video.id}/master.m3u8`,
      ...streams.flatMap((s) => [new URL(s.playlistUrl).pathname, new URL(s.webseedUrl).pathname, new URL(s.torrentUrl).pathname]),
    ]
    const atOrigin = new Map<string, Buffer>()
    for (const path of paths) {
      const [theirs, ours] = await Promise.all([bytesOf(`${a.base}${path}`), bytesOf(`${b.base}${path}`)])
      expect([path, theirs.status, ours.status]).toEqual([path, 200, 200])
      expect(ours.bytes.equals(theirs.bytes)).toBe(true)
      atOrigin.set(path, theirs.bytes)
    }

    // Both pods list the copy's URLs after the origin's, for each stream and for the master
    // playlist: the copy its own at once, the origin once it has checked pieces of each stream there.
    const mirrored = (v: Awaited<ReturnType<typeof getVideo>>) => v.streams!.every((s) => s.playlistUrls.length === 2)
    for (const p of [a, b]) {
      const v = await until(async () => {
        const got = await getVideo(p, video.id)
        return mirrored(got) ? got : undefined
      }, 3000, 'the copy listed')
      for (const s of v.streams!) {
        const file = new URL(s.webseedUrl).pathname.split('/').pop()!
        expect(s.playlistUrls).toEqual([s.playlistUrl, s.playlistUrl.replace(a.base, b.base)])
        expect(s.webseedUrls).toEqual([s.webseedUrl, `${b.base}/static/webseed/${file}`])
        // A .torrent only where the reader trusts it: the origin's, and the copy's own at the copy.
        expect(s.torrentUrls).toEqual(p === a ? [s.torrentUrl] : [s.torrentUrl, `${b.base}/static/torrents/${s.infoHash}.torrent`])
      }
      expect(v.masterPlaylistUrls).toEqual([`${a.base}/static/hls/${video.id}/master.m3u8`, `${b.base}/static/hls/${video.id}/master.m3u8`])
    }

    // The origin stops: the copy still answers the master playlist, the media playlists and
    // ranges of each stream's segments, as the origin did.
    await a.stop()
    for (const s of streams) {
      const playlist = new URL(s.playlistUrl).pathname
      const media = await bytesOf(`${b.base}${playlist}`)
      expect(media.bytes.equals(atOrigin.get(playlist)!)).toBe(true)
      const [, length, offset] = /#EXT-X-BYTERANGE:(\d+)@(\d+)/.exec(media.bytes.toString())!.map(Number)
      const file = new URL(s.webseedUrl).pathname
      const segment = await bytesOf(`${b.base}${file}`, { range: `bytes=${offset}-${offset! + length! - 1}` })
      expect(segment.status).toBe(206)
      expect(segment.bytes.equals(atOrigin.get(file)!.subarray(offset, offset! + length!))).toBe(true)
    }
    const master = await bytesOf(`${b.base}/static/hls/${video.id}/master.m3u8`)
    expect(master.bytes.equals(atOrigin.get(`/static/hls/${video.id}/master.m3u8`)!)).toBe(true)
    expect(b.logs.filter((l) => l.event === 'mirror.ready').map((l) => l.size)).toEqual(expect.arrayContaining(streams.map((s) => s.size)))
  }, 60_000)

  test("a friend's video is copied, announced to its origin, and still downloads with the origin stopped", async () => {
    const { a, b, video, copy } = await setup()
    const copied = join(b.config.dataDir, 'mirrors', copy.file)
    expect(await sha256(copied)).toBe(await sha256(join(a.config.dataDir, 'videos', `${video.id}.mp4`)))
    // The origin learned of the mirror: its web seed joins the video's.
    const mirrorSeed = `${b.config.url}/static/webseed/${video.id}.mp4`
    const atOrigin = await until(async () => {
      const v = await getVideo(a, video.id)
      return v.webseedUrls.includes(mirrorSeed) ? v : undefined
    }, 3000, 'mirror known at the origin')
    expect(a.logs.some((l) => l.event === 'mirror.proven' && l.pod === b.config.url)).toBe(true)
    // At the origin, the mirror is a web seed of the magnet, never a tracker or a .torrent.
    const magnet = new URLSearchParams(atOrigin.magnetUri.slice('magnet:?'.length))
    expect(magnet.getAll('ws')).toEqual([`${a.config.url}/static/webseed/${video.id}.mp4`, mirrorSeed])
    expect([...magnet.getAll('tr'), ...magnet.getAll('xs')].every((u) => new URL(u).host === new URL(a.base).host)).toBe(true)
    // The mirror's tracker accepts the video; its web seed serves ranges.
    const range = await fetch(mirrorSeed, { headers: { range: 'bytes=0-9' } })
    expect(range.status).toBe(206)

    await a.stop()
    const atMirror = await getVideo(b, video.id)
    expect(atMirror.webseedUrls).toContain(mirrorSeed)
    const client = new WebTorrent({ dht: false, lsd: false, utp: false, natUpnp: false, natPmp: false })
    try {
      const dir = tempDir()
      const hash = await new Promise<string>((resolve, reject) => {
        client.on('error', reject)
        // The magnet as the mirror's users get it: the origin's URLs fail, the mirror's answer.
        client.add(atMirror.magnetUri, { path: dir }, (t) => t.on('done', async () => resolve(await sha256(join(dir, t.files[0]!.path)))))
      })
      expect(hash).toBe(await sha256(copied))
    } finally {
      await new Promise<void>((r) => client.destroy(() => r()))
    }
  })

  test('a copy is dropped, files and all, when the origin removes the video', async () => {
    const { a, b, video, copy } = await setup()
    const res = await fetch(`${a.base}/api/v1/videos/${video.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${await adminToken(a)}` } })
    expect(res.status).toBe(204)
    await until(async () => (await mirrorsOf(b)).mirrors.length === 0, 5000, 'copy dropped')
    expect(existsSync(join(b.config.dataDir, 'mirrors', copy.infoHash))).toBe(false)
    expect(readdirSync(join(b.config.dataDir, 'torrents'))).toEqual([])
    expect(b.logs.some((l) => l.event === 'mirror.dropped' && l.reason === 'the video left the index')).toBe(true)
  })

  test('a copy is dropped when the friendship ends, and beyond the budget; the origin is told', async () => {
    const { a, b, video } = await setup()
    const mirrorSeed = `${b.config.url}/static/webseed/${video.id}.mp4`
    await until(async () => (await getVideo(a, video.id)).webseedUrls.includes(mirrorSeed), 3000, 'mirror known at the origin')
    // Budget lowered below the copy's size: dropped at the next start, and the origin told.
    await b.stop()
    let b2 = await restart(b, { redundancy: { enabled: true, budgetBytes: 1000 } })
    await until(async () => (await mirrorsOf(b2)).mirrors.length === 0, 5000, 'copy dropped over budget')
    await until(async () => !(await getVideo(a, video.id)).webseedUrls.includes(mirrorSeed), 3000, 'the origin told')
    expect(readdirSync(join(b2.config.dataDir, 'mirrors'))).toEqual([])

    // Copied again with room, then the friendship ends.
    await b2.stop()
    b2 = await restart(b2, REDUNDANT)
    await until(async () => (await mirrorsOf(b2)).mirrors.some((m) => m.state === 'ready'), 20_000, 'copied again')
    await b2.running.pod.friends.unfriend(fp(a))
    await until(async () => (await mirrorsOf(b2)).mirrors.length === 0, 5000, 'copy dropped with the friendship')
    expect(readdirSync(join(b2.config.dataDir, 'mirrors'))).toEqual([])
  })

  test('whole-file copies of the release before streams are dropped at the upgrade, files, rows and all, the origin told; then the streams are copied', async () => {
    const [a, b] = await Promise.all([netPod({ transcoding: { enabled: false } }), netPod()])
    await b.running.pod.making.makeFriends([a.base])
    const video = (await (await uploadVideo(a.base, await userToken(a), { file: Bun.file(clip), name: 'Kept whole before' })).json()) as Video
    await until(() => indexIds(b).includes(video.id), 5000, 'the video at the friend')
    await b.stop()
    // What the release before left: the original's file in mirrors/<infoHash>/, its .torrent,
    // its row (no stream), and the mirror it announced, known to itself and to the origin.
    const hash = video.infoHash!
    const folder = join(b.config.dataDir, 'mirrors', hash)
    mkdirSync(folder, { recursive: true })
    copyFileSync(join(a.config.dataDir, 'videos', `${video.id}.mp4`), join(folder, `${video.id}.mp4`))
    copyFileSync(join(a.config.dataDir, 'torrents', `${hash}.torrent`), join(b.config.dataDir, 'torrents', `${hash}.torrent`))
    const db = openDatabase(join(b.config.dataDir, 'seedpod.db'))
    db.query("INSERT INTO mirrors (info_hash, video, file, size, state, created_at) VALUES (?, ?, ?, ?, 'ready', 1)").run(Buffer.from(hash, 'hex'), video.id, `${hash}/${video.id}.mp4`, video.size)
    db.query('INSERT OR IGNORE INTO pods (fingerprint, url) VALUES (?, ?)').run(fp(b), b.config.url)
    db.query('INSERT INTO video_mirrors (video, pod, info_hash) VALUES (?, (SELECT id FROM pods WHERE fingerprint = ?), ?)').run(video.id, fp(b), Buffer.from(hash, 'hex'))
    db.close()
    expect(a.running.pod.redundancy.known.announce(video.id, hash, undefined, { fingerprint: fp(b), url: b.config.url }, () => true, Date.now())).toBe(true)
    // The origin had listed it: its checks passed while the release before served the copy.
    a.running.pod.db.query('UPDATE video_mirrors SET proven_at = 1, check_at = ?').run(Date.now() + 3600_000)
    const mirrorSeed = `${b.config.url}/static/webseed/${video.id}.mp4`
    expect((await getVideo(a, video.id)).webseedUrls).toContain(mirrorSeed)

    // Upgraded with a budget too small for the streams: the old copy goes and nothing comes.
    let b2 = await restart(b, { redundancy: { enabled: true, budgetBytes: 1000 } })
    await until(async () => !(await getVideo(a, video.id)).webseedUrls.includes(mirrorSeed), 5000, 'the origin told')
    expect(b2.logs.find((l) => l.event === 'mirror.dropped')?.reason).toStartWith('a whole-file copy of an earlier release')
    expect((await mirrorsOf(b2)).mirrors).toEqual([])
    expect(readdirSync(join(b2.config.dataDir, 'mirrors'))).toEqual([])
    expect(readdirSync(join(b2.config.dataDir, 'torrents'))).toEqual([])
    expect(b2.running.pod.redundancy.known.listed(video.id)).toEqual([])

    // With room, the video's stream is copied instead, and announced as one.
    await b2.stop()
    b2 = await restart(b2, REDUNDANT)
    const copy = await until(async () => (await mirrorsOf(b2)).mirrors.find((m) => m.state === 'ready'), 20_000, 'a copy of the stream')
    expect(copy.rendition).toBe(0)
    await until(async () => (await getVideo(a, video.id)).streams?.[0]?.playlistUrls.length === 2, 5000, 'the stream copy known at the origin')
    expect(readFileSync(join(b2.config.dataDir, 'mirrors', copy.file)).equals(readFileSync(join(a.config.dataDir, 'videos', `${video.id}.mp4`)))).toBe(true)
  })
})
