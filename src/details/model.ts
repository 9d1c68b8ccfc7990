/**
 * A video's details as data: their fields and limits, the schema friends' answers must fit,
 * the index's summary of a description, and the checks of an edit.
 */
import { t } from 'elysia'
import { DomainError } from '../shared/errors'

/** The index's description is at most this long; the details keep the full text. */
/** Longest description a video may have (its details keep it whole). */
export const DESCRIPTION_MAX = 10_000
export const SUMMARY_MAX = 300
const TAGS_MAX = 20
const TAG_MAX = 40
const LICENSE_MAX = 100
/** Longest language tag accepted (RFC 5646 advises supporting at least 35 characters). */
const LANGUAGE_MAX = 35
/**
 * Licenses offered by name (matched case-insensitively and stored as written here); any other
 * single-line text up to LICENSE_MAX characters is kept as it is.
 */
const LICENSES = ['CC-BY-4.0', 'CC-BY-SA-4.0', 'CC-BY-NC-4.0', 'CC-BY-NC-SA-4.0', 'CC-BY-ND-4.0', 'CC-BY-NC-ND-4.0', 'CC0-1.0', 'all-rights-reserved'] as const
/** How long a user's request waits for the origin before the cached copy (or an error) is served. */
export const ORIGIN_TIMEOUT_MS = 5_000

/** The fields a PATCH may set. */
const EDITABLE = ['description', 'tags', 'license', 'language'] as const

/** A video's details as its origin knows them; also the result of `video.details`. */
export const Details = t.Object({
  id: t.String({ minLength: 1, maxLength: 64 }),
  description: t.String({ maxLength: DESCRIPTION_MAX }),
  tags: t.Array(t.String({ minLength: 1, maxLength: TAG_MAX }), { maxItems: TAGS_MAX }),
  license: t.Union([t.String({ minLength: 1, maxLength: LICENSE_MAX }), t.Null()]),
  language: t.Union([t.String({ minLength: 1, maxLength: LANGUAGE_MAX }), t.Null()]),
  views: t.Integer({ minimum: 0 }),
  /** When the uploader last changed them; null if never. */
  updatedAt: t.Union([t.String({ maxLength: 40 }), t.Null()]),
})
export type Details = typeof Details.static

/** What `GET /api/v1/videos/:id/details` answers: the details and where they came from. */
export interface DetailsAnswer extends Details {
  /** `local`: an own video; `origin`: just asked; `cache`: the copy this pod keeps. */
  source: 'local' | 'origin' | 'cache'
  /** When this copy was read at the origin (now for `local` and `origin`). */
  fetchedAt: string
  ageSeconds: number
  /** A cached copy older than `detailsTtlSeconds`, served because the origin did not answer. */
  stale: boolean
}

/** The changes a valid PATCH body asks for (absent: unchanged; null: cleared). */
export interface DetailsEdit {
  description?: string
  tags?: string[]
  license?: string | null
  language?: string | null
}

/**
 * The index's short form of a description: the whole text if it fits in SUMMARY_MAX
 * characters, else its beginning cut at a word (when one ends late enough) and an ellipsis.
 */
export function summarize(description: string): string {
  const text = description.trim()
  if (text.length <= SUMMARY_MAX) return text
  const head = text.slice(0, SUMMARY_MAX - 1)
  const space = head.search(/\s\S*$/)
  return `${(space >= SUMMARY_MAX / 2 ? head.slice(0, space) : head).trimEnd()}…`
}

const bad = (message: string) => new DomainError('invalid', 'invalid_request', message)

/** A BCP 47 language tag, canonicalized (`pt-br` -> `pt-BR`); throws a 400 otherwise. */
function checkLanguage(value: string): string {
  const tag = value.trim()
  // A 2-3 letter primary language: BCP 47 also allows 5-8 letter ones, but none is registered,
  // and "english" would otherwise pass.
  if (tag.length > LANGUAGE_MAX || !/^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$/.test(tag))
    throw bad(`language: ${JSON.stringify(value)} is not a BCP 47 language tag such as "en" or "pt-BR"`)
  try {
    return Intl.getCanonicalLocales(tag)[0]!
  } catch {
    throw bad(`language: ${JSON.stringify(value)} is not a valid BCP 47 language tag such as "en" or "pt-BR"`)
  }
}

/**
 * Checks a PATCH body and returns the changes, trimmed and canonical. Any problem is a 400
 * naming the field, and nothing is changed.
 */
export function checkDetailsEdit(body: unknown): DetailsEdit {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw bad(`the body must be a JSON object with any of ${EDITABLE.join(', ')}`)
  const b = body as Record<string, unknown>
  for (const key of Object.keys(b)) {
    if (key === 'views') throw bad('views: counted by the pod (POST /api/v1/videos/:id/views), not set')
    if (!(EDITABLE as readonly string[]).includes(key)) throw bad(`${key}: not a field of a video's details (expected ${EDITABLE.join(', ')})`)
  }
  if (!EDITABLE.some((k) => b[k] !== undefined)) throw bad(`nothing to change: give any of ${EDITABLE.join(', ')}`)
  const out: DetailsEdit = {}
  if (b.description !== undefined) {
    if (typeof b.description !== 'string') throw bad('description: must be text')
    if (b.description.trim().length > DESCRIPTION_MAX) throw bad(`description: at most ${DESCRIPTION_MAX} characters`)
    out.description = b.description.trim()
  }
  if (b.tags !== undefined) {
    if (!Array.isArray(b.tags)) throw bad('tags: must be a list of texts, e.g. ["music", "live"]')
    const tags: string[] = []
    b.tags.forEach((tag, i) => {
      if (typeof tag !== 'string') throw bad(`tags[${i}]: must be text`)
      const clean = tag.trim().replace(/\s+/g, ' ')
      if (!clean) throw bad(`tags[${i}]: empty`)
      if (clean.length > TAG_MAX) throw bad(`tags[${i}]: at most ${TAG_MAX} characters`)
      if (/[\p{Cc},]/u.test(clean)) throw bad(`tags[${i}]: no commas or control characters`)
      // The same tag twice (in any case) is kept once.
      if (!tags.some((t) => t.toLowerCase() === clean.toLowerCase())) tags.push(clean)
    })
    if (tags.length > TAGS_MAX) throw bad(`tags: at most ${TAGS_MAX} tags`)
    out.tags = tags
  }
  if (b.license !== undefined) {
    if (b.license === null || b.license === '') out.license = null
    else {
      if (typeof b.license !== 'string') throw bad(`license: must be text: one of ${LICENSES.join(', ')}, or a short text of your own`)
      const text = b.license.trim()
      if (!text || text.length > LICENSE_MAX) throw bad(`license: 1 to ${LICENSE_MAX} characters (one of ${LICENSES.join(', ')}, or a short text of your own)`)
      if (/\p{Cc}/u.test(text)) throw bad('license: one line of text, without control characters')
      out.license = LICENSES.find((l) => l.toLowerCase() === text.toLowerCase()) ?? text
    }
  }
  if (b.language !== undefined) {
    if (b.language === null || b.language === '') out.language = null
    else if (typeof b.language !== 'string') throw bad('language: must be a BCP 47 language tag such as "en" or "pt-BR"')
    else out.language = checkLanguage(b.language)
  }
  return out
}

