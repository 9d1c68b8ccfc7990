/**
 * `npm run bench`: runs every benchmark file in test/bench/ (each `*.ts` beside this one),
 * one after the other, each in a process of its own so that none inherits another's memory,
 * JIT state or open sockets, and prints what they print.
 *
 *   bun test/bench/run.ts [NAME...]     only the named benchmarks (file names without .ts)
 *
 * Benchmarks print their numbers and goals; they never fail on a missed goal (numbers depend
 * on the machine). The run fails only if a benchmark itself fails.
 */
import { readdirSync } from 'node:fs'
import { basename, join } from 'node:path'

const dir = import.meta.dir
const only = process.argv.slice(2)
const files = readdirSync(dir, { withFileTypes: true })
  .filter((e) => e.isFile() && e.name.endsWith('.ts') && e.name !== 'run.ts' && !e.name.endsWith('.d.ts'))
  .map((e) => e.name)
  .filter((name) => only.length === 0 || only.includes(basename(name, '.ts')))
  .sort()

if (files.length === 0) {
  console.error(`no benchmark matches ${only.join(', ')} in ${dir}`)
  process.exit(2)
}

const failed: string[] = []
const started = performance.now()
for (const name of files) {
  console.log(`\n== ${basename(name, '.ts')} ==`)
  const t0 = performance.now()
  const proc = Bun.spawn([process.execPath, join(dir, name)], { cwd: join(dir, '..', '..'), stdout: 'inherit', stderr: 'inherit' })
  const code = await proc.exited
  const seconds = ((performance.now() - t0) / 1000).toFixed(1)
  if (code === 0) console.log(`(${name}: ${seconds} s)`)
  else {
    console.log(`(${name}: FAILED with exit code ${code} after ${seconds} s)`)
    failed.push(name)
  }
}
console.log(`\n${files.length - failed.length} of ${files.length} benchmarks ran in ${((performance.now() - started) / 1000).toFixed(0)} s`)
if (failed.length) {
  console.log(`failed: ${failed.join(', ')}`)
  process.exit(1)
}
