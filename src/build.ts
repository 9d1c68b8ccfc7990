/**
 * `npm run build`: compiles the pod into one executable, `dist/seedpod`, with pages and
 * assets embedded, that runs where neither Bun nor node_modules is installed.
 */
import { join } from 'node:path'

const root = join(import.meta.dir, '..')
const outfile = join(root, 'dist', 'seedpod')

const result = await Bun.build({
  entrypoints: [join(root, 'src', 'cli.ts')],
  compile: { outfile },
  minify: true,
  sourcemap: 'linked',
  bytecode: true,
  format: 'esm',
})
if (!result.success) {
  for (const message of result.logs) console.error(message)
  process.exit(1)
}
console.log(`built ${outfile}`)
