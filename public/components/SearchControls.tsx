/**
 * The search page's controls and its empty result: sort and scope as the API has them
 * (`sort`, `scope` of GET /api/v1/videos), and what to try when nothing matched.
 */
import { boot } from '../lib/boot'

/** A sort the API knows; '' is the default (relevance when searching, newest otherwise). */
export type Sort = '' | 'relevance' | '-createdAt' | 'createdAt' | 'name' | '-name'
/** Where to look: the whole network (the default) or this pod's own videos. */
export type Scope = 'network' | 'local'

const SEARCH_SORTS: [Sort, string][] = [
  ['relevance', 'Best match'],
  ['-createdAt', 'Newest'],
  ['createdAt', 'Oldest'],
  ['name', 'Title A–Z'],
]
const LIST_SORTS: [Sort, string][] = [
  ['-createdAt', 'Newest'],
  ['createdAt', 'Oldest'],
  ['name', 'Title A–Z'],
  ['-name', 'Title Z–A'],
]

/** The sort a page asks for: the chosen one if it fits (a search or a listing), else the default. */
export function effectiveSort(sort: Sort, searching: boolean): Exclude<Sort, ''> {
  const sorts = searching ? SEARCH_SORTS : LIST_SORTS
  return (sorts.find(([s]) => s === sort) ?? sorts[0]!)[0] as Exclude<Sort, ''>
}

/** The page's address for a query, sort and scope: defaults left out, so plain links stay plain. */
export function searchUrl(text: string, sort: Sort, scope: Scope): string {
  const params = new URLSearchParams()
  if (text) params.set('q', text)
  const chosen = effectiveSort(sort, Boolean(text))
  if (chosen !== effectiveSort('', Boolean(text))) params.set('sort', chosen)
  if (scope === 'local') params.set('scope', 'local')
  const qs = params.toString()
  return qs ? `/?${qs}` : '/'
}

/** Sort (a select) and scope (two radio buttons), each applied as soon as it is chosen. */
export function SearchControls(props: { searching: boolean; sort: Sort; scope: Scope; onSort: (s: Sort) => void; onScope: (s: Scope) => void }) {
  const sorts = props.searching ? SEARCH_SORTS : LIST_SORTS
  return (
    <div class="search-controls">
      <fieldset class="scope">
        <legend class="visually-hidden">Where to look</legend>
        {(
          [
            ['network', 'The network'],
            ['local', 'This pod'],
          ] as [Scope, string][]
        ).map(([value, label]) => (
          <label key={value} class="scope-option" title={value === 'local' ? `Only the videos of ${boot.pod.name}` : 'The videos of this pod and its friends'}>
            <input type="radio" name="scope" value={value} checked={props.scope === value} onChange={() => props.onScope(value)} />
            <span>{label}</span>
          </label>
        ))}
      </fieldset>
      <label class="sort">
        <span>Sort by</span>
        <select value={effectiveSort(props.sort, props.searching)} onChange={(e) => props.onSort((e.target as HTMLSelectElement).value as Sort)}>
          {sorts.map(([value, label]) => (
            <option key={value} value={value}>
              {label}
            </option>
          ))}
        </select>
      </label>
    </div>
  )
}

/**
 * What to try when a search found nothing (the status line above says so): other words, the
 * whole network, the newest videos.
 */
export function NoResults(props: { scope: Scope; onNetwork: () => void; onNewest: () => void }) {
  return (
    <div class="empty no-results">
      <p>Nothing found. You could:</p>
      <ul class="suggestions">
        <li>Check the spelling, or try fewer or more general words.</li>
        {props.scope === 'local' && (
          <li>
            <button type="button" class="btn btn-primary" onClick={props.onNetwork}>
              Search the whole network
            </button>
          </li>
        )}
        <li>
          <button type="button" class="btn btn-secondary" onClick={props.onNewest}>
            See the newest videos
          </button>
        </li>
      </ul>
    </div>
  )
}
