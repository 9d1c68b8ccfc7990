/**
 * The page files embedded in the executable, or undefined when the pod runs from source.
 *
 * This committed module serves runs from source: `compileExecutable` (src/app/build.ts) replaces it,
 * for the executable's build only, with a generated module that imports every bundled page
 * file `with { type: 'file' }` (which makes Bun embed them) and lists them with their paths
 * inside the executable. Run from source, the pod bundles public/ itself at start.
 */

/** One embedded page file. */
export interface EmbeddedPageFile {
  /** File name with its content hash, served at `/assets/<name>`. */
  name: string
  /** `entry-point`, `chunk`, `asset` or `sourcemap`. */
  kind: string
  /** Content-Type. */
  type: string
  /** Its path inside the executable, for Bun.file. */
  path: string
}

export const embedded: EmbeddedPageFile[] | undefined = undefined
