/**
 * `seedpod backup` and `seedpod restore` on a stopped pod's data folder (child processes of
 * the CLI): a backup whose database changes while it copies still ends with a database and
 * files that agree; and given what they cannot use, each says what is wrong, exits with its
 * code (66 nothing to read, 73 a destination it may not fill, 65 a damaged backup, 1 a failure
 * on the way, 130 interrupted) and leaves nothing behind: a destination it made is gone, one
 * it found empty is empty.
 */
import { afterAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { closeSync, constants, cpSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { Database } from 'bun:sqlite'
import type { Manifest } from '../src/backup/model'
import { openDatabase } from '../src/shared/db'
import { VideoStore } from '../src/videos/store'
import { until } from './helpers/network'
import { addVideo, infoHashOf, podFolder } from './helpers/pod-folder'
import { listTree, removeTempDirs, runCli, spawnCli, tempDir } from './helpers/pods'

setDefaultTimeout(60_000)
afterAll(removeTempDirs)

/** A stopped pod's data folder with one own video (`id`), whose playlist is not there. */
async function onePod() {
  const f = await podFolder()
  return { ...f, id: f.ids[0]! }
}

/**
 * Makes the file at `path` a pipe: a backup that copies it reads what the test writes, when it
 * writes it. `opened` resolves with the writing end once the backup has opened it.
 */
function pipeAt(path: string): { opened: Promise<number> } {
  rmSync(path)
  expect(Bun.spawnSync(['mkfifo', path]).exitCode).toBe(0)
  const opened = until(() => {
    try {
      return openSync(path, constants.O_WRONLY | constants.O_NONBLOCK) + 1
    } catch {
      // ENXIO: nobody reads it yet.
      return 0
    }
  }, 15_000, 'the backup reading the pipe').then((fd) => fd - 1)
  return { opened }
}

/** Every file under `dir` with its bytes, and every folder. */
const contents = (dir: string) => listTree(dir).map((p) => [p, statSync(join(dir, p)).isFile() ? readFileSync(join(dir, p)).toString('base64') : 'folder'])

/** Runs the CLI in `cwd`. */
const cli = (cwd: string, ...args: string[]) => runCli(args, { cwd })

describe('seedpod backup', () => {
  test("a video added and one deleted while it copies: the backup's database and its files agree", async () => {
    const f = await onePod()
    const deleted = addVideo(f, 2)
    // The first video's file is the first it copies: it waits there while the test changes the pod.
    const first = join(f.dataDir, 'videos', `${f.id}.mp4`)
    const pipe = pipeAt(first)
    const child = spawnCli(['backup', 'out', '--data-dir', 'data'], { cwd: f.dir })
    let added: string
    const bytes = crypto.getRandomValues(new Uint8Array(64 * 1024))
    try {
      const fd = await pipe.opened
      writeSync(fd, bytes)
      // The second video is deleted (its rows: its files go after), a third is uploaded.
      const db = openDatabase(join(f.dataDir, 'seedpod.db'))
      expect(new VideoStore(db).remove(deleted, f.fingerprint)).toBe(true)
      db.close()
      added = addVideo(f, 3)
      // The pipe becomes the file it stood for (a round after the first looks at it again).
      rmSync(first)
      writeFileSync(first, bytes)
      closeSync(fd)
      expect(await child.exit()).toBe(0)
    } finally {
      child.kill()
    }
    const out = join(f.dir, 'out')
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as Manifest
    const media = manifest.files.map((m) => m.path).filter((p) => !p.startsWith('keys/') && p !== 'seedpod.db')
    expect(media.sort()).toEqual([`thumbnails/${added}.jpg`, `thumbnails/${f.id}.jpg`, `torrents/${infoHashOf(1)}.torrent`, `torrents/${infoHashOf(3)}.torrent`, `videos/${added}.mp4`, `videos/${f.id}.mp4`].sort())
    expect(listTree(out).filter((p) => p.includes(deleted) || p.includes(infoHashOf(2)))).toEqual([])
    expect(readFileSync(join(out, 'videos', `${f.id}.mp4`))).toEqual(Buffer.from(bytes))
    for (const m of manifest.files) expect(`${m.path} ${new Bun.CryptoHasher('sha256').update(readFileSync(join(out, m.path))).digest('hex')}`).toBe(`${m.path} ${m.sha256}`)
    const copy = new Database(join(out, 'seedpod.db'), { readonly: true })
    try {
      expect(new VideoStore(copy).ownRows().map((r) => r.id)).toEqual([f.id, added])
    } finally {
      copy.close()
    }
  })

  test('of a stopped pod: the files its database names, one it lacks named in a warning and the manifest', async () => {
    const { dir, dataDir, id } = await onePod()
    const r = await cli(dir, 'backup', 'out', '--data-dir', dataDir)
    expect(r.stderr).toBe(`seedpod backup: warning: 1 files the database names are not in the data folder: videos/${id}.m3u8\n`)
    expect(r.code).toBe(0)
    const manifest = JSON.parse(readFileSync(join(dir, 'out', 'manifest.json'), 'utf8')) as Manifest
    expect(manifest.missing).toEqual([`videos/${id}.m3u8`])
    expect(manifest.files.map((f) => f.path).sort()).toEqual(['keys/pod.key', 'seedpod.db', `thumbnails/${id}.jpg`, `torrents/${infoHashOf(1)}.torrent`, `videos/${id}.mp4`])
    expect(readFileSync(join(dir, 'out', 'videos', `${id}.mp4`))).toEqual(readFileSync(join(dataDir, 'videos', `${id}.mp4`)))
  })

  test('without a DEST it prints the usage and exits 2', async () => {
    const { dir } = await onePod()
    const r = await cli(dir, 'backup', '--data-dir', 'data')
    expect(r.stderr).toContain('backup needs a DEST folder')
    expect(r.code).toBe(2)
  })

  test('with no data folder, or one that is not a pod\'s, it exits 66 and makes nothing', async () => {
    const dir = tempDir()
    const none = await cli(dir, 'backup', 'out', '--data-dir', 'nowhere')
    expect(none.stderr).toContain(`there is no data folder ${join(dir, 'nowhere')}: nothing to back up`)
    expect(none.code).toBe(66)
    mkdirSync(join(dir, 'empty'))
    openDatabase(join(dir, 'empty', 'seedpod.db')).close()
    const keyless = await cli(dir, 'backup', 'out', '--data-dir', 'empty')
    expect(keyless.stderr).toContain('has no keys/pod.key: it is not a pod\'s data folder')
    expect(keyless.code).toBe(66)
    expect(existsSync(join(dir, 'out'))).toBe(false)
  })

  test('into a folder that is not empty, a file, a path under a file or the data folder, it exits 73 and changes nothing', async () => {
    const { dir } = await onePod()
    mkdirSync(join(dir, 'full'))
    writeFileSync(join(dir, 'full', 'kept'), 'mine')
    writeFileSync(join(dir, 'file'), 'mine')
    const before = contents(dir)
    for (const [dest, says] of [
      ['full', `the backup folder ${join(dir, 'full')} is not empty`],
      ['file', `the backup folder ${join(dir, 'file')} exists and is not a folder`],
      ['file/out', `cannot create the backup folder ${join(dir, 'file', 'out')} (ENOTDIR)`],
      ['data/out', `${join(dir, 'data', 'out')} is inside the data folder`],
    ]) {
      const r = await cli(dir, 'backup', dest!, '--data-dir', 'data')
      expect(r.stderr).toContain(says!)
      expect(r.code).toBe(73)
    }
    expect(contents(dir)).toEqual(before)
  })

  test('that fails on the way exits 1 and removes what it wrote: a folder it made is gone, one it found empty is empty again', async () => {
    const { dir, dataDir, id } = await onePod()
    // The video's file cannot be read: a folder stands in its place.
    rmSync(join(dataDir, 'videos', `${id}.mp4`))
    mkdirSync(join(dataDir, 'videos', `${id}.mp4`))
    const made = await cli(dir, 'backup', 'new/out', '--data-dir', 'data')
    expect(made.stderr).toContain(`cannot read ${join(dataDir, 'videos', `${id}.mp4`)} (EISDIR)`)
    expect(made.code).toBe(1)
    expect(existsSync(join(dir, 'new'))).toBe(false)
    mkdirSync(join(dir, 'empty'))
    expect((await cli(dir, 'backup', 'empty', '--data-dir', 'data')).code).toBe(1)
    expect(readdirSync(join(dir, 'empty'))).toEqual([])
  })

  test('interrupted (Ctrl-C) while it copies, it exits 130 and removes what it wrote', async () => {
    const { dir, dataDir, id } = await onePod()
    const pipe = pipeAt(join(dataDir, 'videos', `${id}.mp4`))
    const child = spawnCli(['backup', 'out', '--data-dir', 'data'], { cwd: dir })
    try {
      const fd = await pipe.opened
      writeSync(fd, new Uint8Array(64 * 1024))
      child.proc.kill('SIGINT')
      closeSync(fd)
      expect(await child.exit()).toBe(130)
      expect(child.stderr).toContain('seedpod backup: interrupted: nothing was left behind')
      expect(existsSync(join(dir, 'out'))).toBe(false)
    } finally {
      child.kill()
    }
  })
})

describe('seedpod restore', () => {
  /** A backup of onePod()'s pod, made by the CLI. */
  async function backup(): Promise<{ dir: string; src: string; manifest: Manifest }> {
    const { dir } = await onePod()
    expect((await cli(dir, 'backup', 'backup', '--data-dir', 'data')).code).toBe(0)
    const src = join(dir, 'backup')
    return { dir, src, manifest: JSON.parse(readFileSync(join(src, 'manifest.json'), 'utf8')) as Manifest }
  }

  test('brings every file back as it was, into a new or an empty folder', async () => {
    const { dir, manifest } = await backup()
    mkdirSync(join(dir, 'empty'))
    for (const into of ['fresh/data', 'empty']) {
      const r = await cli(dir, 'restore', 'backup', '--data-dir', into)
      expect(r.stdout).toContain(`restored the pod ${manifest.fingerprint} into ${join(dir, into)}: 5 files`)
      expect(r.code).toBe(0)
      for (const f of manifest.files) expect(readFileSync(join(dir, into, f.path))).toEqual(readFileSync(join(dir, 'backup', f.path)))
      expect(listTree(join(dir, into)).filter((p) => p.includes('.'))).toEqual(manifest.files.map((f) => f.path).sort())
    }
  })

  test('from no backup exits 66; from a folder without a manifest (a backup that did not finish) exits 65; neither makes the data folder', async () => {
    const { dir } = await backup()
    const none = await cli(dir, 'restore', 'nowhere', '--data-dir', 'restored')
    expect(none.stderr).toContain(`there is no backup folder ${join(dir, 'nowhere')}`)
    expect(none.code).toBe(66)
    rmSync(join(dir, 'backup', 'manifest.json'))
    const unfinished = await cli(dir, 'restore', 'backup', '--data-dir', 'restored')
    expect(unfinished.stderr).toContain(`${join(dir, 'backup')} has no manifest.json: it is not a seedpod backup, or one that did not finish`)
    expect(unfinished.code).toBe(65)
    expect(existsSync(join(dir, 'restored'))).toBe(false)
  })

  test('of a damaged backup exits 65 naming what is damaged, and leaves the data folder as it found it', async () => {
    const { dir, src, manifest } = await backup()
    const video = manifest.files.find((f) => f.path.startsWith('videos/'))!
    const cases: [string, () => void, string][] = [
      [
        'a byte of a video changed',
        () => {
          const bytes = readFileSync(join(src, video.path))
          bytes[bytes.length - 1]! ^= 1
          writeFileSync(join(src, video.path), bytes)
        },
        `${join(src, video.path)} is damaged: its SHA-256 is not the manifest's`,
      ],
      ['a file gone', () => rmSync(join(src, video.path)), `the backup lacks ${video.path}, which its manifest lists`],
      [
        "another pod's key",
        () => writeFileSync(join(src, 'manifest.json'), JSON.stringify({ ...manifest, fingerprint: 'someone-else' })),
        `the backup's key is the pod ${manifest.fingerprint}'s, not someone-else's as its manifest says`,
      ],
      [
        'a path outside the data folder',
        () => writeFileSync(join(src, 'manifest.json'), JSON.stringify({ ...manifest, files: [...manifest.files, { ...video, path: '../outside' }] })),
        'names "../outside", which is not a file of a data folder',
      ],
      ['a manifest that is not JSON', () => writeFileSync(join(src, 'manifest.json'), '{"format": "seedpod-backup", '), 'manifest.json is damaged: it is not JSON'],
    ]
    mkdirSync(join(dir, 'empty'))
    const pristine = join(dir, 'pristine')
    cpSync(src, pristine, { recursive: true })
    for (const [what, damage, says] of cases) {
      rmSync(src, { recursive: true })
      cpSync(pristine, src, { recursive: true })
      damage()
      for (const into of ['restored', 'empty']) {
        const r = await cli(dir, 'restore', 'backup', '--data-dir', into)
        expect(`${what}: ${r.stderr}`).toContain(says)
        expect(r.code).toBe(65)
      }
      expect(existsSync(join(dir, 'restored'))).toBe(false)
      expect(readdirSync(join(dir, 'empty'))).toEqual([])
      expect(existsSync(join(dir, 'outside'))).toBe(false)
    }
  })

  test('into a data folder that is not empty exits 73 and changes nothing in it', async () => {
    const { dir } = await backup()
    const before = contents(join(dir, 'data'))
    const r = await cli(dir, 'restore', 'backup', '--data-dir', 'data')
    expect(r.stderr).toContain(`the data folder ${join(dir, 'data')} is not empty: give a new or empty folder`)
    expect(r.code).toBe(73)
    expect(contents(join(dir, 'data'))).toEqual(before)
  })
})
