/**
 * Transcoding with the real ffmpeg: renditions with the right heights, each playable from
 * its own torrent and known to friends; a pod killed mid-job finishes it after a restart;
 * a file ffmpeg cannot read fails its job clearly and is left as it was.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import WebTorrent from 'webtorrent'
import type { Rendition } from '../src/videos/renditions'
import type { TranscodeJob } from '../src/transcoding/queue'
import type { Video } from '../src/videos/model'
import { makeClip, sha256 } from './helpers/clips'
import { adminToken, netPod, restart, stopPods, until } from './helpers/network'
import { BUN, Child, childEnv, CLI, removeTempDirs, ROOT, tempDir } from './helpers/pods'
import { freePort } from './helpers/ports'
import { uploadVideo, userToken } from './helpers/videos'

afterAll(stopPods)
afterAll(removeTempDirs)

type Full = Omit<Video, 'files'> & { files: Rendition[]; transcoding?: TranscodeJob[] }

let hd: string

beforeAll(async () => {
  hd = await makeClip(tempDir(), { seconds: 2, size: '1280x720' })
})

async function ffprobeHeight(path: string): Promise<number> {
  const p = Bun.spawn(['ffprobe', '-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=height', '-of', 'csv=p=0', path], { stdout: 'pipe' })
  return Number((await new Response(p.stdout).text()).trim())
}

const getVideo = async (base: string, id: string) => (await (await fetch(`${base}/api/v1/videos/${id}`)).json()) as Full

describe('transcoding', () => {
  test('a 720p clip gives 240p and 480p renditions, each playable from its own torrent, known to friends', async () => {
    const [a, b] = await Promise.all([netPod({ transcoding: { resolutions: [240, 480, 720, 1080] } }), netPod()])
    await b.running.pod.making.makeFriends([a.base])
    const res = await uploadVideo(a.base, await userToken(a), { file: Bun.file(hd), name: 'In high definition' })
    expect(res.status).toBe(201)
    const uploaded = (await res.json()) as Full
    // Never above the source: 720 is the original itself, 1080 is not made.
    expect(uploaded.transcoding!.map((j) => j.resolution)).toEqual([240, 480])
    // The original's frame size, which the watch page's quality menu shows.
    expect([uploaded.width, uploaded.height]).toEqual([1280, 720])
    const done = await until(async () => {
      const v = await getVideo(a.base, uploaded.id)
      return v.transcoding!.every((j) => j.state === 'done') ? v : undefined
    }, 60_000, 'renditions')
    expect(done.transcoding!.map((j) => j.progress)).toEqual([1, 1])
    expect(done.files.map((f) => f.resolution)).toEqual([240, 480])

    const client = new WebTorrent({ dht: false, lsd: false, utp: false, natUpnp: false, natPmp: false, tracker: false })
    try {
      for (const f of done.files) {
        const stored = join(a.config.dataDir, 'videos', `${uploaded.id}.${f.resolution}.mp4`)
        expect(await ffprobeHeight(stored)).toBe(f.resolution)
        // Its own torrent (web seed inside) gives the same bytes.
        const torrent = new Uint8Array(await (await fetch(f.torrentUrl)).arrayBuffer())
        const dir = tempDir()
        const path = await new Promise<string>((resolve, reject) => {
          client.on('error', reject)
          client.add(torrent, { path: dir }, (t) => t.on('done', () => resolve(join(dir, t.files[0]!.path))))
        })
        expect(await sha256(path)).toBe(await sha256(stored))
        expect(await ffprobeHeight(path)).toBe(f.resolution)
      }
    } finally {
      await new Promise<void>((r) => client.destroy(() => r()))
    }
    // The friend learned the renditions through video.update.
    const atFriend = await until(async () => {
      const v = await getVideo(b.base, uploaded.id)
      return v.files?.length === 2 ? v : undefined
    }, 3000, 'renditions at the friend')
    expect(atFriend.files.map((f) => f.webseedUrl)).toEqual(done.files.map((f) => f.webseedUrl))
    // The index does not keep the frame size: a friend's video has none.
    expect(atFriend.height).toBeUndefined()
    // The admin's list of jobs, with the video's name.
    const jobs = (await (await fetch(`${a.base}/api/v1/videos/transcoding/jobs`, { headers: { authorization: `Bearer ${await adminToken(a)}` } })).json()) as { jobs: (TranscodeJob & { name: string })[] }
    expect(jobs.jobs.filter((j) => j.video === uploaded.id).map((j) => j.name)).toEqual(['In high definition', 'In high definition'])
  })

  test('a file ffmpeg cannot read fails its job with a clear error and is left untouched', async () => {
    const a = await netPod({ transcoding: { enabled: false } })
    const token = await userToken(a, 'dora')
    const video = (await (await uploadVideo(a.base, token, { file: Bun.file(hd), name: 'Soon broken' })).json()) as Full
    expect(video.transcoding).toBeUndefined()
    // The disk rots: the stored original is no longer a video.
    const stored = join(a.config.dataDir, 'videos', `${video.id}.mp4`)
    writeFileSync(stored, crypto.getRandomValues(new Uint8Array(100_000)))
    const before = readFileSync(stored)
    // (Transcoding off: asking gives a clear 409.)
    const off = await fetch(`${a.base}/api/v1/videos/${video.id}/transcode`, { method: 'POST', headers: { authorization: `Bearer ${token}` } })
    expect(off.status).toBe(409)
    await a.stop()
    const b = await restart(a, { transcoding: { enabled: true, resolutions: [240] } })
    const again = await fetch(`${b.base}/api/v1/videos/${video.id}/transcode`, { method: 'POST', headers: { authorization: `Bearer ${token}` } })
    expect(again.status).toBe(200)
    const failed = await until(async () => (await getVideo(b.base, video.id)).transcoding?.find((j) => j.state === 'failed'), 30_000, 'failed job')
    // Anyone sees what failed; only the admin sees ffmpeg's words (they quote local paths).
    expect(failed.error).toBe('ffmpeg could not transcode to 240p')
    const admin = await fetch(`${b.base}/api/v1/videos/transcoding/jobs`, { headers: { authorization: `Bearer ${await adminToken(b)}` } })
    const listed = ((await admin.json()) as { jobs: { id: number; detail?: string }[] }).jobs.find((j) => j.id === failed.id)
    expect(listed?.detail?.length).toBeGreaterThan(10)
    expect(JSON.stringify(await getVideo(b.base, video.id))).not.toContain(b.config.dataDir)
    expect(readFileSync(stored)).toEqual(before)
    expect((await getVideo(b.base, video.id)).files).toEqual([])
  })
})

test('a pod killed with SIGKILL in the middle of a job finishes it after a restart', async () => {
  const long = await makeClip(tempDir(), { seconds: 20, size: '1280x720' })
  const dataDir = join(tempDir(), 'data')
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  const spawn = async () => {
    const child = new Child([BUN, CLI, 'serve', '--data-dir', dataDir, '--port', String(port), '--host', '127.0.0.1', '--url', base], {
      cwd: ROOT,
      env: childEnv({ SEEDPOD_TRANSCODING_RESOLUTIONS: '240', SEEDPOD_LOG_FORMAT: 'json', SEEDPOD_REGISTRATIONS: 'open' }),
    })
    await until(async () => (await fetch(`${base}/api/v1/health`).catch(() => undefined))?.ok, 10_000, 'pod up')
    return child
  }
  let pod = await spawn()
  try {
    await fetch(`${base}/api/v1/users`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'erin', password: 'correct horse battery staple' }) })
    const { accessToken } = (await (await fetch(`${base}/api/v1/auth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'erin', password: 'correct horse battery staple' }) })).json()) as { accessToken: string }
    const video = (await (await uploadVideo(base, accessToken, { file: Bun.file(long), name: 'Long one' })).json()) as Full
    // Kill it once the job is well under way.
    await until(async () => (await getVideo(base, video.id)).transcoding?.[0]?.progress! > 0.05, 30_000, 'job under way')
    pod.proc.kill('SIGKILL')
    await pod.proc.exited
    pod = await spawn()
    const done = await until(async () => {
      const v = await getVideo(base, video.id)
      return v.transcoding?.[0]?.state === 'done' ? v : undefined
    }, 90_000, 'job finished after restart')
    expect(done.files.map((f) => f.resolution)).toEqual([240])
    expect(await ffprobeHeight(join(dataDir, 'videos', `${video.id}.240.mp4`))).toBe(240)
    expect(pod.stdout + pod.stderr).toContain('transcoder.resumed')
  } finally {
    pod.proc.kill('SIGTERM')
    await pod.proc.exited
  }
}, 180_000)
