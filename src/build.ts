/**
 * `npm run build`: compiles the pod into one executable, `dist/seedpod`, with pages and
 * assets embedded, that runs where neither Bun nor node_modules is installed.
 *
 *   bun src/build.ts [--outfile FILE]
 *
 * `compileExecutable` is also what the tests and the benchmark use, so that what they run is
 * built exactly the way releases are.
 */
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'

const root = join(import.meta.dir, '..')

/** Where `npm run build` writes the executable. */
export const DEFAULT_OUTFILE = join(root, 'dist', 'seedpod')

/** The pod's entry point. */
export const ENTRYPOINT = join(root, 'src', 'cli.ts')

/** Compiles `entrypoint` into a self-contained executable at `outfile`; throws with Bun's messages on failure. */
export async function compileExecutable(entrypoint: string, outfile: string): Promise<void> {
  const result = await Bun.build({
    entrypoints: [entrypoint],
    compile: { outfile },
    minify: true,
    sourcemap: 'linked',
    bytecode: true,
    format: 'esm',
  })
  if (!result.success) throw new Error(`build of ${entrypoint} failed:\n${result.logs.map(String).join('\n')}`)
}

if (import.meta.main) {
  const { values } = parseArgs({ args: process.argv.slice(2), options: { outfile: { type: 'string' } }, strict: true })
  const outfile = values.outfile ? resolve(values.outfile) : DEFAULT_OUTFILE
  try {
    await compileExecutable(ENTRYPOINT, outfile)
  } catch (e) {
    console.error((e as Error).message)
    process.exit(1)
  }
  console.log(`built ${outfile}`)
}
