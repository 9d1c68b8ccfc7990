/**
 * The crash test's check of a pod's files against its rows, through its API and its store (the
 * data folder and the bucket, listed as they are): every row's file is there at the row's size,
 * and every file of videos/, thumbnails/, torrents/ and mirrors/ (in the folder or the bucket)
 * is named by a row. A pod goes on working while it is looked at (a rendition is stored: its
 * file comes a moment before its rows), so a problem counts only when every look of a few in
 * a row finds it.
 */
import { readdirSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { copyKeys, FOLDERS, mirrorKey, originalFile, playlistKey, renditionFile, streamFile, streamPlaylistKey, thumbnailKey, torrentKey, videoKey } from '../../../src/storage/keys'
import type { CrashPod } from './pod-process'

/** A video as `GET /api/v1/videos/:id` shows it (the fields the checks read). */
export interface ApiVideo {
  id: string
  name: string
  podFingerprint: string
  podUrl: string
  infoHash: string
  size: number
  webseedUrls: string[]
  files?: { resolution: number; infoHash: string; size: number }[]
  streams?: { rendition: number; infoHash: string; size: number; webseedUrls: string[] }[]
  transcoding?: { resolution: number; state: string; error: string | null }[]
}

/** A copy of a friend's stream as `GET /api/v1/videos/mirrors` shows it. */
export interface ApiMirror {
  video: string
  rendition: number | null
  infoHash: string
  file: string
  size: number
  state: 'downloading' | 'ready'
}

/** Every video of a pod's index, or of its own (`local`), in full. */
export async function videosOf(pod: CrashPod, scope: 'local' | 'network'): Promise<ApiVideo[]> {
  const ids: string[] = []
  for (let start = 0; ; start += 100) {
    const page = await pod.json<{ total: number; data: { id: string }[] }>(`/api/v1/videos?count=100&start=${start}&sort=createdAt${scope === 'local' ? '&scope=local' : ''}`)
    ids.push(...page.data.map((v) => v.id))
    if (page.data.length < 100) break
  }
  const videos: ApiVideo[] = []
  for (const id of ids) {
    const res = await pod.api(`/api/v1/videos/${id}`)
    // Removed since the list was read.
    if (res.status === 404) continue
    if (res.status !== 200) throw new Error(`${pod.name}: GET /api/v1/videos/${id}: ${res.status} ${await res.text()}`)
    videos.push((await res.json()) as ApiVideo)
  }
  return videos
}

/** What a pod's rows say of its store: keys that must be there (with their sizes when known), and keys or folders that may be. */
interface Named {
  required: Map<string, number | undefined>
  allowed: Set<string>
  /** Folders whose files are a download's (a copy still downloading). */
  allowedFolders: string[]
}

/** The keys a pod's rows name, through its API. */
async function namedKeys(pod: CrashPod): Promise<Named> {
  const required = new Map<string, number | undefined>()
  const allowed = new Set<string>()
  const allowedFolders: string[] = []
  for (const v of await videosOf(pod, 'local')) {
    // The original's file name as the pod serves it (the bucket's URL ends with its key too).
    const original = new URL(v.webseedUrls[0]!).pathname.split('/').pop()!
    const ext = original.slice(original.lastIndexOf('.') + 1)
    required.set(videoKey(originalFile(v.id, ext)), v.size)
    required.set(thumbnailKey(v.id), undefined)
    required.set(torrentKey(v.infoHash), undefined)
    allowed.add(playlistKey(videoKey(originalFile(v.id, ext))))
    for (const f of v.files ?? []) {
      required.set(videoKey(renditionFile(v.id, f.resolution)), f.size)
      required.set(torrentKey(f.infoHash), undefined)
      allowed.add(playlistKey(videoKey(renditionFile(v.id, f.resolution))))
    }
    for (const s of v.streams ?? []) {
      required.set(videoKey(streamFile(v.id, s.rendition)), s.size)
      required.set(streamPlaylistKey(v.id, s.rendition), undefined)
    }
  }
  const { mirrors } = await pod.json<{ mirrors: ApiMirror[] }>('/api/v1/videos/mirrors')
  for (const m of mirrors) {
    const keys = copyKeys(m)
    if (m.state === 'ready') {
      for (const key of keys) required.set(key, key === mirrorKey(m.file) ? m.size : undefined)
    } else {
      for (const key of keys) allowed.add(key)
      allowedFolders.push(`mirrors/${m.infoHash}/`)
    }
  }
  return { required, allowed, allowedFolders }
}

/** The files of the pod's folders in its data folder, by key, with their sizes. */
export function folderFiles(dataDir: string): Map<string, number> {
  const out = new Map<string, number>()
  const walk = (dir: string) => {
    let entries
    try {
      entries = readdirSync(dir, { withFileTypes: true })
    } catch {
      return
    }
    for (const e of entries) {
      const path = join(dir, e.name)
      if (e.isDirectory()) walk(path)
      else if (e.isFile()) out.set(relative(dataDir, path), statSync(path, { throwIfNoEntry: false })?.size ?? -1)
    }
  }
  for (const folder of FOLDERS) walk(join(dataDir, folder))
  return out
}

/** A pod's store as the checks see it: its data folder, and its bucket's objects if it has one. */
export interface Store {
  dataDir: string
  objects?: () => Promise<Map<string, number>>
}

/** What one look finds wrong: each problem named by its key. */
async function look(pod: CrashPod, store: Store): Promise<Map<string, string>> {
  // Files before rows: a file stored since is seen with its rows; one removed since, not at all.
  const files = folderFiles(store.dataDir)
  const objects = store.objects ? await store.objects() : new Map<string, number>()
  const named = await namedKeys(pod)
  const problems = new Map<string, string>()
  for (const [key, size] of named.required) {
    const here = files.get(key) ?? objects.get(key)
    if (here === undefined) problems.set(key, `${key}: named by a row, in neither the data folder nor the bucket`)
    else if (size !== undefined && here !== size) problems.set(key, `${key}: ${here} bytes, its row says ${size}`)
  }
  const isNamed = (key: string) => named.required.has(key) || named.allowed.has(key) || named.allowedFolders.some((f) => key.startsWith(f))
  for (const key of files.keys()) if (!isNamed(key)) problems.set(`file:${key}`, `${key}: a file of the data folder that no row names`)
  for (const key of objects.keys()) if (!isNamed(key)) problems.set(`object:${key}`, `${key}: an object of the bucket that no row names`)
  return problems
}

/**
 * Checks a pod's files against its rows: looks again while problems are found (a file being
 * stored, a copy being dropped), and returns the problems every look found.
 */
export async function storeProblems(pod: CrashPod, store: Store, looks = 5, pauseMs = 600): Promise<string[]> {
  let lasting = await look(pod, store)
  for (let i = 1; i < looks && lasting.size > 0; i++) {
    await Bun.sleep(pauseMs)
    const now = await look(pod, store)
    lasting = new Map([...lasting].filter(([key]) => now.has(key)).map(([key]) => [key, now.get(key)!]))
  }
  return [...lasting.values()]
}
