/**
 * Videos for tests and benches: uploads through the API and quick bulk seeding. (No bun:test
 * import here, so benches can use it too.)
 */
import { copyFileSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Pod } from '../../src/app/pod'
import type { Video } from '../../src/videos/model'
import { playlistKey, thumbnailKey } from '../../src/storage/keys'
import { newVideoId } from '../../src/videos/ingest'
import { segmentUri } from '../../src/videos/streams'
import type { TestPod } from './pods'
import { valueOf } from './results'

/** A bearer token of a new (non-admin) account of the pod. */
export async function userToken(p: TestPod, name = `user${Math.floor(Math.random() * 1e9)}`): Promise<string> {
  const u = valueOf(await p.running.pod.accounts.create(name, 'correct horse battery staple'))
  return (await p.running.pod.accounts.issueToken(u)).accessToken
}

/** Uploads a file through `POST /api/v1/videos`; returns the response. */
export function uploadVideo(base: string, token: string | undefined, fields: Record<string, string | Blob>): Promise<Response> {
  const form = new FormData()
  for (const [k, v] of Object.entries(fields)) form.append(k, v)
  return fetch(`${base}/api/v1/videos`, { method: 'POST', headers: token ? { authorization: `Bearer ${token}` } : {}, body: form })
}

/**
 * Adds `count` own videos to a pod quickly: the clip is checked, remuxed into its stream and
 * thumbnailed by a real upload once, then stored again and again through the same
 * `Videos.store` the upload path uses (torrent, files, stream, rows, announcements), with the
 * first one's media playlist naming each copy's file, without spawning ffmpeg each time.
 */
export async function seedVideos(p: { pod: Pod; base: string }, clip: string, count: number): Promise<Video[]> {
  const pod = p.pod
  const account = valueOf(await pod.accounts.create(`seeder${Math.floor(Math.random() * 1e9)}`, 'correct horse battery staple'))
  const token = (await pod.accounts.issueToken(account)).accessToken
  const first = (await (await uploadVideo(p.base, token, { file: Bun.file(clip), name: 'Clip number 0' })).json()) as Video
  const user = account
  const local = pod.videos.localFile(first.id)!
  const { audio } = pod.db.query('SELECT audio FROM local_videos WHERE video = ?').get(first.id) as { audio: string }
  const original = first.streams?.find((s) => s.rendition === 0)
  const playlist = original && readFileSync(pod.videos.files.path(playlistKey(local.key)), 'utf8')
  const videos = [first]
  for (let i = 1; i < count; i++) {
    const source = pod.videos.files.temp('.mp4')
    const thumb = pod.videos.files.temp('.jpg')
    copyFileSync(pod.videos.files.path(local.key), source)
    copyFileSync(pod.videos.files.path(thumbnailKey(first.id)), thumb)
    const id = newVideoId(pod.identity.fingerprint)
    const stream = original && playlist ? { info: { ...original, codecs: original.codecs ?? null }, playlist: playlist.replaceAll(segmentUri(first.id, 0), segmentUri(id, 0)) } : undefined
    videos.push(await pod.videos.store(user, { id, name: `Clip number ${i}`, ext: 'mp4', mime: local.mime, source, thumb, duration: first.duration ?? 0, width: 320, height: 240, audio, ...(stream ? { stream } : {}) }))
  }
  return videos
}

/**
 * Waits until a pod on a bucket has moved its new files there (it keeps them in its data
 * folder until their rows are written, then moves them: src/storage/moves.ts).
 */
export async function movedToBucket(p: TestPod, ms = 30_000): Promise<void> {
  const end = Date.now() + ms
  while (p.running.pod.videos.files.moves.pending() > 0) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for the files to move to the bucket`)
    await Bun.sleep(10)
  }
}

/** Everything an upload could leave behind in a pod: its files in the data folder (tmp/ too) and its rows. */
export function footprint(p: TestPod): string {
  const dir = p.config.dataDir
  const files = ['videos', 'thumbnails', 'torrents', 'tmp'].flatMap((d) => readdirSync(join(dir, d)).map((f) => `${d}/${f}`))
  const rows = p.running.pod.db.query('SELECT (SELECT count(*) FROM videos) AS v, (SELECT count(*) FROM local_videos) AS l, (SELECT count(*) FROM outbox) AS o').get()
  return JSON.stringify({ files: files.sort(), rows })
}
