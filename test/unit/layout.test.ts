/**
 * The layout of the code base, read off its import graph (every .ts and .tsx file under src/,
 * actors/ and public/; type imports count as much as value imports):
 * - no import cycles;
 * - actors/ takes nothing but types from src/;
 * - src/ takes from public/ only public/embedded.ts, and only src/app/ takes src/app/build.ts;
 * - folders import in one direction: src/shared/, src/media/ and src/storage/ import no
 *   feature, and only src/app/ imports src/app/.
 * The scanner and the cycle finder are tested first, on known sources and graphs, so that a
 * passing layout test means a clean layout rather than a scanner that found nothing.
 */
import { describe, expect, test } from 'bun:test'
import { readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { adjacency, buildImportGraph, findCycles, scanImports, sourceFiles, type Edge } from '../helpers/imports'

const ROOT = join(import.meta.dir, '..', '..')
const DIRS = ['src', 'actors', 'public']

/** The folders under src/ that every feature builds on, and that import no feature. */
const BASE_FOLDERS = ['shared', 'media', 'storage']
/** Declarations and stand-ins for packages: anyone may import them. */
const TYPE_FOLDERS = ['types', 'shims']
/**
 * Imports against the folder direction that the code had when the rule came (issue 17), each
 * with why it is there; the test fails on any other, and on an entry no import needs any more.
 */
const DIRECTION_EXCEPTIONS: Record<string, string> = {
  'src/torrents/torrent-file.ts -> src/app/lazy.ts': 'loads create-torrent at first use, from inside the executable',
  'src/torrents/tracker.ts -> src/app/lazy.ts': 'loads bittorrent-tracker at first use, from inside the executable',
  'src/videos/upload.ts -> src/app/lazy.ts': 'loads busboy at first use, from inside the executable',
}

/** Fails with one line for each problem under a heading, so the output reads as a list. */
function expectNone(heading: string, problems: string[]): void {
  if (problems.length > 0) throw new Error(`${heading} (${problems.length}):\n${problems.map((p) => `  ${p}`).join('\n')}`)
}

/** An edge as a report line: where it is written and what it names. */
const where = (e: Edge) => `${e.from}:${e.line} imports '${e.specifier}' (${e.to ?? 'unresolved'})`

/** What a scan finds, compactly: `specifier kind` with ` type` for type-only imports. */
const scanned = (source: string) => scanImports(source).map((r) => `${r.specifier} ${r.kind}${r.typeOnly ? ' type' : ''}`)

describe('import scanner', () => {
  test('finds every form of import, and tells type-only imports from value imports', () => {
    const source = [
      "import a from './a'",
      "import * as b from './b'",
      "import { c1, c2 as c3 } from './c'",
      "import d, { d1 } from './d'",
      "import type { E } from './e'",
      "import type F from './f'",
      "import { type G, type H as I } from './g'",
      "import { type J, k } from './j'",
      "import { type } from './type-binding'",
      "import './side-effect'",
      "import {",
      '  multi,',
      '  type Line,',
      "} from './multi'",
      "export * from './star'",
      "export * as ns from './ns'",
      "export { x, y as z } from './x'",
      "export type { T } from './t'",
      "export { type U } from './u'",
      "export type * from './all-types'",
      "type L = typeof import('./l')",
      "let m: import('./m').M",
      "const n = await import('./n')",
      "import('./o').then(() => {})",
      "import p = require('./p')",
      "import webtorrentPath from 'webtorrent/dist/webtorrent.min.js' with { type: 'file' }",
      'const q = `./q`',
      'const r = import(`./r`)',
    ].join('\n')
    expect(scanned(source)).toEqual([
      './a import',
      './b import',
      './c import',
      './d import',
      './e import type',
      './f import type',
      './g import type',
      './j import',
      './type-binding import',
      './side-effect side-effect',
      './multi import',
      './star export',
      './ns export',
      './x export',
      './t export type',
      './u export type',
      './all-types export type',
      './l import-type type',
      './m import-type type',
      './n dynamic',
      './o dynamic',
      './p require',
      'webtorrent/dist/webtorrent.min.js import',
      './r dynamic',
    ])
    // Line numbers count every line before, templates and comments included.
    expect(scanImports('/* a\nb */\n`c\nd`\nimport "./e"')[0]!.line).toBe(5)
  })

  test('does not take the word import in comments, strings, templates or regexes, nor misses what follows', () => {
    const source = [
      "// import { a } from './comment'",
      "/* import { b } from './block'",
      "   export * from './block2' */",
      "const s = \"import { c } from './string'\"",
      "const t = 'export * from \\'./single\\''",
      'const u = `import v from ${JSON.stringify("./template")} with { type: \'file\' }`',
      'const w = `outer ${`inner ${"import(\'./nested\')"}`} import(\'./tail\')`',
      "const esc = `\\${import('./escaped')} ${ { a: '}' }.a } import('./after-object')`",
      "const re = /import\\s+['\"]\\.\\/regex['\"]/g",
      "const re2 = x.split(/[/'`]/) // a quote and a backtick inside a regex class",
      'const half = a / b / c',
      "const ratio = total / count; import('./after-division')",
      "const it = 'it\\'s'; import './after-escape'",
      // Taken for a regex (a `/` after `+`): it must end with its line, not run to the next `/`.
      'const next = i++ / 2',
      "import './after-increment'",
      "crypto.subtle.importKey('raw', key)",
      "obj.import('./property')",
      'const meta = import.meta.dir',
      'const lazy = import(specifier)',
      'export { local1, local2 }',
      "export const notFrom = 'from'",
      "import './after-all'",
    ].join('\n')
    expect(scanned(source)).toEqual(['./after-division dynamic', './after-escape side-effect', './after-increment side-effect', './after-all side-effect'])
    // A hashbang line (src/app/cli.ts) is skipped, not lexed as a private name and a regex.
    expect(scanned("#!/usr/bin/env bun\nimport './x'")).toEqual(['./x side-effect'])
  })

  test('survives JSX text with quotes, slashes and the word import', () => {
    const source = [
      "import { h } from 'preact'",
      'export const P = () => (',
      '  <p>',
      "    Don't import from './jsx-text'. See https://example.com/a/b or a/b, </p>",
      "    <b>{count}</b> videos, or none: that's all", // one quote, that a string must not run past
      '  </p>',
      ')',
      '  {/* import { x } from "./jsx-comment" */}',
      "import { after } from './after'",
    ].join('\n')
    expect(scanned(source)).toEqual(['preact import', './after import'])
  })

  test("agrees with Bun.Transpiler on every file's value imports (Bun does not report type imports)", () => {
    const disagreements: string[] = []
    for (const file of DIRS.flatMap((d) => sourceFiles(join(ROOT, d)))) {
      if (file.endsWith('.d.ts')) continue // declarations only: Bun has nothing to transpile
      const source = readFileSync(file, 'utf8')
      // Bun's transpiler takes no hashbang (src/app/cli.ts has one); blank it, lines unchanged.
      const code = source.replace(/^#!.*/, '')
      const bun = new Bun.Transpiler({ loader: file.endsWith('.tsx') ? 'tsx' : 'ts' }).scanImports(code)
      const ours = new Set(scanImports(source).filter((r) => !r.typeOnly && r.kind !== 'require').map((r) => r.specifier))
      // Bun adds a JSX runtime to .tsx files as `require-call`s: keep the ES module forms only.
      const theirs = new Set(bun.filter((r) => r.kind === 'import-statement' || r.kind === 'dynamic-import').map((r) => r.path))
      const name = relative(ROOT, file)
      for (const s of ours) if (!theirs.has(s)) disagreements.push(`${name}: '${s}' found here, not by Bun`)
      for (const s of theirs) if (!ours.has(s)) disagreements.push(`${name}: '${s}' found by Bun, not here`)
    }
    expectNone('Value imports the two scanners disagree on', disagreements)
  })
})

describe('cycle finder', () => {
  test('finds one cycle per strongly connected component, as a path back to its start', () => {
    const next = adjacency([
      ['a', 'b'], ['b', 'c'], ['c', 'a'], ['c', 'd'], // a -> b -> c -> a, with d hanging off
      ['d', 'e'], ['e', 'f'], ['f', 'e'], ['f', 'g'], // e <-> f
      ['h', 'h'], // a file that imports itself
      ['x', 'y'], ['y', 'z'], ['z', 'x'], ['x', 'z'], // shortest is x -> z -> x
    ])
    const nodes = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'x', 'y', 'z', 'lonely']
    expect(findCycles(nodes, next)).toEqual([
      { cycle: ['a', 'b', 'c', 'a'], component: ['a', 'b', 'c'] },
      { cycle: ['e', 'f', 'e'], component: ['e', 'f'] },
      { cycle: ['h', 'h'], component: ['h'] },
      { cycle: ['x', 'z', 'x'], component: ['x', 'y', 'z'] },
    ])
  })

  test('finds none in an acyclic graph, however tangled or deep', () => {
    const pairs: [string, string][] = [['a', 'b'], ['a', 'c'], ['b', 'd'], ['c', 'd'], ['d', 'e'], ['a', 'e']]
    // A chain far deeper than any import chain, to show the search keeps no recursion.
    for (let i = 0; i < 20_000; i++) pairs.push([`n${i}`, `n${i + 1}`])
    const next = adjacency(pairs)
    expect(findCycles([...next.keys()], next)).toEqual([])
    // Closing the chain makes one cycle of all of it.
    pairs.push(['n20000', 'n0'])
    expect(findCycles([], adjacency(pairs)).map((c) => c.cycle.length)).toEqual([20_002])
  })
})

describe('layout', () => {
  const { files, edges } = buildImportGraph(ROOT, DIRS)
  const inGraph = new Set(files)
  const internal = edges.filter((e) => e.to !== undefined && inGraph.has(e.to))

  test('the graph is real: every file is there, with its edges, and every relative import resolves', () => {
    expect(files.length).toBeGreaterThan(80)
    expect(files).toContain('actors/pod.ts')
    expect(files).toContain('public/main.tsx')
    const has = (from: string, to: string, typeOnly: boolean) =>
      internal.some((e) => e.from === from && e.to === to && e.typeOnly === typeOnly)
    expect(has('src/app/cli.ts', 'src/shared/config.ts', false)).toBe(true)
    expect(has('src/shared/log.ts', 'src/shared/config.ts', true)).toBe(true) // `import type`
    expect(internal.length).toBeGreaterThan(files.length)
    // An unresolved specifier is an edge the checks below would silently miss.
    expectNone('Relative imports that name no file', edges.filter((e) => e.to === undefined).map(where))
  })

  test('has no import cycle, type imports included', () => {
    const next = adjacency(internal.map((e): [string, string] => [e.from, e.to!]))
    const cycles = findCycles(files, next).map(({ cycle, component }) => {
      const rest = component.filter((f) => !cycle.includes(f))
      const others = rest.length > 0 ? `\n      (its strongly connected component also has: ${rest.join(', ')})` : ''
      return `${cycle.join(' -> ')}${others}`
    })
    expectNone('Import cycles, one for each strongly connected component', cycles)
  })

  // The boundary checks go by the path an import names, resolved or not: a broken import of
  // '../../public/x' still reaches across (and is reported above as well).
  test('actors/ imports only types from src/', () => {
    const offenders = edges.filter((e) => e.from.startsWith('actors/') && e.target.startsWith('src/') && !e.typeOnly)
    expectNone('Value imports from src/ in actors/ (make them `import type`, or move the code)', offenders.map(where))
  })

  test('src/ imports nothing of public/ but public/embedded.ts, and only src/app/ imports src/app/build.ts', () => {
    const build = (e: Edge) => e.to === 'src/app/build.ts' || e.target === 'src/app/build'
    const offenders = edges.filter(
      (e) =>
        e.from.startsWith('src/') &&
        ((e.target.startsWith('public/') && e.to !== 'public/embedded.ts') || (build(e) && !e.from.startsWith('src/app/'))),
    )
    expectNone('Imports across the src/ and public/ boundary, or of the build script', offenders.map(where))
  })

  test('folders import one way: shared, media and storage no feature, and only src/app/ imports src/app/', () => {
    const folder = (path: string) => (path.startsWith('src/') ? path.split('/')[1]! : undefined)
    const offending = internal.filter((e) => {
      const from = folder(e.from)
      const to = folder(e.to!)
      if (!from || !to || from === to) return false
      return (BASE_FOLDERS.includes(from) && !BASE_FOLDERS.includes(to) && !TYPE_FOLDERS.includes(to)) || (to === 'app' && from !== 'app')
    })
    const key = (e: Edge) => `${e.from} -> ${e.to}`
    expectNone(
      'Imports against the folder direction (move the code down, or pass it in from src/app/)',
      offending.filter((e) => !(key(e) in DIRECTION_EXCEPTIONS)).map(where),
    )
    const stale = Object.keys(DIRECTION_EXCEPTIONS).filter((k) => !offending.some((e) => key(e) === k))
    expectNone('Exceptions to the folder direction that no import needs any more (remove them from DIRECTION_EXCEPTIONS)', stale)
  })
})
