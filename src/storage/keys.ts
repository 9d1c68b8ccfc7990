/**
 * The layout of the pod's files: every file is named by its key, its path relative to the
 * data folder, where the data folder keeps it and under which a bucket keeps it too (behind
 * the pod's prefix), all named by id or info hash, never by what a user sent:
 *   videos/<id>.<ext>             an own video's original (web seed and TCP seeding)
 *   videos/<id>.<height>.mp4      one of its renditions
 *   videos/<id>.m3u8, videos/<id>.<height>.m3u8
 *                                 the HLS media playlist of a file packaged as a stream
 *   thumbnails/<id>.jpg           thumbnails of own videos, and cached ones of friends' videos
 *   torrents/<infoHash>.torrent   the .torrent of an own file or of a copy
 *   mirrors/<infoHash>/<file>     copies of friends' videos' streams (redundancy), each with
 *                                 its media playlist beside it (`<file>` -> `.m3u8`)
 *   tmp/                          uploads and work in progress (never a key; emptied at start)
 * The file names (`<id>.<ext>`, `<id>.<height>.mp4`) are also the names the web seeds and
 * torrents give the files (src/shared/urls.ts). This module builds and parses them all.
 */

/** Video ids: letters, digits, `_` and `-` (never a dot, which separates the height and extension). */
const ID = '[A-Za-z0-9_-]{1,64}'
const VIDEO_FILE = new RegExp(`^(${ID})(?:\\.(\\d{2,5}))?\\.([a-z0-9]{1,5})$`)
const TORRENT_FILE = /^([0-9a-f]{40})\.torrent$/
const THUMBNAIL_FILE = new RegExp(`^(${ID})\\.jpg$`)

/** The folders of the pod's files in its store (everything else under a bucket's prefix is not the pod's). */
export const FOLDERS = ['videos/', 'thumbnails/', 'torrents/', 'mirrors/'] as const

/** A video's original: `<id>.<ext>`. */
export const originalFile = (id: string, ext: string) => `${id}.${ext}`

/** A rendition of a video: `<id>.<height>.mp4`. */
export const renditionFile = (id: string, height: number) => `${id}.${height}.mp4`

/** The file of a stream (src/videos/streams.ts): the original `<id>.mp4` (rendition 0), or a rendition. */
export const streamFile = (id: string, rendition: number) => (rendition === 0 ? originalFile(id, 'mp4') : renditionFile(id, rendition))

/** The key of a video's file (an original or a rendition). */
export const videoKey = (file: string) => `videos/${file}`

/** The key of the media playlist beside a video file's key (`videos/<id>.m3u8` beside `videos/<id>.mp4`). */
export const playlistKey = (fileKey: string) => fileKey.replace(/\.[^./]+$/, '.m3u8')

/** The key of a stream's media playlist. */
export const streamPlaylistKey = (id: string, rendition: number) => playlistKey(videoKey(streamFile(id, rendition)))

export const thumbnailKey = (id: string) => `thumbnails/${id}.jpg`

export const torrentKey = (infoHash: string) => `torrents/${infoHash}.torrent`

/** The key of a copy's file; `file` is `<infoHash>/<name>`. */
export const mirrorKey = (file: string) => `mirrors/${file}`

/**
 * Every key of a copy: its file, the media playlist beside it (a copy of a stream; a
 * whole-file copy of an earlier release has none) and its .torrent.
 */
export const copyKeys = (m: { file: string; infoHash: string; rendition: number | null }) => [
  mirrorKey(m.file),
  ...(m.rendition === null ? [] : [playlistKey(mirrorKey(m.file))]),
  torrentKey(m.infoHash),
]

/** The folder of a copy (its download goes there). */
export const mirrorFolder = (infoHash: string) => `mirrors/${infoHash}`

/** Whether a key is a copy's file. */
export const isMirrorKey = (key: string) => key.startsWith('mirrors/')

/** A video file's name read back: its video's id, a rendition's height (null: the original) and the extension. */
export function parseVideoFile(name: string): { id: string; height: number | null; ext: string } | undefined {
  const m = VIDEO_FILE.exec(name)
  return m ? { id: m[1]!, height: m[2] ? Number(m[2]) : null, ext: m[3]! } : undefined
}

/** The video id of a key of videos/ (its original, a rendition or a playlist). */
export function videoIdOfKey(key: string): string | undefined {
  return key.startsWith('videos/') ? /^[A-Za-z0-9_-]+(?=\.)/.exec(key.slice('videos/'.length))?.[0] : undefined
}

/** The info hash a .torrent's file name names. */
export const parseTorrentFile = (name: string) => TORRENT_FILE.exec(name)?.[1]

/** The video id a thumbnail's file name names. */
export const parseThumbnailFile = (name: string) => THUMBNAIL_FILE.exec(name)?.[1]
