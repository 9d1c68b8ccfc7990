/**
 * Redundancy with real pods: a friend's video is copied over BitTorrent, seeded, announced
 * with video.mirror, and still downloads with its origin stopped; copies go, files and all,
 * beyond the budget, when the origin removes the video, or when the friendship ends.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import WebTorrent from 'webtorrent'
import type { Video } from '../src/videos/model'
import type { OwnMirror } from '../actors/redundancy'
import { makeClip, sha256 } from './helpers/clips'
import { adminToken, fp, netPod, restart, stopPods, until } from './helpers/network'
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

const getVideo = async (p: TestPod, id: string) => (await (await fetch(`${p.base}/api/v1/videos/${id}`)).json()) as Video

async function setup() {
  const [a, b] = await Promise.all([netPod(), netPod(REDUNDANT)])
  await b.running.pod.making.makeFriends([a.base])
  const video = (await (await uploadVideo(a.base, await userToken(a), { file: Bun.file(clip), name: 'Worth keeping' })).json()) as Video
  const copy = await until(async () => (await mirrorsOf(b)).mirrors.find((m) => m.video === video.id && m.state === 'ready'), 20_000, 'a ready copy')
  return { a, b, video, copy }
}

describe('redundancy', () => {
  test("a friend's video is copied, announced to its origin, and still downloads with the origin stopped", async () => {
    const { a, b, video, copy } = await setup()
    const copied = join(b.config.dataDir, 'mirrors', copy.file)
    expect(await sha256(copied)).toBe(await sha256(join(a.config.dataDir, 'videos', `${video.id}.mp4`)))
    // The origin learned of the mirror: its web seed joins the video's.
    const mirrorSeed = `${b.config.url}/static/webseed/${video.id}.mp4`
    await until(async () => (await getVideo(a, video.id)).webseedUrls.includes(mirrorSeed), 3000, 'mirror known at the origin')
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
})
