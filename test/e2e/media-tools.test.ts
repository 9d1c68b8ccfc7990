/**
 * A pod started with a PATH that has no ffmpeg nor ffprobe (`seedpod serve` as a child
 * process): it says so once in plain words on stderr and in its log, serves its pages, makes
 * friends and takes their videos into its index, refuses uploads with a 503 that says why
 * (storing nothing), and shows why on `GET /api/v1/health` and on the admin page (Chromium).
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import type { Browser } from 'playwright-core'
import { makeClip } from '../helpers/clips'
import { indexIds, netPod, publish, stopPods, until } from '../helpers/network'
import { childEnv, type Child, listTree, logLines, removeTempDirs, runCli, spawnCli, tempDir, waitForPod } from '../helpers/pods'
import { freePort } from '../helpers/ports'
import { uploadVideo } from '../helpers/videos'
import { launch, logIn, PASSWORD, screenshot, viewer } from './browser'

afterAll(removeTempDirs)

const TIMEOUT = 60_000
let browser: Browser
let pod: Child
let base: string
let dir: string
let token: string

beforeAll(async () => {
  dir = tempDir('seedpod-no-ffmpeg-')
  // A PATH of one empty folder: nothing on it, ffmpeg least of all.
  const env = childEnv({ PATH: tempDir('seedpod-empty-path-') })
  expect(Bun.which('ffmpeg', { PATH: env.PATH })).toBeNull()
  const add = await runCli(['user', 'add', 'root', '--admin', '--password-stdin', '--data-dir', 'data'], { cwd: dir, env, stdin: `${PASSWORD}\n` })
  if (add.code !== 0) throw new Error(`user add: ${add.stderr}`)
  const port = await freePort()
  base = `http://127.0.0.1:${port}`
  pod = spawnCli(['serve', '--host', '127.0.0.1', '--port', String(port), '--url', base, '--data-dir', 'data', '--log-format', 'json'], { cwd: dir, env })
  ;[browser] = await Promise.all([launch(), waitForPod(base, pod)])
  const login = await fetch(`${base}/api/v1/auth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'root', password: PASSWORD }) })
  token = ((await login.json()) as { accessToken: string }).accessToken
}, 120_000)

afterAll(async () => {
  await browser?.close()
  await stopPods()
  pod?.kill()
}, 30_000)

describe('a pod without ffmpeg', () => {
  test('says so once on stderr in plain words, with how to install it, and in its log', async () => {
    await until(() => logLines(pod.stderr).some((l) => l.event === 'pod.started'), 10_000, 'pod.started')
    const plain = pod.stderr.split('\n').filter((l) => !l.startsWith('{'))
    expect(plain.filter((l) => l.startsWith('seedpod: '))).toEqual([
      'seedpod: ffmpeg and ffprobe were not found on the PATH. The pod serves videos and federates, but refuses uploads and does not transcode until ffmpeg and ffprobe are installed and the pod is restarted.',
    ])
    expect(plain).toEqual(expect.arrayContaining(['    Debian, Ubuntu: sudo apt install ffmpeg', '    macOS: brew install ffmpeg']))
    const missing = logLines(pod.stderr).filter((l) => l.event === 'media.tools.missing')
    expect(missing).toHaveLength(1)
    expect(missing[0]).toMatchObject({ level: 'warn', problem: expect.stringContaining('ffmpeg and ffprobe were not found on the PATH') })
  })

  test('GET /api/v1/health says why; its pages are served', async () => {
    const health = (await (await fetch(`${base}/api/v1/health`)).json()) as { ok: boolean; media: { ready: boolean; problem: string } }
    expect(health.ok).toBe(true)
    expect(health.media.ready).toBe(false)
    expect(health.media.problem).toContain('refuses uploads')
    expect((await fetch(`${base}/`)).status).toBe(200)
  })

  test('refuses an upload with 503 media_tools_missing, and keeps nothing of it', async () => {
    const clip = await makeClip(tempDir())
    const before = listTree(join(dir, 'data'))
    const res = await uploadVideo(base, token, { file: Bun.file(clip), name: 'Never stored' })
    expect(res.status).toBe(503)
    const body = (await res.json()) as { error: { code: string; message: string } }
    expect(body.error.code).toBe('media_tools_missing')
    expect(body.error.message).toContain('ffmpeg and ffprobe were not found on the PATH')
    // No local path in an answer.
    expect(body.error.message).not.toContain(dir)
    expect(((await (await fetch(`${base}/api/v1/videos`)).json()) as { total: number }).total).toBe(0)
    expect(listTree(join(dir, 'data')).filter((f) => !f.startsWith('seedpod.db'))).toEqual(before.filter((f) => !f.startsWith('seedpod.db')))
    expect(readdirSync(join(dir, 'data', 'tmp'))).toEqual([])
    // Without a login it is still a 401: strangers learn nothing of the pod's tools.
    expect((await uploadVideo(base, undefined, { file: Bun.file(clip), name: 'x' })).status).toBe(401)
  }, TIMEOUT)

  test('makes friends and takes a friend\'s videos into its index', async () => {
    const friend = await netPod()
    await friend.running.pod.making.makeFriends([base])
    const v = publish(friend, { name: 'From a friend with ffmpeg' })
    await until(async () => ((await (await fetch(`${base}/api/v1/videos`)).json()) as { data: { id: string }[] }).data.some((d) => d.id === v.id), 10_000, "the friend's video in the index")
    expect(indexIds(friend)).toContain(v.id)
  }, TIMEOUT)

  test('the admin page says why uploads are refused and how to install ffmpeg', async () => {
    const { page, errors, context } = await viewer(browser)
    await logIn(page, base, 'root', '/admin')
    const alert = page.locator('.media-tools')
    await alert.waitFor()
    expect(await alert.textContent()).toContain('Uploads are refused. ffmpeg and ffprobe were not found on the PATH.')
    expect(await alert.textContent()).toContain('Install them (Debian, Ubuntu: sudo apt install ffmpeg')
    await screenshot(page, 'admin-no-ffmpeg')
    expect(errors).toEqual([])
    await context.close()
  }, TIMEOUT)

  test('stops on SIGTERM with exit 0', async () => {
    pod.proc.kill('SIGTERM')
    expect(await pod.exit()).toBe(0)
    expect(logLines(pod.stderr).filter((l) => l.level === 'error')).toEqual([])
  })
})
