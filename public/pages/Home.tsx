/**
 * Home: the latest videos of the whole network, and a search box that shows results as you
 * type (each keystroke asks the pod, the previous request is cancelled; the query is kept in
 * the URL so that back/forward and reloads keep it).
 */
import { useEffect, useRef, useState } from 'preact/hooks'
import { PageTitle } from '../components/Layout'
import { VideoCard } from '../components/VideoCard'
import { api, ApiError } from '../lib/api'
import { navigate } from '../lib/router'
import type { VideoPage } from '../lib/types'

const PAGE = 24
/** Wait this long after a keystroke before asking (typing fast sends one request). */
const DEBOUNCE_MS = 120

export function Home({ query }: { query: URLSearchParams }) {
  const initial = query.get('q') ?? ''
  const [q, setQ] = useState(initial)
  const [page, setPage] = useState<VideoPage | undefined>()
  const [error, setError] = useState<string | undefined>()
  const [loading, setLoading] = useState(true)
  const [more, setMore] = useState(false)
  const searched = useRef(initial)

  useEffect(() => {
    const ctl = new AbortController()
    const timer = setTimeout(
      async () => {
        setLoading(true)
        const text = q.trim()
        const params = new URLSearchParams({ count: String(PAGE), sort: text ? 'relevance' : '-createdAt' })
        if (text) params.set('search', text)
        try {
          const res = await api<VideoPage>(`/api/v1/videos?${params}`, { signal: ctl.signal })
          searched.current = text
          setPage(res)
          setError(undefined)
        } catch (e) {
          if ((e as Error).name === 'AbortError') return
          setError(e instanceof ApiError ? e.message : 'The videos could not be loaded.')
        }
        setLoading(false)
      },
      page ? DEBOUNCE_MS : 0,
    )
    // Keep the query in the address bar without adding a history entry per keystroke.
    const url = q.trim() ? `/?q=${encodeURIComponent(q.trim())}` : '/'
    if (location.pathname + location.search !== url) navigate(url, { replace: true })
    return () => {
      clearTimeout(timer)
      ctl.abort()
    }
  }, [q])

  const loadMore = async () => {
    if (!page) return
    setMore(true)
    const text = searched.current
    const params = new URLSearchParams({ count: String(PAGE), start: String(page.data.length), sort: text ? 'relevance' : '-createdAt' })
    if (text) params.set('search', text)
    try {
      const res = await api<VideoPage>(`/api/v1/videos?${params}`)
      setPage({ ...res, data: [...page.data, ...res.data] })
    } catch (e) {
      setError(e instanceof ApiError ? e.message : 'More videos could not be loaded.')
    }
    setMore(false)
  }

  const text = searched.current
  const status = !page
    ? 'Loading videos…'
    : page.total === 0
      ? text
        ? `No videos match “${text}”.`
        : 'No videos yet.'
      : text
        ? `${page.total}${page.totalIsLowerBound ? '+' : ''} video${page.total === 1 ? '' : 's'} match “${text}”.`
        : `${page.total}${page.totalIsLowerBound ? '+' : ''} video${page.total === 1 ? '' : 's'} on the network.`

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
            value={q}
            aria-describedby="search-status"
            onInput={(e) => setQ((e.target as HTMLInputElement).value)}
          />
        </form>
      </div>
      <p id="search-status" class="status-line" role="status" aria-live="polite" aria-busy={loading}>
        {status}
      </p>
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
      {page && page.total === 0 && !text && (
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
