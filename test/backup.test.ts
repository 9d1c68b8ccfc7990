/**
 * `seedpod backup` and `seedpod restore` as an admin runs them (child processes of the CLI),
 * on a real pod that runs as a child process too: a backup taken while an upload is under way
 * and changes fan out to a friend, restored into an empty folder and served on another port,
 * is the same pod (fingerprint, accounts), every video of it plays byte for byte as before, and
 * its friend takes its messages. (A database that changes during the copy, and bad inputs:
 * test/backup-cli.test.ts; a bucket: test/backup-s3.test.ts.)
 */
import { afterAll, expect, setDefaultTimeout, test } from 'bun:test'
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Manifest } from '../src/backup/model'
import { makeClip, sha256 } from './helpers/clips'
import { netPod, stopPods, until } from './helpers/network'
import { childEnv, removeTempDirs, runCli, spawnCli, tempDir, waitForPod, type Child } from './helpers/pods'
import { freePort } from './helpers/ports'
import { uploadVideo } from './helpers/videos'

setDefaultTimeout(120_000)
afterAll(stopPods)
afterAll(removeTempDirs)

const PASSWORD = 'correct horse battery'
const env = childEnv({ SEEDPOD_RETRY_BASE_MS: '50', SEEDPOD_RETRY_FACTOR: '1', SEEDPOD_LOG_FORMAT: 'json' })

/** Serves a pod from the CLI and waits for it. */
async function serve(cwd: string, args: string[], port: number): Promise<Child> {
  const child = spawnCli(['serve', ...args], { cwd, env })
  await waitForPod(`http://127.0.0.1:${port}`, child)
  return child
}

/** Stops a served pod with SIGTERM; it exits 0. */
async function stop(child: Child): Promise<void> {
  child.proc.kill('SIGTERM')
  expect(await child.exit()).toBe(0)
}

/**
 * An upload whose body comes in two halves: the pod receives the first (its file is then in
 * tmp/) and waits for the second until `finish` is called.
 */
function slowUpload(base: string, token: string, clip: Uint8Array, name: string): { finish(): void; response: Promise<Response> } {
  const boundary = `----seedpod${crypto.randomUUID()}`
  const head = `--${boundary}\r\nContent-Disposition: form-data; name="name"\r\n\r\n${name}\r\n--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="clip.mp4"\r\nContent-Type: video/mp4\r\n\r\n`
  const { promise: released, resolve: finish } = Promise.withResolvers<void>()
  const half = Math.floor(clip.length / 2)
  const body = new ReadableStream<Uint8Array>({
    async start(controller) {
      controller.enqueue(new TextEncoder().encode(head))
      controller.enqueue(clip.subarray(0, half))
      await released
      controller.enqueue(clip.subarray(half))
      controller.enqueue(new TextEncoder().encode(`\r\n--${boundary}--\r\n`))
      controller.close()
    },
  })
  const response = fetch(`${base}/api/v1/videos`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': `multipart/form-data; boundary=${boundary}` }, body })
  return { finish, response }
}

/** Alice's access token on the pod at `base`. */
async function logIn(base: string): Promise<string> {
  const res = await fetch(`${base}/api/v1/auth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'alice', password: PASSWORD }) })
  expect(res.status).toBe(200)
  return ((await res.json()) as { accessToken: string }).accessToken
}

/** What a viewer gets of a video: its web seed's bytes (their SHA-256) and its playlists' texts. */
async function playback(base: string, id: string): Promise<{ webseed: string; master: string; media: string }> {
  const video = (await (await fetch(`${base}/api/v1/videos/${id}`)).json()) as { webseedUrls: string[] }
  const webseed = await fetch(video.webseedUrls[0]!.replace(/^https?:\/\/[^/]+/, base))
  expect(webseed.status).toBe(200)
  const bytes = new Uint8Array(await webseed.arrayBuffer())
  const master = await (await fetch(`${base}/static/hls/${id}/master.m3u8`)).text()
  const first = master.split('\n').find((l) => l.endsWith('.m3u8'))!
  const media = await (await fetch(`${base}/static/hls/${id}/${first}`)).text()
  return { webseed: new Bun.CryptoHasher('sha256').update(bytes).digest('hex'), master, media }
}

test('a backup of a running pod, taken during an upload and a fan-out, restores on another port as the same pod: same fingerprint and accounts, its videos play byte for byte, its friend takes its messages', async () => {
  const dir = tempDir()
  const clip = await makeClip(dir, { seconds: 2 })
  const friend = await netPod({ retry: { baseMs: 50, factor: 1, retries: 8 } })
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  writeFileSync(join(dir, 'pod.toml'), `url = "${url}"\nport = ${port}\nhost = "127.0.0.1"\ndataDir = "data"\n\n[transcoding]\nenabled = false\n`)
  expect((await runCli(['user', 'add', 'alice', '--password-stdin', '--config', 'pod.toml'], { cwd: dir, env, stdin: PASSWORD })).code).toBe(0)
  let pod = await serve(dir, ['--config', 'pod.toml'], port)
  try {
    expect((await friend.running.pod.making.makeFriends([url]))[0]!.status).toBe('added')
    let token = await logIn(url)
    const uploaded = await uploadVideo(url, token, { file: Bun.file(clip), name: 'Before the backup' })
    expect(uploaded.status).toBe(201)
    const { id } = (await uploaded.json()) as { id: string }
    const atFriend = async (video: string) => (await fetch(`${friend.base}/api/v1/videos/${video}`)).json() as Promise<{ name?: string; podUrl?: string }>
    await until(async () => (await atFriend(id)).name === 'Before the backup', 15_000, 'the video at the friend')

    // While the backup runs: an upload half received, and the video renamed again and again, each change fanned out to the friend.
    const rename = (name: string, base = url) =>
      fetch(`${base}/api/v1/videos/${id}`, { method: 'PATCH', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ name }) })
    const upload = slowUpload(url, token, readFileSync(clip), 'During the backup')
    await until(() => readdirSync(join(dir, 'data', 'tmp')).length > 0, 10_000, 'the upload under way')
    let backingUp = true
    const edits = (async () => {
      let n = 0
      while (backingUp) expect((await rename(`Edit ${++n}`)).status).toBe(200)
      return n
    })()
    await until(async () => (await atFriend(id)).name?.startsWith('Edit '), 10_000, 'the fan-out under way')
    const started = performance.now()
    const made = await runCli(['backup', 'backup', '--config', 'pod.toml'], { cwd: dir, env })
    const took = performance.now() - started
    backingUp = false
    const lastEdit = await edits
    expect(made.stderr).toBe('')
    expect(made.code).toBe(0)
    upload.finish()
    const late = await upload.response
    expect(late.status).toBe(201)
    const { id: lateId } = (await late.json()) as { id: string }
    await until(async () => (await atFriend(lateId)).name === 'During the backup' && (await atFriend(id)).name === `Edit ${lastEdit}`, 15_000, 'the fan-out done')

    // The backup: the database, the keys, the configuration and the files of the video the database names, each as its manifest says.
    const backup = join(dir, 'backup')
    const manifest = JSON.parse(readFileSync(join(backup, 'manifest.json'), 'utf8')) as Manifest
    const paths = manifest.files.map((f) => f.path)
    expect(paths).toEqual(expect.arrayContaining(['seedpod.db', 'keys/pod.key', 'keys/token.secret', `videos/${id}.mp4`, `videos/${id}.m3u8`, `thumbnails/${id}.jpg`]))
    expect(paths.filter((p) => p.includes(lateId))).toEqual([])
    for (const f of [...manifest.files, manifest.config!]) expect(`${f.path} ${await sha256(join(backup, f.path))}`).toBe(`${f.path} ${f.sha256}`)
    expect(readFileSync(join(backup, 'seedpod.toml'), 'utf8')).toBe(readFileSync(join(dir, 'pod.toml'), 'utf8'))
    expect([...new Bun.Glob('**').scanSync({ cwd: backup, dot: true })].sort()).toEqual([...paths, 'manifest.json', 'seedpod.toml'].sort())
    expect(manifest.missing).toEqual([])
    const size = manifest.files.reduce((n, f) => n + f.size, 0)
    console.log(`backup of a running pod (1 video): ${manifest.files.length} files, ${(size / 1024).toFixed(0)} KiB, ${took.toFixed(0)} ms (the whole command)`)

    const before = await playback(url, id)
    const fingerprint = ((await (await fetch(`${url}/api/v1/pod`)).json()) as { fingerprint: string }).fingerprint
    await stop(pod)

    // Restored into an empty folder, with the backup's own configuration, on another port.
    const restoredAt = performance.now()
    const restored = await runCli(['restore', 'backup', '--data-dir', 'restored'], { cwd: dir, env })
    const restoreTook = performance.now() - restoredAt
    expect(restored.stderr).toBe('')
    expect(restored.stdout).toContain(`restored the pod ${fingerprint} into ${join(dir, 'restored')}`)
    expect(restored.stdout).toContain(`the pod's configuration is in the backup (${join(dir, 'backup', 'seedpod.toml')})`)
    expect(restored.code).toBe(0)
    console.log(`restore: ${restoreTook.toFixed(0)} ms (the whole command)`)
    const port2 = await freePort()
    const url2 = `http://127.0.0.1:${port2}`
    pod = await serve(dir, ['--config', 'backup/seedpod.toml', '--data-dir', 'restored', '--port', String(port2), '--url', url2], port2)
    const info = (await (await fetch(`${url2}/api/v1/pod`)).json()) as { fingerprint: string }
    expect(info.fingerprint).toBe(fingerprint)
    expect(await playback(url2, id)).toEqual(before)
    // The upload that finished after the backup is not in it.
    expect((await fetch(`${url2}/api/v1/videos/${lateId}`)).status).toBe(404)
    // Logins name the pod's URL, which changed: alice logs in again, with her password, and her change reaches the friend, from the new URL.
    expect((await rename('Old login', url2)).status).toBe(401)
    token = await logIn(url2)
    expect((await rename('After the restore', url2)).status).toBe(200)
    await until(async () => {
      const v = await atFriend(id)
      return v.name === 'After the restore' && v.podUrl === url2
    }, 15_000, 'the change at the friend')
  } finally {
    pod.kill()
  }
})
