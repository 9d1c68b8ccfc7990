/**
 * The start's sweep (src/storage/sweep.ts), as test/crash.test.ts found it wanting: what a crash
 * leaves in the data folder between storing a file and writing its rows (an upload's original,
 * playlist and torrent, a copy's file) is removed at the next start, and the files rows name
 * stay; a data folder whose database was lost keeps its files (seed 2495819770: an upload cut
 * on a pod with a bucket). A pod with friends whose bucket lost a video's file starts, forgets
 * the video and tells its friends (it failed to start: the sweep told the pod actor before there
 * was one). A file that `storage migrate` moves to the bucket while the sweep looks is not taken
 * for lost (it was: listed before it was there, looked for in the data folder after it left).
 */
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from 'bun:test'
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createLogger } from '../src/shared/log'
import { S3Store } from '../src/storage/s3'
import { PodStorage } from '../src/storage/service'
import { sweepAtStart, type SweptFile } from '../src/storage/sweep'
import type { Video } from '../src/videos/model'
import { makeClip } from './helpers/clips'
import { fp, indexIds, netPod, restart, stopPods, until } from './helpers/network'
import { listTree, removeTempDirs, tempDir, testConfig } from './helpers/pods'
import { startRadosgw, type Radosgw } from './helpers/radosgw'
import { movedToBucket, uploadVideo, userToken } from './helpers/videos'

setDefaultTimeout(60_000)
const BUCKET = 'seedpod-sweep'
let gw: Radosgw
let clip: string

beforeAll(async () => {
  ;[gw, clip] = await Promise.all([startRadosgw({ bucket: BUCKET }), makeClip(tempDir(), { seconds: 1 })])
}, 60_000)
afterAll(async () => {
  await stopPods()
  await gw?.stop()
})

/** The files of a data folder's videos, torrents, mirrors and thumbnails, sorted. */
const stored = (dataDir: string) => listTree(dataDir).filter((f) => /^(videos|torrents|mirrors|thumbnails)\/.*\.\w+$/.test(f))
afterAll(stopPods)
afterAll(removeTempDirs)

test("files no row names are removed at start, the others stay; a lost database's files are kept", async () => {
  let pod = await netPod({ transcoding: { enabled: false } })
  const res = await uploadVideo(pod.base, await userToken(pod), { file: Bun.file(clip), name: 'Stays' })
  expect(res.status).toBe(201)
  const video = (await res.json()) as Video
  const dataDir = pod.config.dataDir
  const kept = stored(dataDir)
  expect(kept).toContain(`videos/${video.id}.mp4`)
  await pod.stop()

  // As a crash leaves them: an upload's files kept, its rows never written; a copy's file without its row.
  const crashed = `${fp(pod).slice(0, 16)}CutShort123`
  const leftovers = [`videos/${crashed}.mp4`, `videos/${crashed}.m3u8`, `torrents/${'e'.repeat(40)}.torrent`, `mirrors/${'f'.repeat(40)}/${crashed}.mp4`]
  const place = () => {
    for (const key of leftovers) {
      mkdirSync(join(dataDir, key, '..'), { recursive: true })
      writeFileSync(join(dataDir, key), 'left by a crash')
    }
  }
  place()
  pod = await restart(pod, { transcoding: { enabled: false } })
  expect(stored(dataDir)).toEqual(kept)
  expect(existsSync(join(dataDir, 'mirrors', 'f'.repeat(40)))).toBe(false)
  const seed = await fetch(`${pod.base}/static/webseed/${video.id}.mp4`, { headers: { range: 'bytes=0-99' } })
  expect(seed.status).toBe(206)
  await seed.arrayBuffer()
  await pod.stop()

  // The database gone (a restore gone wrong): a new one names nothing, and nothing is taken for a leftover.
  place()
  for (const name of ['seedpod.db', 'seedpod.db-wal', 'seedpod.db-shm']) rmSync(join(dataDir, name), { force: true })
  pod = await restart(pod, { transcoding: { enabled: false } })
  expect(stored(dataDir)).toEqual([...kept, ...leftovers].sort())
})

test('a pod with a friend whose bucket lost a video\'s original starts, forgets the video and tells its friend', async () => {
  const storage = gw.settings(BUCKET, { prefix: 'lost/' })
  let pod = await netPod({ storage, transcoding: { enabled: false } })
  const friend = await netPod({ transcoding: { enabled: false } })
  expect((await friend.running.pod.making.makeFriends([pod.base]))[0]!.status).toBe('added')
  const res = await uploadVideo(pod.base, await userToken(pod), { file: Bun.file(clip), name: 'Lost behind its back' })
  const video = (await res.json()) as Video
  await movedToBucket(pod)
  await until(() => indexIds(friend).includes(video.id), 10_000, 'the video at the friend')
  await pod.stop()
  await gw.client().delete(`lost/videos/${video.id}.mp4`)
  pod = await restart(pod, { storage, transcoding: { enabled: false } })
  expect((await fetch(`${pod.base}/api/v1/videos/${video.id}`)).status).toBe(404)
  await until(() => !indexIds(friend).includes(video.id), 10_000, 'the video gone from the friend')
})

test('a file `storage migrate` moves to the bucket while the sweep lists it is neither forgotten nor taken for a wrong bucket', async () => {
  const dataDir = join(tempDir(), 'data')
  mkdirSync(join(dataDir, 'videos'), { recursive: true })
  const bucket = new S3Store(testConfig({ dataDir, port: 9, storage: gw.settings(BUCKET, { prefix: 'moving/' }) }).storage)
  const quiet = createLogger({ level: 'error', format: 'json', write: () => undefined })
  let moving = ''
  // The migration's step (upload, check, remove from the data folder) comes right after the
  // bucket's listing, before the sweep looks for what the listing lacked.
  const store = new Proxy(bucket, {
    get(target, prop) {
      if (prop === 'list')
        return async (prefix: string) => {
          const listed = await target.list(prefix)
          if (prefix === 'mirrors/') await target.put(moving, join(dataDir, moving), 'video/mp4')
          return listed
        }
      const value = Reflect.get(target, prop, target)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
  // The first file of a migration (the bucket holds none of the pod's yet), then one more.
  const files: SweptFile[] = []
  for (const id of ['FirstMoved', 'SecondMoved']) {
    moving = `videos/${id}.mp4`
    writeFileSync(join(dataDir, moving), 'the video')
    files.push({ id, resolution: null, key: moving })
    const forgotten: SweptFile[] = []
    const part = { keys: () => files.map((f) => f.key), files: () => files, forget: async (f: SweptFile) => void forgotten.push(f), ownId: () => true }
    const swept = await sweepAtStart(new PodStorage(store, dataDir), [part], quiet)
    expect(swept?.forgotten).toEqual([])
    expect(forgotten).toEqual([])
    expect(existsSync(join(dataDir, moving))).toBe(false)
    expect(await bucket.stat(moving)).toEqual({ size: 'the video'.length })
  }
})
