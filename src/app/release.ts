/**
 * `npm run release`: the executable for every system seedpod is released for, cross-compiled
 * on this machine, into `dist/release/` with a `SHA256SUMS` file (`sha256sum -c SHA256SUMS`).
 *
 *   bun src/app/release.ts [--outdir DIR] [--target NAME]...    (NAME: a key of TARGETS)
 *
 * Each is `npm run build`'s executable (src/app/build.ts, pages bundled once for all) with
 * another system's Bun runtime inside. Bun fetches that runtime, of its own version, from the
 * npm registry (`https://registry.npmjs.org/@oven/bun-<os>-<arch>[-musl]`, fixed in Bun: the
 * npm configuration's registry is not used) at its first use, and keeps it in its install
 * cache (`$BUN_INSTALL_CACHE_DIR`, by default `~/.bun/install/cache`, as
 * `bun-<os>-<arch>-v<version>`); from then on a release needs no network. The executable for
 * this machine's own system is made from the running Bun.
 */
import { mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { VERSION } from '../shared/version'
import { compileExecutable, ENTRYPOINT } from './build'

/** The systems of a release, by the name in the file's name, with Bun's name of each. */
export const TARGETS = {
  'linux-x64': 'bun-linux-x64',
  'linux-arm64': 'bun-linux-arm64',
  'linux-x64-musl': 'bun-linux-x64-musl',
  'linux-arm64-musl': 'bun-linux-arm64-musl',
  'darwin-x64': 'bun-darwin-x64',
  'darwin-arm64': 'bun-darwin-arm64',
  'windows-x64': 'bun-windows-x64',
} as const satisfies Record<string, Bun.Build.CompileTarget>

export type ReleaseTarget = keyof typeof TARGETS

/** Where `npm run release` writes. */
const DEFAULT_OUTDIR = join(import.meta.dir, '..', '..', 'dist', 'release')

/** The checksums' file, in `sha256sum`'s format. */
export const SUMS_FILE = 'SHA256SUMS'

/** The name of a target's executable: `seedpod-0.1.0-linux-arm64`, `seedpod-0.1.0-windows-x64.exe`. */
export function releaseFile(target: ReleaseTarget, version = VERSION): string {
  return `seedpod-${version}-${target}${target.startsWith('windows') ? '.exe' : ''}`
}

/** One executable made. */
export interface Built {
  target: ReleaseTarget
  file: string
  bytes: number
  sha256: string
  /** Time its compilation took (the first: with the pages' bundle; each: with its runtime's download the first time). */
  ms: number
}

/** The SHA-256 of a file, read in chunks (the executables are 100 MB and more). */
async function sha256(path: string): Promise<string> {
  const hasher = new Bun.CryptoHasher('sha256')
  for await (const chunk of Bun.file(path).stream()) hasher.update(chunk)
  return hasher.digest('hex')
}

/**
 * Builds the executables of `targets` into `outdir` and writes its SHA256SUMS; earlier
 * executables and checksums there are removed first, so the file lists what the folder holds.
 * Throws what the build throws.
 */
export async function buildRelease(outdir: string, targets: readonly ReleaseTarget[] = Object.keys(TARGETS) as ReleaseTarget[]): Promise<Built[]> {
  mkdirSync(outdir, { recursive: true })
  for (const name of readdirSync(outdir)) if (name === SUMS_FILE || name.startsWith('seedpod-')) rmSync(join(outdir, name), { force: true })
  // Each executable is written in a folder of its own: the source maps Bun writes beside it
  // (it holds them already) have the same names for every target, and are not released.
  const work = mkdtempSync(join(outdir, '.build-'))
  const outputs = targets.map((target) => ({ target: TARGETS[target], outfile: join(work, target, releaseFile(target)) }))
  const times = new Map<string, number>()
  try {
    let last = performance.now()
    await compileExecutable(ENTRYPOINT, outputs, ({ outfile }) => {
      times.set(outfile, Math.round(performance.now() - last))
      last = performance.now()
    })
    const built: Built[] = []
    for (const [i, target] of targets.entries()) {
      const file = releaseFile(target)
      const path = join(outdir, file)
      renameSync(outputs[i]!.outfile, path)
      built.push({ target, file, bytes: statSync(path).size, sha256: await sha256(path), ms: times.get(outputs[i]!.outfile)! })
    }
    writeFileSync(join(outdir, SUMS_FILE), built.map((b) => `${b.sha256}  ${b.file}\n`).join(''))
    return built
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
}

if (import.meta.main) {
  const { values } = parseArgs({ args: process.argv.slice(2), options: { outdir: { type: 'string' }, target: { type: 'string', multiple: true } }, strict: true })
  const unknown = (values.target ?? []).filter((t) => !(t in TARGETS))
  if (unknown.length) {
    console.error(`unknown target ${unknown.join(', ')}: expected ${Object.keys(TARGETS).join(', ')}`)
    process.exit(2)
  }
  const outdir = resolve(values.outdir ?? DEFAULT_OUTDIR)
  try {
    const built = await buildRelease(outdir, values.target as ReleaseTarget[] | undefined)
    for (const b of built) console.log(`${b.file.padEnd(36)} ${(b.bytes / 1024 ** 2).toFixed(1).padStart(6)} MB  ${(b.ms / 1000).toFixed(1).padStart(5)} s`)
    console.log(`wrote ${built.length} executables and ${SUMS_FILE} into ${outdir}`)
  } catch (e) {
    console.error((e as Error).message)
    process.exit(1)
  }
}
