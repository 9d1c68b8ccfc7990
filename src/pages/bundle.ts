/**
 * Bundling the browser app of public/ (Preact, TSX) with Bun, in memory.
 *
 * Run from source, the pod serves this bundle itself (src/pages/assets.ts makes it at start),
 * so `npm start` and `npm test` need no build step. The executable's build
 * (src/app/build.ts) writes the same bundle to files and embeds them: both go through
 * `bundlePages`, so what a pod serves is bundled the same way however it runs.
 */
import { join } from 'node:path'
import { DomainError } from '../shared/errors'

/** The browser app's entry point. */
const PAGES_ENTRYPOINT = join(import.meta.dir, '..', '..', 'public', 'app.tsx')

/** One file of the page bundle, served by the pod at `/assets/<name>`. */
interface PageFile {
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
  if (!result.success) throw new DomainError('internal', 'bundle_failed', `bundling ${PAGES_ENTRYPOINT} failed:\n${result.logs.map(String).join('\n')}`)
  return result.outputs.map((o) => {
    const name = o.path.replace(/^\.\//, '')
    return { name, kind: o.kind, type: contentType(name, o.type), body: o }
  })
}

/** The Content-Type to serve a bundled file with: Bun's guess, with a charset for text. */
function contentType(name: string, given: string): string {
  if (name.endsWith('.map')) return 'application/json;charset=utf-8'
  if (name.endsWith('.js')) return 'text/javascript;charset=utf-8'
  if (name.endsWith('.css')) return 'text/css;charset=utf-8'
  return given || 'application/octet-stream'
}
