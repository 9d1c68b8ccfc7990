/**
 * A data folder made by the release before streams (commit d369429), for the upgrade tests:
 * that commit is extracted from this checkout's git history (`git archive`), runs on this
 * checkout's node_modules (a symlink: its dependencies are these, hls.js aside, which it does
 * not use), and is really run: `seedpod user add`, `seedpod serve`, uploads through its API,
 * its own transcoding, a clean stop. Without git or the commit (a shallow clone) the test
 * fails saying so: the check must not pass by not running.
 */
import { existsSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs'
import { join } from 'node:path'
import { BUN, Child, ROOT, tempDir, waitForPod } from './pods'
import { freePort } from './ports'

/** The last commit before streams (fb5990e "Streams: ..."). */
export const OLD_RELEASE = 'd369429'

/** The password of the old pod's admin account. */
export const OLD_PASSWORD = 'correct horse battery staple'

/** Runs a command to its end; its output in the error when it fails. */
function run(cmd: string[], cwd: string, what: string): void {
  const p = Bun.spawnSync(cmd, { cwd, stdout: 'ignore', stderr: 'pipe' })
  if (p.exitCode !== 0) throw new Error(`${what}: \`${cmd.join(' ')}\` failed (exit ${p.exitCode}): ${p.stderr.toString().trim()}`)
}

/**
 * The old release's source tree in a temp folder, with this checkout's node_modules. Throws a
 * clear error when git or the commit is missing, or a dependency of the old release does not
 * resolve from here.
 */
export function extractOldRelease(): string {
  if (!Bun.which('git')) throw new Error(`the upgrade check needs git: it builds commit ${OLD_RELEASE} from this checkout's history`)
  const found = Bun.spawnSync(['git', 'cat-file', '-e', `${OLD_RELEASE}^{commit}`], { cwd: ROOT, stderr: 'pipe' })
  if (found.exitCode !== 0)
    throw new Error(`the upgrade check needs commit ${OLD_RELEASE} (the release before streams) in this checkout's git history; a shallow clone lacks it (git fetch --unshallow): ${found.stderr.toString().trim()}`)
  const dir = join(tempDir('seedpod-old-release-'), 'seedpod')
  mkdirSync(dir)
  run(['sh', '-c', `git archive ${OLD_RELEASE} | tar -x -C '${dir}'`], ROOT, `extracting ${OLD_RELEASE}`)
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'))
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }
  for (const name of Object.keys(pkg.dependencies)) {
    try {
      Bun.resolveSync(name, dir)
    } catch (e) {
      throw new Error(`${OLD_RELEASE} depends on ${name}, which does not resolve from this checkout's node_modules: ${(e as Error).message}`)
    }
  }
  if (!existsSync(join(dir, 'src', 'cli.ts'))) throw new Error(`${OLD_RELEASE} has no src/cli.ts: not the release this helper knows`)
  return dir
}

/** A video to upload to the old pod: its file and name. */
export interface OldUpload {
  file: string
  name: string
}

/**
 * What the old pod made: its data folder, each upload's video id (in the order given), and
 * the port and URL it ran on (its .torrent files name its trackers there: a pod keeps its URL
 * across an upgrade).
 */
export interface OldData {
  dataDir: string
  ids: string[]
  port: number
  url: string
}

/**
 * Makes a data folder with the old release: an admin `alice`, the uploads, and the
 * renditions of `resolutions` (its transcoding, to its end), then stops the pod cleanly.
 */
export async function makeOldData(uploads: OldUpload[], resolutions: number[]): Promise<OldData> {
  const tree = extractOldRelease()
  const dataDir = join(tempDir('seedpod-old-data-'), 'data')
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  // Not childEnv(): that release knows no network.* keys, and refuses unknown ones.
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', SEEDPOD_TRANSCODING_RESOLUTIONS: resolutions.join(','), SEEDPOD_LOG_FORMAT: 'json' }
  const add = new Child([BUN, 'src/cli.ts', 'user', 'add', 'alice', '--admin', '--password-stdin', '--data-dir', dataDir], { cwd: tree, env, stdin: `${OLD_PASSWORD}\n` })
  if ((await add.exit(30_000)) !== 0) throw new Error(`the old release's user add failed: ${add.stderr}`)
  const pod = new Child([BUN, 'src/cli.ts', 'serve', '--data-dir', dataDir, '--port', String(port), '--host', '127.0.0.1', '--url', base], { cwd: tree, env })
  try {
    await waitForPod(base, pod, 30_000)
    const login = await fetch(`${base}/api/v1/auth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'alice', password: OLD_PASSWORD }) })
    if (!login.ok) throw new Error(`the old release's login: ${login.status} ${await login.text()}`)
    const { accessToken } = (await login.json()) as { accessToken: string }
    const ids: string[] = []
    for (const u of uploads) {
      const form = new FormData()
      form.append('name', u.name)
      form.append('file', Bun.file(u.file))
      const res = await fetch(`${base}/api/v1/videos`, { method: 'POST', headers: { authorization: `Bearer ${accessToken}` }, body: form })
      if (res.status !== 201) throw new Error(`the old release refused ${u.name}: ${res.status} ${await res.text()}`)
      ids.push(((await res.json()) as { id: string }).id)
    }
    // Its renditions, made by its own transcoder (H.264 MP4 files, no streams).
    const deadline = Date.now() + 120_000
    for (const id of ids) {
      for (;;) {
        const v = (await (await fetch(`${base}/api/v1/videos/${id}`)).json()) as { transcoding?: { state: string; error: string | null }[] }
        const failed = v.transcoding?.find((j) => j.state === 'failed')
        if (failed) throw new Error(`the old release failed to transcode ${id}: ${failed.error}`)
        if ((v.transcoding ?? []).every((j) => j.state === 'done')) break
        if (Date.now() > deadline) throw new Error(`the old release did not finish transcoding ${id} in 120 s`)
        await Bun.sleep(200)
      }
    }
    pod.proc.kill('SIGTERM')
    const code = await pod.exit(30_000)
    if (code !== 0) throw new Error(`the old release did not stop cleanly (exit ${code}): ${pod.stderr}`)
    return { dataDir, ids, port, url: base }
  } finally {
    pod.kill()
  }
}
