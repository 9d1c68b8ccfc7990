/**
 * Client-side routing over the History API: the pod serves the same HTML at every page
 * route; `useRoute` re-renders on navigation and `navigate` changes the URL. Links inside
 * the app are plain <a href> (keyboard, middle-click and screen readers work as usual); a
 * document-level click handler turns same-origin clicks into `navigate`.
 */
import { useEffect, useState } from 'preact/hooks'

/** The current location, as the app routes it. */
export interface Route {
  path: string
  query: URLSearchParams
}

const listeners = new Set<() => void>()

function current(): Route {
  return { path: location.pathname, query: new URLSearchParams(location.search) }
}

/** Goes to `url` inside the app (pushState, or replaceState with `replace`). */
export function navigate(url: string, opts: { replace?: boolean } = {}): void {
  if (opts.replace) history.replaceState(null, '', url)
  else history.pushState(null, '', url)
  for (const l of listeners) l()
  if (!opts.replace) window.scrollTo(0, 0)
}

/** The route, re-rendering the component on every navigation. */
export function useRoute(): Route {
  const [route, setRoute] = useState(current)
  useEffect(() => {
    const update = () => setRoute(current())
    listeners.add(update)
    window.addEventListener('popstate', update)
    return () => {
      listeners.delete(update)
      window.removeEventListener('popstate', update)
    }
  }, [])
  return route
}

/** Page paths the app renders itself; other links load normally. */
const APP_PATH = /^\/(|videos\/[^/]+|upload|login|register|admin)$/

/** Installs the click handler that keeps same-app links inside the app. */
export function interceptLinks(): void {
  document.addEventListener('click', (e) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return
    const a = (e.target as Element | null)?.closest?.('a')
    if (!a || a.target || a.hasAttribute('download')) return
    const url = new URL(a.href, location.href)
    if (url.origin !== location.origin || !APP_PATH.test(url.pathname)) return
    e.preventDefault()
    navigate(url.pathname + url.search)
  })
}
