/**
 * `npm run build`: compiles the pod into one executable, `dist/seedpod`, with pages and
 * assets embedded, that runs where neither Bun nor node_modules is installed.
 *
 *   bun src/app/build.ts [--outfile FILE]
 *   bun src/app/build.ts --pages-only       (bundle public/ into public/dist/ and stop)
 *
 * `compileExecutable` is also what the tests and the benchmark use, so that what they run is
 * built exactly the way releases are.
 *
 * Pages: the browser app in public/ (Preact, TSX) is bundled by `bundlePages`. Run from
 * source, the pod bundles it in memory at start (src/pages/routes.ts), so `npm start` and
 * `npm test` need no build step. For the executable, the bundle is written to a temporary
 * folder and public/embedded.ts is replaced, for this compilation only (Bun.build's `files`
 * override), by a module that imports every bundled file `with { type: 'file' }`: that is
 * what makes `bun build --compile` embed them, and gives the pod their paths inside the
 * executable. Nothing generated is ever imported by committed code, so a clean checkout
 * type-checks and runs.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { LAZY_MODULES } from './lazy'

const root = join(import.meta.dir, '..', '..')

/** Where `npm run build` writes the executable. */
export const DEFAULT_OUTFILE = join(root, 'dist', 'seedpod')

/** The pod's entry point. */
export const ENTRYPOINT = join(root, 'src', 'app', 'cli.ts')

/** The browser app's entry point. */
export const PAGES_ENTRYPOINT = join(root, 'public', 'app.tsx')

/**
 * The modules the pod loads at first use (src/app/lazy.ts): entry points of their own in the
 * executable, beside the main one, so they are not part of the bundle loaded at start. They
 * sit below the main entry point's folder, so the relative specifiers of src/app/lazy.ts find
 * them in the executable's file system as they do in the checkout.
 */
export const LAZY_ENTRYPOINTS = Object.values(LAZY_MODULES).map((spec) => join(root, 'src', 'app', spec))

/** The module the executable's build replaces with the list of embedded page files. */
export const EMBEDDED_MODULE = join(root, 'public', 'embedded.ts')

/** Where `--pages-only` writes the bundle, to look at (gitignored). */
export const PAGES_OUTDIR = join(root, 'public', 'dist')

/** One file of the page bundle, served by the pod at `/assets/<name>`. */
export interface PageFile {
  /** File name, with its content hash: `app-1a2b3c4d.js`. */
  name: string
  /** `entry-point` (the app's script), `chunk`, `asset` or `sourcemap`. */
  kind: string
  /** Content-Type to serve it with. */
  type: string
}

/** The bundle in memory: each file's description and bytes. */
export type PageBundle = (PageFile & { body: Blob })[]

/** Bundles public/ for browsers; throws with Bun's messages on failure. */
export async function bundlePages(): Promise<PageBundle> {
  const result = await Bun.build({
    entrypoints: [PAGES_ENTRYPOINT],
    target: 'browser',
    format: 'esm',
    // The app (public/main.tsx) is a chunk of its own, loaded after a watch page's quick start.
    splitting: true,
    minify: true,
    sourcemap: 'linked',
    // Hashed names: the HTML (never cached) names them, so they can be cached forever.
    naming: { entry: '[name]-[hash].[ext]', chunk: '[name]-[hash].[ext]', asset: '[name]-[hash].[ext]' },
    define: { 'process.env.NODE_ENV': '"production"' },
    throw: false,
  })
  if (!result.success) throw new Error(`bundling ${PAGES_ENTRYPOINT} failed:\n${result.logs.map(String).join('\n')}`)
  return result.outputs.map((o) => {
    const name = o.path.replace(/^\.\//, '')
    return { name, kind: o.kind, type: contentType(name, o.type), body: o }
  })
}

function contentType(name: string, given: string): string {
  if (name.endsWith('.map')) return 'application/json;charset=utf-8'
  if (name.endsWith('.js')) return 'text/javascript;charset=utf-8'
  if (name.endsWith('.css')) return 'text/css;charset=utf-8'
  return given || 'application/octet-stream'
}

/**
 * Writes the bundle to `outdir` (emptied first) and returns the source of the module that
 * stands in for public/embedded.ts in the executable: it imports each file `with { type:
 * 'file' }` (so `bun build --compile` embeds it) and exports the list with their paths.
 */
export async function writePages(outdir: string = PAGES_OUTDIR): Promise<string> {
  const bundle = await bundlePages()
  rmSync(outdir, { recursive: true, force: true })
  mkdirSync(outdir, { recursive: true })
  const imports: string[] = []
  const entries: string[] = []
  for (const [i, f] of bundle.entries()) {
    writeFileSync(join(outdir, f.name), new Uint8Array(await f.body.arrayBuffer()))
    imports.push(`import f${i} from ${JSON.stringify(join(outdir, f.name))} with { type: 'file' }`)
    entries.push(`  { name: ${JSON.stringify(f.name)}, kind: ${JSON.stringify(f.kind)}, type: ${JSON.stringify(f.type)}, path: f${i} },`)
  }
  return `// Generated by src/app/build.ts for the executable; see public/embedded.ts.\n${imports.join('\n')}\nexport const embedded = [\n${entries.join('\n')}\n]\n`
}

/**
 * Native add-ons that dependencies load if they can and do without otherwise. An executable
 * cannot embed them (node-gyp-build looks them up at run time by path), so compiled as they
 * are they would be loaded from the build machine's node_modules where that exists, and
 * print a warning elsewhere. In the executable they are replaced by what their users take
 * for "not available":
 * - utp-native (WebTorrent's uTP; the seeder runs with `utp: false`): an empty module;
 * - fs-native-extensions (random-access-file's locking and sparse files): a module that throws.
 */
export const NATIVE_ABSENT: Record<string, string> = {
  'utp-native': 'module.exports = {}',
  'fs-native-extensions': "throw new Error('fs-native-extensions is not in the seedpod executable')",
}

const nativeAbsent: Bun.BunPlugin = {
  name: 'seedpod-native-absent',
  setup(build) {
    const filter = new RegExp(`^(${Object.keys(NATIVE_ABSENT).join('|')})$`)
    build.onResolve({ filter }, (args) => ({ path: args.path, namespace: 'native-absent' }))
    build.onLoad({ filter: /.*/, namespace: 'native-absent' }, (args) => ({ contents: NATIVE_ABSENT[args.path]!, loader: 'js' }))
  },
}

/**
 * Compiles `entrypoint` into a self-contained executable at `outfile`; throws with Bun's
 * messages on failure. The pod's own entry point gets the pages embedded and its lazy modules.
 */
export async function compileExecutable(entrypoint: string, outfile: string): Promise<void> {
  const pod = resolve(entrypoint) === ENTRYPOINT
  // A folder of its own for this build's page files: two builds at once (tests) cannot clash.
  const pagesDir = pod ? mkdtempSync(join(tmpdir(), 'seedpod-pages-')) : undefined
  try {
    const files = pagesDir ? { [EMBEDDED_MODULE]: await writePages(pagesDir) } : undefined
    const result = await Bun.build({
      entrypoints: pod ? [entrypoint, ...LAZY_ENTRYPOINTS] : [entrypoint],
      // The pod takes its settings from its TOML file, SEEDPOD_* variables and flags only: a
      // .env or bunfig.toml in whatever folder it is started from must not change it.
      compile: { outfile, autoloadDotenv: false, autoloadBunfig: false },
      minify: true,
      sourcemap: 'linked',
      bytecode: true,
      format: 'esm',
      files,
      plugins: [nativeAbsent],
    })
    if (!result.success) throw new Error(`build of ${entrypoint} failed:\n${result.logs.map(String).join('\n')}`)
  } finally {
    if (pagesDir) rmSync(pagesDir, { recursive: true, force: true })
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: { outfile: { type: 'string' }, 'pages-only': { type: 'boolean' } },
    strict: true,
  })
  try {
    if (values['pages-only']) {
      await writePages()
      console.log(`bundled pages into ${PAGES_OUTDIR}`)
    } else {
      const outfile = values.outfile ? resolve(values.outfile) : DEFAULT_OUTFILE
      await compileExecutable(ENTRYPOINT, outfile)
      console.log(`built ${outfile}`)
    }
  } catch (e) {
    console.error((e as Error).message)
    process.exit(1)
  }
}
