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

/**
 * Native add-ons that dependencies load if they can and do without otherwise. An executable
 * cannot embed them (node-gyp-build looks them up at run time by path), so compiled as they
 * are they would be loaded from the build machine's node_modules where that exists, and
 * print a warning elsewhere. In the executable they are replaced by what their users take
 * for "not available":
 * - utp-native (WebTorrent's uTP; the seeder runs with `utp: false`): an empty module;
 * - fs-native-extensions (random-access-file's locking and sparse files): a module that throws.
 */
export const NATIVE_STUBS: Record<string, string> = {
  'utp-native': 'module.exports = {}',
  'fs-native-extensions': "throw new Error('fs-native-extensions is not in the seedpod executable')",
}

const nativeStubs: Bun.BunPlugin = {
  name: 'seedpod-native-stubs',
  setup(build) {
    const filter = new RegExp(`^(${Object.keys(NATIVE_STUBS).join('|')})$`)
    build.onResolve({ filter }, (args) => ({ path: args.path, namespace: 'native-stub' }))
    build.onLoad({ filter: /.*/, namespace: 'native-stub' }, (args) => ({ contents: NATIVE_STUBS[args.path]!, loader: 'js' }))
  },
}

/** Compiles `entrypoint` into a self-contained executable at `outfile`; throws with Bun's messages on failure. */
export async function compileExecutable(entrypoint: string, outfile: string): Promise<void> {
  const result = await Bun.build({
    entrypoints: [entrypoint],
    // The pod takes its settings from its TOML file, SEEDPOD_* variables and flags only: a
    // .env or bunfig.toml in whatever folder it is started from must not change it.
    compile: { outfile, autoloadDotenv: false, autoloadBunfig: false },
    minify: true,
    sourcemap: 'linked',
    bytecode: true,
    format: 'esm',
    plugins: [nativeStubs],
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
