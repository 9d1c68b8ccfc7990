/**
 * The browser app of a pod, routed on the client: `/` (latest videos, search), `/videos/:id`
 * (watch), `/upload`, `/login`, `/register`, `/admin`. Loaded and run by app.tsx.
 */
import { render } from 'preact'
import { useEffect, useRef } from 'preact/hooks'
import { Layout, PageTitle } from './components/Layout'
import { boot } from './lib/boot'
import { interceptLinks, navigate, useRoute } from './lib/router'
import { useSession } from './lib/session'
import { Admin } from './pages/Admin'
import { Login, Register } from './pages/Auth'
import { Embed } from './pages/Embed'
import { Home } from './pages/Home'
import { Upload } from './pages/Upload'
import { Watch } from './pages/Watch'
import { debug } from './player/debug'

const TITLES: Record<string, string> = { '/upload': 'Upload', '/login': 'Log in', '/register': 'Register', '/admin': 'Network' }

/** What the error pages say (the pod's own error pages, src/pages/shell.ts, say the same). */
const ERRORS: Record<number, { title: string; text: string }> = {
  404: { title: 'Page not found', text: 'There is nothing at this address.' },
  500: { title: 'Something went wrong', text: 'The pod hit an unexpected error; it has been logged. Try again in a moment.' },
}

function ErrorPage({ status }: { status: number }) {
  const { title, text } = ERRORS[status] ?? ERRORS[404]!
  return (
    <div class="page page-narrow">
      <PageTitle>{title}</PageTitle>
      <p>
        {text} <a href="/">See the latest videos</a>.
      </p>
    </div>
  )
}

/** The error the pod served the first page with (a missing video, a server error), for that address only. */
const served = boot.error && { status: boot.error.status, path: location.pathname }

function App() {
  const route = useRoute()
  const session = useSession()
  const first = useRef(true)
  const { path, query } = route
  const watch = /^\/videos\/([^/]+)$/.exec(path)
  const embed = /^\/videos\/embed\/([^/]+)$/.exec(path)
  // A pod that wants a login before watching sends anonymous viewers to the login page.
  const gated = boot.pod.requireLoginToWatch && !session && (path === '/' || watch !== null)

  useEffect(() => {
    if (gated) navigate(`/login?next=${encodeURIComponent(path + location.search)}`, { replace: true })
  }, [gated, path])

  useEffect(() => {
    if (!watch) document.title = TITLES[path] ? `${TITLES[path]} · ${boot.pod.name}` : boot.pod.name
    // After a client-side navigation, move focus to the new page's heading so that keyboard
    // and screen-reader users start there (a full page load starts at the top anyway).
    if (first.current) {
      first.current = false
      return
    }
    ;(document.getElementById('page-title') ?? document.getElementById('main'))?.focus({ preventScroll: true })
  }, [path])

  // The embed page is the player alone, without the site's frame (other sites frame it).
  if (embed) return <Embed id={decodeURIComponent(embed[1]!)} />
  let page
  if (gated) page = null
  else if (served && served.path === path) page = <ErrorPage status={served.status} />
  else if (path === '/') page = <Home query={query} />
  else if (watch) page = <Watch key={watch[1]} id={decodeURIComponent(watch[1]!)} />
  else if (path === '/upload') page = <Upload />
  else if (path === '/login') page = <Login query={query} />
  else if (path === '/register') page = <Register query={query} />
  else if (path === '/admin') page = <Admin />
  else page = <ErrorPage status={404} />
  return <Layout path={path}>{page}</Layout>
}

debug('app render')
interceptLinks()
// Pods of earlier releases registered WebTorrent's service worker (`/sw.min.js`) for their
// whole-file player; nothing uses it now, and it would stand in front of every request.
navigator.serviceWorker
  ?.getRegistrations()
  .then((all) => all.forEach((r) => r.unregister()))
  .catch(() => undefined)
const root = document.getElementById('app')!
// What the pod rendered there (an error page's frame, the note for browsers without scripts) gives way to the app.
root.replaceChildren()
render(<App />, root)
