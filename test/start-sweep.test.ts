/**
 * The start's sweep of the data folder: what a crash leaves between storing a file and writing
 * its rows (an upload's original, playlist and torrent, a copy's file) is removed at the next
 * start, and the files rows name stay; a data folder whose database was lost keeps its files.
 * (test/crash.test.ts found the leftovers: seed 2495819770, an upload cut on a pod with a bucket.)
 */
import { afterAll, expect, setDefaultTimeout, test } from 'bun:test'
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Video } from '../src/videos/model'
import { makeClip } from './helpers/clips'
import { fp, netPod, restart, stopPods } from './helpers/network'
import { listTree, removeTempDirs, tempDir } from './helpers/pods'
import { uploadVideo, userToken } from './helpers/videos'

setDefaultTimeout(60_000)

/** The files of a data folder's videos, torrents, mirrors and thumbnails, sorted. */
const stored = (dataDir: string) => listTree(dataDir).filter((f) => /^(videos|torrents|mirrors|thumbnails)\/.*\.\w+$/.test(f))
afterAll(stopPods)
afterAll(removeTempDirs)

test("files no row names are removed at start, the others stay; a lost database's files are kept", async () => {
  const clip = await makeClip(tempDir(), { seconds: 1 })
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
