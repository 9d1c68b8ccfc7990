/**
 * Words of the scripts written without spaces between words (Chinese, Japanese, Thai, and
 * Korean with its particles attached), made findable inside longer runs. SQLite's unicode61
 * tokenizer takes a whole run for one token ("夜景散歩の東京"), so a word inside it (散歩)
 * matched nothing.
 *
 * Each such run is indexed again as its overlapping pairs of characters (夜景 景散 散歩 歩の
 * の東 東京) in the FTS table's `grams` column, and a searched word of those scripts becomes
 * the AND of its pairs. A trigram tokenizer would have found them too, but it indexes every
 * three characters of every text, Latin included, where the index has no room left
 * (test/bench/index.ts: 495 MB of the 500 allowed at a million videos). Pairs cost nothing for
 * a video without such text: its `grams` is NULL.
 *
 * The index keeps no positions (detail=none), so the pairs of a word are not a phrase: a
 * video with 散歩 and 歩道 in different places matches 散歩道 too.
 */
import { GRAM_RANGES, GRAM_SKIPPED } from '../shared/db'

const range = (r: readonly (readonly [number, number])[]) => r.map(([a, b]) => `\\u{${a.toString(16)}}-\\u{${b.toString(16)}}`).join('')

/** A character of those scripts, kept in pairs: a letter or digit of their ranges. */
const GRAM = new RegExp(`[[${range(GRAM_RANGES)}]&&[\\p{L}\\p{N}]]`, 'v')
/** Marks between them (Thai vowels and tones), which unicode61 takes for separators: dropped. */
export const MARKS = `[${range(GRAM_SKIPPED)}]`
const SKIPPED = new RegExp(MARKS, 'gu')
const ONE_SKIPPED = new RegExp(SKIPPED.source, 'u')
/** A letter or digit of another script. */
const OTHER = new RegExp(`[[\\p{L}\\p{N}]--[${range(GRAM_RANGES)}]]`, 'v')
/** The runs of those scripts in a word. */
const RUNS = new RegExp(`${GRAM.source}+`, 'gv')

/** Whether a word has characters of those scripts (then search it with `gramTerms`). */
export function hasGrams(word: string): boolean {
  return GRAM.test(word)
}

/** Whether a word has letters or digits of other scripts too ("東京tower"). */
export function hasOthers(word: string): boolean {
  return OTHER.test(word)
}

/**
 * The terms the `grams` column holds for the runs of those scripts in a word: each run's pairs,
 * a lone character alone (`single`: searched as the start of a term, see gramsOf). Every term
 * is one token to the tokenizer.
 */
export function gramTerms(word: string): { term: string; single: boolean }[] {
  const runs = word.normalize('NFC').replace(SKIPPED, '').match(RUNS) ?? []
  return runs.flatMap((run): { term: string; single: boolean }[] => {
    const chars = [...run]
    if (chars.length === 1) return [{ term: run, single: true }]
    return chars.slice(1).map((c, i) => ({ term: chars[i]! + c, single: false }))
  })
}

/**
 * What videos.grams holds for a video's texts (name, description, uploader): the pairs of
 * each run of those scripts in them and its last character (so that every character starts
 * a term: one typed alone is found), marks dropped, or null if they have no such run (most
 * videos: nothing stored). Migration 18 (src/shared/db.ts) does the same in SQL for the
 * videos of earlier releases.
 */
export function gramsOf(...texts: string[]): string | null {
  const text = texts.join(' ')
  if (!GRAM.test(text)) return null
  let out = ''
  let prev = ''
  let n = 0
  for (const c of text) {
    if (ONE_SKIPPED.test(c)) continue
    if (GRAM.test(c)) {
      if (n > 0) out += ` ${prev}${c}`
      prev = c
      n++
      continue
    }
    if (n > 0) out += ` ${prev}`
    prev = ''
    n = 0
  }
  return n > 0 ? `${out} ${prev}` : out
}
