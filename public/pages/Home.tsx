/**
 * Home: the latest videos of the whole network, and a search box that shows results as you
 * type (each keystroke asks the pod, the previous request is cancelled), with a sort and a
 * scope (the network or this pod). Query, sort and scope are kept in the URL, so that a search
 * can be shared and back/forward and reloads keep it. An empty result says what to try.
 */
import { useEffect, useRef, useState } from 'preact/hooks'
import { PageTitle } from '../components/Layout'
import { effectiveSort, NoResults, SearchControls, searchUrl, type Scope, type Sort } from '../components/SearchControls'
import { VideoCard } from '../components/VideoCard'
import { api, ApiError } from '../lib/api'
import { navigate } from '../lib/router'
import type { VideoPage } from '../lib/types'

const PAGE = 24
/** Wait this long after a keystroke before asking (typing fast sends one request). */
const DEBOUNCE_MS = 120

const SORTS: readonly Sort[] = ['relevance', '-createdAt', 'createdAt', 'name', '-name']

/** The API's query for a page of results. */
function videosUrl(text: string, sort: Sort, scope: Scope, start: number): string {
  const params = new URLSearchParams({ count: String(PAGE), sort: effectiveSort(sort, Boolean(text)) })
  if (start) params.set('start', String(start))
  if (text) params.set('search', text)
  if (scope === 'local') params.set('scope', 'local')
  return `/api/v1/videos?${params}`
}

export function Home({ query }: { query: URLSearchParams }) {
  const initial = query.get('q') ?? ''
  const [q, setQ] = useState(initial)
  const [sort, setSort] = useState<Sort>(SORTS.find((s) => s === query.get('sort')) ?? '')
  const [scope, setScope] = useState<Scope>(query.get('scope') === 'local' ? 'local' : 'network')
  const [page, setPage] = useState<VideoPage | undefined>()
  const [error, setError] = useState<string | undefined>()
  const [loading, setLoading] = useState(true)
  const [more, setMore] = useState(false)
  const searched = useRef({ text: initial, scope })
  const typed = useRef(false)

  useEffect(() => {
    const ctl = new AbortController()
    const text = q.trim()
    const timer = setTimeout(
      async () => {
        setLoading(true)
        try {
          const res = await api<VideoPage>(videosUrl(text, sort, scope, 0), { signal: ctl.signal })
          searched.current = { text, scope }
          setPage(res)
          setError(undefined)
        } catch (e) {
          if ((e as Error).name === 'AbortError') return
          setError(e instanceof ApiError ? e.message : 'The videos could not be loaded.')
        }
        setLoading(false)
      },
      // Typing waits for a pause; a chosen sort or scope applies at once.
      page && typed.current ? DEBOUNCE_MS : 0,
    )
    typed.current = false
    // Keep the search in the address bar without adding a history entry per keystroke.
    const url = searchUrl(text, sort, scope)
    if (location.pathname + location.search !== url) navigate(url, { replace: true })
    return () => {
      clearTimeout(timer)
      ctl.abort()
    }
  }, [q, sort, scope])

  const loadMore = async () => {
    if (!page) return
    setMore(true)
    try {
      const res = await api<VideoPage>(videosUrl(searched.current.text, sort, searched.current.scope, page.data.length))
      setPage({ ...res, data: [...page.data, ...res.data] })
    } catch (e) {
      setError(e instanceof ApiError ? e.message : 'More videos could not be loaded.')
    }
    setMore(false)
  }

  const { text } = searched.current
  const where = searched.current.scope === 'local' ? 'on this pod' : 'on the network'
  const count = page && `${page.total}${page.totalIsLowerBound ? '+' : ''} video${page.total === 1 ? '' : 's'}`
  const status = !page ? (
    'Loading videos…'
  ) : page.total === 0 ? (
    text ? (
      <>
        No videos match “<bdi>{text}</bdi>” {where}.
      </>
    ) : (
      `No videos yet ${where}.`
    )
  ) : text ? (
    <>
      {count} {page.total === 1 ? 'matches' : 'match'} “<bdi>{text}</bdi>” {where}.
    </>
  ) : (
    `${count} ${where}.`
  )

  return (
    <div class="page page-home">
      <div class="home-head">
        <PageTitle>{text ? 'Search' : 'Latest videos'}</PageTitle>
        <form class="search" role="search" onSubmit={(e) => e.preventDefault()}>
          <label for="search-input" class="visually-hidden">
            Search videos
          </label>
          <svg class="search-icon" viewBox="0 0 24 24" aria-hidden="true" focusable="false">
            <circle cx="10.5" cy="10.5" r="6.5" />
            <path d="M15.5 15.5L21 21" />
          </svg>
          <input
            id="search-input"
            type="search"
            placeholder="Search videos of the network"
            autocomplete="off"
            spellcheck={false}
            maxLength={200}
            dir="auto"
            value={q}
            aria-describedby="search-status"
            onInput={(e) => {
              typed.current = true
              setQ((e.target as HTMLInputElement).value)
            }}
          />
        </form>
      </div>
      <div class="results-bar">
        <p id="search-status" class="status-line" role="status" aria-live="polite" aria-busy={loading}>
          {status}
        </p>
        <SearchControls searching={Boolean(q.trim())} sort={sort} scope={scope} onSort={setSort} onScope={setScope} />
      </div>
      {error && (
        <p class="alert alert-error" role="alert">
          {error}
        </p>
      )}
      {page && page.data.length > 0 && (
        <ul class="video-grid" aria-label={text ? 'Search results' : 'Latest videos'}>
          {page.data.map((v) => (
            <VideoCard key={v.id} video={v} />
          ))}
        </ul>
      )}
      {page && page.total === 0 && text && (
        <NoResults
          scope={searched.current.scope}
          onNetwork={() => setScope('network')}
          onNewest={() => {
            setQ('')
            setSort('')
            setScope('network')
          }}
        />
      )}
      {page && page.total === 0 && !text && scope === 'local' && (
        <div class="empty">
          <p>This pod has no videos of its own yet.</p>
          <button type="button" class="btn btn-primary" onClick={() => setScope('network')}>
            See the whole network
          </button>
        </div>
      )}
      {page && page.total === 0 && !text && scope === 'network' && (
        <div class="empty">
          <p>Nothing here yet. Be the first to share a video.</p>
          <a class="btn btn-primary" href="/upload">
            Upload a video
          </a>
        </div>
      )}
      {page && page.data.length < page.total && (
        <div class="more">
          <button type="button" class="btn btn-secondary" onClick={loadMore} disabled={more}>
            {more ? 'Loading…' : 'Show more'}
          </button>
        </div>
      )}
    </div>
  )
}
