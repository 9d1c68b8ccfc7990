/**
 * Re-packaging on a pod that keeps its files in a bucket (a real radosgw): a data folder of
 * the release before streams (commit d369429, built and run: test/helpers/old-release.ts)
 * with an MP4 whose keyframes are every 3 s and a WebM (VP8, Vorbis), each with its 144p
 * rendition, is moved to the bucket (`seedpod storage migrate --to s3`), so that the
 * originals are objects, not files. The current pod starts on it and re-packages them: ffmpeg
 * works on copies in tmp/, the new files go to the bucket, the MP4's stream takes its
 * original's key (the old torrent goes), the WebM stays beside its top rendition, and every
 * stream plays from the bucket.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import type { RepackProgress } from '../src/transcoding/queue'
import type { Video } from '../src/videos/model'
import type { Stream } from '../src/videos/streams'
import { makeClip, makeWebmClip } from './helpers/clips'
import { adminToken, netPod, stopPods, until } from './helpers/network'
import { makeOldData, type OldData } from './helpers/old-release'
import { childEnv, listTree, removeTempDirs, runCli, tempDir, type TestPod } from './helpers/pods'
import { startRadosgw, type Radosgw } from './helpers/radosgw'
import { movedToBucket } from './helpers/videos'

setDefaultTimeout(120_000)
afterAll(removeTempDirs)

const BUCKET = 'seedpod-repackage'
let gw: Radosgw
let old: OldData
let pod: TestPod
/** The keys of the bucket after the old release's files were moved there. */
let before: string[]

type Full = Omit<Video, 'streams'> & { streams?: Stream[] }

const keys = async () => ((await gw.client().list({ prefix: '' })).contents ?? []).map((c) => c.key).sort()
const getVideo = async (id: string) => (await (await fetch(`${pod.base}/api/v1/videos/${id}`)).json()) as Full

async function run(cmd: string[]): Promise<{ code: number; out: string }> {
  const p = Bun.spawn(cmd, { stdout: 'pipe', stderr: 'pipe' })
  const [out, err] = [await new Response(p.stdout).text(), await new Response(p.stderr).text()]
  return { code: await p.exited, out: out + err }
}

beforeAll(async () => {
  const dir = tempDir('seedpod-repackage-s3-')
  const [mp4, webm] = await Promise.all([makeClip(dir, { seconds: 6, keyframeSeconds: 3, name: 'every-3-s.mp4' }), makeWebmClip(dir, { seconds: 4, name: 'vorbis.webm' })])
  ;[gw, old] = await Promise.all([
    startRadosgw({ bucket: BUCKET }),
    makeOldData(
      [
        { file: mp4, name: 'Keyframes every 3 s' },
        { file: webm, name: 'VP8 and Vorbis' },
      ],
      [144],
    ),
  ])
  const moved = await runCli(['storage', 'migrate', '--to', 's3', '--data-dir', old.dataDir], {
    cwd: old.dataDir,
    env: childEnv(gw.env(BUCKET)),
  })
  if (moved.code !== 0) throw new Error(`storage migrate: ${moved.stderr}`)
  before = await keys()
}, 240_000)

afterAll(async () => {
  await stopPods()
  await gw?.stop()
})

describe('re-packaging with the originals in a bucket', () => {
  test('every video gets its streams in the bucket; the replaced original and its torrent are gone; nothing is left in the data folder', async () => {
    const [mp4, webm] = old.ids as [string, string]
    // The old release's files are objects now: originals, renditions, torrents, thumbnails.
    expect(before).toContain(`videos/${mp4}.mp4`)
    expect(before).toContain(`videos/${webm}.webm`)
    expect(listTree(old.dataDir).filter((f) => f.startsWith('videos/') && f !== 'videos')).toEqual([])
    pod = await netPod({ dataDir: old.dataDir, port: old.port, url: old.url, storage: gw.settings(BUCKET), transcoding: { resolutions: [144] } })
    const token = await adminToken(pod)
    const oldHash = (await getVideo(mp4)).infoHash!
    const done = await until(async () => {
      const p = (await (await fetch(`${pod.base}/api/v1/videos/repackaging`, { headers: { authorization: `Bearer ${token}` } })).json()) as RepackProgress
      return p.videos === 2 && p.queued + p.running === 0 ? p : undefined
    }, 90_000, 're-packaging')
    expect(done).toMatchObject({ videosDone: 2, failed: 0, done: 6 })
    await movedToBucket(pod)

    const a = await getVideo(mp4)
    expect(a.streams!.map((s) => [s.rendition, s.aligned]).sort()).toEqual([[0, false], [144, true], [240, true]])
    expect(a.infoHash).not.toBe(oldHash)
    const w = await getVideo(webm)
    expect(w.streams!.map((s) => [s.rendition, s.aligned]).sort()).toEqual([[144, true], [240, true]])
    const now = await keys()
    for (const key of [`videos/${mp4}.mp4`, `videos/${mp4}.m3u8`, `videos/${mp4}.240.mp4`, `videos/${mp4}.240.m3u8`, `videos/${mp4}.144.m3u8`, `videos/${webm}.webm`, `videos/${webm}.240.m3u8`])
      expect(now).toContain(key)
    // The original's old torrent went with it; the stream's is there.
    expect(now).not.toContain(`torrents/${oldHash}.torrent`)
    expect(now).toContain(`torrents/${a.infoHash}.torrent`)
    // The stream took the original's key: the object is the stream's file.
    const stat = await gw.client().file(`videos/${mp4}.mp4`).stat()
    expect(stat.size).toBe(a.streams!.find((s) => s.rendition === 0)!.size)
    // Nothing stays in the data folder: no video file, no copy in tmp/.
    expect(listTree(old.dataDir).filter((f) => f.startsWith('videos/') && f !== 'videos')).toEqual([])
    expect(readdirSync(join(old.dataDir, 'tmp'))).toEqual([])
  })

  test("each video's master playlist plays from the bucket in ffmpeg", async () => {
    for (const id of old.ids) {
      const v = await getVideo(id)
      // Its segments are the bucket's (presigned URLs in the media playlists).
      const media = await (await fetch(v.streams![0]!.playlistUrl)).text()
      expect(media).toContain(`${gw.endpoint}/${BUCKET}/videos/${id}.`)
      const r = await run(['ffmpeg', '-v', 'error', '-i', v.masterPlaylistUrl!, '-t', '3', '-f', 'null', '-'])
      expect(r.code, r.out).toBe(0)
    }
  })
})
