/**
 * Restart cost: a pod with 100, 200 and 1,000 own videos is stopped and started again; how
 * long until it answers `/api/v1/pod`, until a web-seed range of its last video is served,
 * and until its seeder seeds every video over TCP again (from the stored .torrent files,
 * without re-hashing). Goals: serving in under 2 s with 200 videos (videos issue), flat and
 * under 1 s for 100 and 1,000 (seeding on demand).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { resolveConfig } from '../../src/shared/config'
import { createLogger } from '../../src/shared/log'
import { startPod } from '../../src/app/server'
import { makeClip } from '../helpers/clips'
import { seedVideos } from '../helpers/videos'
import { freePort } from '../helpers/ports'

async function measure(dir: string, clip: string, count: number): Promise<string> {
  const port = await freePort()
  const config = resolveConfig([{ source: 'bench', values: { host: '127.0.0.1', port, url: `http://127.0.0.1:${port}`, dataDir: join(dir, `pod${count}`), log: { level: 'debug' } } }])
  let seeded = 0
  const log = createLogger({ level: 'debug', format: 'json', write: (line) => line.includes('"seeder.seeding"') && seeded++ })
  let running = await startPod(config, log)
  const videos = await seedVideos({ pod: running.pod, base: `http://127.0.0.1:${port}` }, clip, count)
  await running.stop()
  seeded = 0
  const t0 = performance.now()
  running = await startPod(config, log)
  const base = `http://127.0.0.1:${running.port}`
  await fetch(`${base}/api/v1/pod`)
  const tPod = performance.now() - t0
  const res = await fetch(`${base}/static/webseed/${videos.at(-1)!.id}.mp4`, { headers: { range: 'bytes=0-1023' } })
  if (res.status !== 206) throw new Error(`web seed answered ${res.status}`)
  const tSeed = performance.now() - t0
  // Seeding on demand: a watch page asks for the last video; how long until it seeds over TCP.
  const t1 = performance.now()
  await fetch(`${base}/api/v1/videos/${videos.at(-1)!.id}`)
  while (seeded < 1 && performance.now() - t1 < 10_000) await Bun.sleep(1)
  const tTcp = performance.now() - t1
  await running.stop()
  return `restart with ${count} videos: /api/v1/pod after ${tPod.toFixed(0)} ms, web seed after ${tSeed.toFixed(0)} ms; a watched video seeds over TCP ${tTcp.toFixed(0)} ms after it is asked for`
}

/** Measures restart times for several library sizes. */
export async function run(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'seedpod-bench-restart-'))
  try {
    const clip = await makeClip(dir, { seconds: 2 })
    const lines = []
    for (const n of [100, 200, 1000]) lines.push(await measure(dir, clip, n))
    for (const l of lines) console.log(l)
    console.log('restart: goal serving < 2000 ms with 200 videos; flat and < 1000 ms for 100 and 1000')
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

if (import.meta.main) await run()
