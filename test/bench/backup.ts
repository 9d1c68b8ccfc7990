/**
 * Benchmark: `seedpod backup` and `seedpod restore` of a pod's data folder (10 own videos of
 * 100 MiB: 1000 MiB), each as the CLI runs it (a process: start, copy, hash, sync, check),
 * against `cp -r` of the same folder followed by `sync` (a copy that neither hashes nor checks).
 * Goal: each at most 2x that copy. Runs interleaved, median of 3.
 *
 * `bun test/bench/backup.ts` runs it; so does test/bench/run.ts.
 */
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { podFolder } from '../helpers/pod-folder'
import { CLI, removeTempDirs } from '../helpers/pods'

const RUNS = 3
const GOAL = 2
const MiB = 1024 * 1024
const VIDEOS = 10
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

/** Milliseconds `cmd` takes, run to its end (which must be 0), once what the step before wrote is on disk. */
function timed(cmd: string[], cwd: string): number {
  Bun.spawnSync(['sync'])
  const t0 = performance.now()
  const p = Bun.spawnSync(cmd, { cwd, stdout: 'ignore', stderr: 'pipe' })
  if (p.exitCode !== 0) throw new Error(`${cmd.join(' ')}: exit ${p.exitCode}: ${p.stderr.toString()}`)
  return performance.now() - t0
}

try {
  const pod = await podFolder(VIDEOS, 100 * MiB)
  const { dir } = pod
  const ms = { copy: [] as number[], backup: [] as number[], restore: [] as number[] }
  for (let i = 0; i < RUNS; i++) {
    ms.copy.push(timed(['sh', '-c', 'cp -r data copy && sync'], dir))
    rmSync(join(dir, 'copy'), { recursive: true })
    ms.backup.push(timed([process.execPath, CLI, 'backup', 'backup', '--data-dir', 'data'], dir))
    ms.restore.push(timed([process.execPath, CLI, 'restore', 'backup', '--data-dir', 'restored'], dir))
    for (const name of ['backup', 'restored']) rmSync(join(dir, name), { recursive: true })
  }
  const size = VIDEOS * 100
  const line = (what: string, xs: number[]) => {
    const ratio = median(xs) / median(ms.copy)
    return `  ${what.padEnd(9)} ${(median(xs) / 1000).toFixed(2)} s  ${(size / (median(xs) / 1000)).toFixed(0).padStart(4)} MiB/s  ${ratio.toFixed(2)}x  (goal <= ${GOAL}x: ${ratio <= GOAL ? 'met' : 'MISSED'})`
  }
  console.log(`backup and restore of a data folder of ${size} MiB (${VIDEOS} videos), median of ${RUNS}`)
  console.log(`  cp -r + sync ${(median(ms.copy) / 1000).toFixed(2)} s  ${(size / (median(ms.copy) / 1000)).toFixed(0).padStart(4)} MiB/s`)
  console.log(line('backup', ms.backup))
  console.log(line('restore', ms.restore))
} finally {
  removeTempDirs()
}
