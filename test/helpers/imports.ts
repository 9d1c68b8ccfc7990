/**
 * The import graph of the pod's own TypeScript, for test/unit/layout.test.ts: a scanner that finds
 * every import of a file (type imports included), a resolver for relative specifiers, and
 * strongly connected components to report import cycles.
 *
 * Why a scanner of our own: Bun.Transpiler's scan and scanImports drop type-only imports
 * (`import type`, `import { type X }`, `export type ... from`, `typeof import()`), and a type
 * import ties two modules together as much as a value import does; TypeScript 7 has no JS
 * API to ask instead. So this module lexes just enough JavaScript to tell code from comments,
 * strings, template literals and regular expressions, then reads the import forms off the
 * tokens. The layout test checks it against Bun.Transpiler for value imports.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve, sep } from 'node:path'

/** One token of code. Strings (and templates without substitutions) carry their value. */
export interface Token {
  kind: 'word' | 'string' | 'punct' | 'template' | 'regex'
  value: string
  /** Its offset in the source. */
  pos: number
}

/** One import of a file, as written. */
export interface ImportRef {
  specifier: string
  /** Erased when compiled: `import type`, all bindings `type X`, `typeof import()`, `import('x').T`. */
  typeOnly: boolean
  kind: 'import' | 'side-effect' | 'export' | 'dynamic' | 'import-type' | 'require'
  line: number
}

// After these words a `/` starts a regular expression; after any other word it divides.
const REGEX_AFTER = new Set('return typeof instanceof in of new delete void throw case do else yield await'.split(' '))
const WORD = /[\w$\u0080-\uffff]/

/** Whether a `/` after this token starts a regular expression rather than dividing. */
function regexAllowed(prev: Token | undefined): boolean {
  if (!prev) return true
  if (prev.kind === 'word') return REGEX_AFTER.has(prev.value)
  if (prev.kind !== 'punct') return false
  // `)`, `]`, `}` end an expression. `<` is there for JSX closing tags (`</p>`): a regular
  // expression right after `<` is legal but unheard of, a `</` in a .tsx file is everywhere.
  return !')]}<'.includes(prev.value)
}

/**
 * The tokens of a TypeScript (or TSX) source, without comments and whitespace.
 *
 * Good enough for import statements, not a full lexer: JSX text is lexed as if it were code.
 * To keep a stray quote or slash in JSX text (`Don't`, `a/b`) from swallowing the rest of the
 * file, quoted strings and regular expressions end at the end of their line, as they must in
 * valid code anyway. Only templates and block comments span lines.
 */
export function tokenize(source: string): Token[] {
  const tokens: Token[] = []
  // What each open `{` belongs to: code, or a template's `${` (whose `}` resumes the template).
  const braces: ('code' | 'template')[] = []
  const n = source.length
  // A hashbang line (src/app/cli.ts has one) is not code.
  let i = source.startsWith('#!') ? source.indexOf('\n') : 0
  if (i < 0) i = n
  const push = (kind: Token['kind'], value: string, pos: number) => tokens.push({ kind, value, pos })

  // Template text from i (after its backtick, or after a substitution's `}`) to its end or its next `${`.
  const templateText = (first: boolean): void => {
    const pos = i
    let text = ''
    while (i < n && source[i] !== '`' && !(source[i] === '$' && source[i + 1] === '{')) {
      if (source[i] === '\\') i++
      text += source[i++] ?? ''
    }
    if (source[i] === '`') {
      i++
      push(first ? 'string' : 'template', text, pos) // no substitution: as good as a string
    } else {
      if (i < n) braces.push('template') // else the file ends inside the template
      i += 2
      push('template', text, pos)
    }
  }

  while (i < n) {
    const c = source[i]!
    const pos = i
    if (/\s|\ufeff/.test(c)) i++
    else if (c === '/' && source[i + 1] === '/') {
      while (i < n && source[i] !== '\n') i++
    } else if (c === '/' && source[i + 1] === '*') {
      const end = source.indexOf('*/', i + 2)
      i = end < 0 ? n : end + 2
    } else if (c === '"' || c === "'") {
      let value = ''
      for (i++; i < n && source[i] !== c && source[i] !== '\n'; i++) {
        if (source[i] === '\\') i++ // an escape: its character (a line continuation: the newline)
        value += source[i] ?? ''
      }
      if (source[i] === c) i++
      push('string', value, pos)
    } else if (c === '`') {
      i++
      templateText(true)
    } else if (c === '/' && regexAllowed(tokens[tokens.length - 1])) {
      let inClass = false
      for (i++; i < n && source[i] !== '\n'; i++) {
        const r = source[i]
        if (r === '\\' && source[i + 1] !== '\n') i++
        else if (r === '[' || r === ']') inClass = r === '['
        else if (r === '/' && !inClass) break
      }
      if (source[i] === '/') i++
      while (i < n && /[a-z]/i.test(source[i]!)) i++ // flags
      push('regex', source.slice(pos, i), pos)
    } else if (WORD.test(c)) {
      while (i < n && WORD.test(source[i]!)) i++
      push('word', source.slice(pos, i), pos)
    } else if (c === '}' && braces[braces.length - 1] === 'template') {
      braces.pop()
      i++
      templateText(false)
    } else {
      if (c === '{') braces.push('code')
      if (c === '}') braces.pop()
      push('punct', c, pos)
      i++
    }
  }
  return tokens
}

/** The specifiers of a `{ ... }` list at t[open], split at commas; undefined if unclosed. */
function braceList(t: Token[], open: number): { specs: Token[][]; close: number } | undefined {
  const specs: Token[][] = [[]]
  for (let k = open + 1; k < t.length; k++) {
    const tok = t[k]!
    if (tok.kind === 'punct' && tok.value === '}') return { specs: specs.filter((s) => s.length > 0), close: k }
    if (tok.kind === 'punct' && tok.value === ',') specs.push([])
    else if (tok.kind === 'punct' && (tok.value === '{' || tok.value === ';')) return undefined // not a binding list
    else specs[specs.length - 1]!.push(tok)
  }
  return undefined
}

/** Whether every binding of a list is `type X` (or `type X as Y`), and there is at least one. */
function allTypes(specs: Token[][]): boolean {
  // `{ type }` and `{ type as X }` import a binding named "type": values.
  const typed = (s: Token[]) => s[0]?.value === 'type' && s.length >= 2 && !(s.length === 3 && s[1]!.value === 'as')
  return specs.length > 0 && specs.every(typed)
}

/**
 * Every import of a TypeScript source: static imports (with and without bindings), re-exports,
 * `import x = require()`, dynamic `import()` of a literal and type-position `import()`,
 * relative or not, in source order. Comments, strings, templates and regular expressions that
 * merely contain the word import do not count, and neither do `import.meta` nor `x.import`.
 */
export function scanImports(source: string): ImportRef[] {
  const t = tokenize(source)
  const refs: ImportRef[] = []
  const word = (k: number, v?: string) => t[k]?.kind === 'word' && (v === undefined || t[k]!.value === v)
  const punct = (k: number, v: string) => t[k]?.kind === 'punct' && t[k]!.value === v
  const str = (k: number) => t[k]?.kind === 'string'
  // Refs come in source order, so one pass over the source counts their lines.
  let line = 1
  let counted = 0
  const lineOf = (tok: Token) => {
    for (; counted < tok.pos; counted++) if (source[counted] === '\n') line++
    return line
  }
  // `from 'x'` at t[k]: the ref, or nothing if the statement does not end so.
  const from = (k: number, kind: ImportRef['kind'], typeOnly: boolean, at: Token) => {
    if (word(k, 'from') && str(k + 1)) refs.push({ specifier: t[k + 1]!.value, typeOnly, kind, line: lineOf(at) })
  }

  for (let k = 0; k < t.length; k++) {
    const tok = t[k]!
    if (tok.kind !== 'word' || punct(k - 1, '.')) continue // `a.import(...)`, `a?.export` are properties
    if (tok.value === 'import') {
      if (punct(k + 1, '.')) continue // import.meta
      if (punct(k + 1, '(')) {
        // A specifier that is not a literal (lazy.ts's `import(specifier)`) is not followed.
        if (!str(k + 2) || !(punct(k + 3, ')') || punct(k + 3, ','))) continue
        // In a type: `typeof import('x')`, or `import('x').T` (a qualified name, no call after:
        // `import('x').then(...)` is a value, and so is anything after `await`).
        let end = k + 3
        if (punct(end, ',')) while (end < t.length && !punct(end, ')')) end++
        const qualified = punct(end + 1, '.') && word(end + 2) && !punct(end + 3, '(') && !word(k - 1, 'await')
        const typeOnly = word(k - 1, 'typeof') || qualified
        refs.push({ specifier: t[k + 2]!.value, typeOnly, kind: typeOnly ? 'import-type' : 'dynamic', line: lineOf(tok) })
        continue
      }
      if (str(k + 1)) {
        refs.push({ specifier: t[k + 1]!.value, typeOnly: false, kind: 'side-effect', line: lineOf(tok) })
        continue
      }
      let j = k + 1
      let typeDecl = false
      // `import type X`, `import type {`, `import type *`; but `import type from 'x'` and
      // `import type, {...}` import a default binding named "type".
      if (word(j, 'type') && !punct(j + 1, ',') && !(word(j + 1, 'from') && str(j + 2))) {
        typeDecl = true
        j++
      }
      // `import x = require('y')` (TypeScript's CommonJS form).
      if (word(j) && punct(j + 1, '=') && word(j + 2, 'require') && punct(j + 3, '(') && str(j + 4)) {
        refs.push({ specifier: t[j + 4]!.value, typeOnly: typeDecl, kind: 'require', line: lineOf(tok) })
        continue
      }
      let value = false // a default or namespace binding: always a value unless `import type`
      if (word(j) && !word(j, 'from')) {
        value = true
        j++
        if (!punct(j, ',')) {
          from(j, 'import', typeDecl, tok)
          continue
        }
        j++
      }
      if (punct(j, '*') && word(j + 1, 'as') && word(j + 2)) from(j + 3, 'import', typeDecl, tok)
      else if (punct(j, '{')) {
        const list = braceList(t, j)
        if (list) from(list.close + 1, 'import', typeDecl || (!value && allTypes(list.specs)), tok)
      }
    } else if (tok.value === 'export') {
      let j = k + 1
      let typeDecl = false
      if (word(j, 'type') && (punct(j + 1, '{') || punct(j + 1, '*'))) {
        typeDecl = true
        j++
      }
      if (punct(j, '*')) {
        // `export * from`, `export * as ns from` (ns may be a string)
        if (word(j + 1, 'as') && (word(j + 2) || str(j + 2))) from(j + 3, 'export', typeDecl, tok)
        else from(j + 1, 'export', typeDecl, tok)
      } else if (punct(j, '{')) {
        // Only `export { ... } from 'x'` imports; a plain `export { a, b }` exports locals.
        const list = braceList(t, j)
        if (list) from(list.close + 1, 'export', typeDecl || allTypes(list.specs), tok)
      }
    }
  }
  return refs
}

/** Whether a specifier is relative to its file (the only kind the layout is about). */
export function isRelative(specifier: string): boolean {
  return specifier === '.' || specifier === '..' || specifier.startsWith('./') || specifier.startsWith('../')
}

const isFile = (path: string) => existsSync(path) && statSync(path).isFile()
// What TypeScript's bundler resolution (and Bun) try for a specifier without its extension.
const CANDIDATES = ['', '.ts', '.tsx', '.d.ts', '.json', '/index.ts', '/index.tsx', '/index.d.ts']

/** The absolute path of the file a relative specifier names, or undefined if there is none. */
export function resolveRelative(fromFile: string, specifier: string): string | undefined {
  const base = resolve(dirname(fromFile), specifier)
  for (const suffix of CANDIDATES) if (isFile(base + suffix)) return base + suffix
  // TypeScript maps `./x.js` to x.ts (the compiled name in ESM code).
  const js = base.match(/^(.*)\.(m|c)?js(x?)$/)
  if (js) for (const ext of js[3] ? ['.tsx'] : ['.ts', '.tsx', '.d.ts']) if (isFile(js[1] + ext)) return js[1] + ext
  return undefined
}

/** One relative import, between two files named relative to the root with `/`. */
export interface Edge extends ImportRef {
  from: string
  /** The file it resolves to; undefined when none does (a broken import). */
  to: string | undefined
  /** The path it names, resolved or not (`src/x` for an unresolved '../x'), for boundary checks. */
  target: string
}

/** The files scanned and their relative imports. */
export interface ImportGraph {
  files: string[]
  edges: Edge[]
}

/** Every .ts and .tsx file under dir (recursively, no node_modules), absolute, sorted. */
export function sourceFiles(dir: string): string[] {
  if (!existsSync(dir)) return []
  const names = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => /\.tsx?$/.test(f))
  return names.filter((f) => !f.split(sep).includes('node_modules')).map((f) => join(dir, f)).filter(isFile).sort()
}

/** The import graph of the .ts and .tsx files under the given folders of root. */
export function buildImportGraph(root: string, dirs: string[]): ImportGraph {
  const name = (abs: string) => relative(root, abs).split(sep).join('/')
  const abs = dirs.flatMap((d) => sourceFiles(join(root, d)))
  const edges: Edge[] = []
  for (const file of abs) {
    for (const ref of scanImports(readFileSync(file, 'utf8'))) {
      if (!isRelative(ref.specifier)) continue // packages are not part of the layout
      const target = resolveRelative(file, ref.specifier)
      const to = target === undefined ? undefined : name(target)
      edges.push({ ...ref, from: name(file), to, target: to ?? name(resolve(dirname(file), ref.specifier)) })
    }
  }
  return { files: abs.map(name).sort(), edges }
}

/** Each node's successors, sorted and without repeats, from (from, to) pairs. */
export function adjacency(pairs: Iterable<[string, string]>): Map<string, string[]> {
  const sets = new Map<string, Set<string>>()
  for (const [a, b] of pairs) {
    if (!sets.has(a)) sets.set(a, new Set())
    sets.get(a)!.add(b)
  }
  return new Map([...sets].map(([a, s]) => [a, [...s].sort()]))
}

/**
 * The strongly connected components of a graph (Tarjan's algorithm, iterative so that no
 * import chain is too deep for the stack), each sorted, in the order Tarjan completes them.
 */
export function stronglyConnectedComponents(nodes: string[], next: Map<string, string[]>): string[][] {
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const onStack = new Set<string>()
  const components: string[][] = []
  const visit = (v: string) => {
    index.set(v, index.size)
    low.set(v, index.get(v)!)
    stack.push(v)
    onStack.add(v)
  }
  for (const root of [...new Set([...nodes, ...next.keys()])].sort()) {
    if (index.has(root)) continue
    visit(root)
    const work = [{ node: root, k: 0 }]
    while (work.length > 0) {
      const frame = work[work.length - 1]!
      const succ = next.get(frame.node) ?? []
      if (frame.k < succ.length) {
        const w = succ[frame.k++]!
        if (!index.has(w)) {
          visit(w)
          work.push({ node: w, k: 0 })
        } else if (onStack.has(w)) low.set(frame.node, Math.min(low.get(frame.node)!, index.get(w)!))
        continue
      }
      work.pop()
      const parent = work[work.length - 1]
      if (parent) low.set(parent.node, Math.min(low.get(parent.node)!, low.get(frame.node)!))
      if (low.get(frame.node) === index.get(frame.node)) {
        const component: string[] = []
        let w: string
        do {
          w = stack.pop()!
          onStack.delete(w)
          component.push(w)
        } while (w !== frame.node)
        components.push(component.sort())
      }
    }
  }
  return components
}

/**
 * One cycle for each component that has one (more than one node, or a node that imports
 * itself): the shortest way from the component's first node (by name) back to it, as a path
 * that ends where it starts. Sorted by that first node, so the report reads the same each run.
 */
export function findCycles(nodes: string[], next: Map<string, string[]>): { cycle: string[]; component: string[] }[] {
  const found: { cycle: string[]; component: string[] }[] = []
  for (const component of stronglyConnectedComponents(nodes, next)) {
    const start = component[0]!
    const inside = new Set(component)
    if (component.length === 1 && !(next.get(start) ?? []).includes(start)) continue
    // Breadth first from start, within the component, until an edge leads back to start.
    const parent = new Map<string, string>()
    const queue = [start]
    let last: string | undefined
    for (let q = 0; q < queue.length && last === undefined; q++) {
      const v = queue[q]!
      for (const w of next.get(v) ?? []) {
        if (w === start) {
          last = v
          break
        }
        if (inside.has(w) && !parent.has(w)) {
          parent.set(w, v)
          queue.push(w)
        }
      }
    }
    const back: string[] = [] // last, its parent, ..., the node after start
    for (let v = last!; v !== start; v = parent.get(v)!) back.push(v)
    found.push({ cycle: [start, ...back.reverse(), start], component })
  }
  return found.sort((a, b) => (a.cycle[0]! < b.cycle[0]! ? -1 : 1))
}
