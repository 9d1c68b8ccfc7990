/** The frame of every page: skip link, header with navigation and session, main landmark, footer. */
import type { ComponentChildren } from 'preact'
import { boot } from '../lib/boot'
import { navigate } from '../lib/router'
import { setSession, useSession } from '../lib/session'

function NavLink({ href, current, children }: { href: string; current: boolean; children: ComponentChildren }) {
  return (
    <a href={href} class="nav-link" aria-current={current ? 'page' : undefined}>
      {children}
    </a>
  )
}

/** Wraps a page; `path` marks the current navigation item. */
export function Layout({ path, children }: { path: string; children: ComponentChildren }) {
  const s = useSession()
  const next = encodeURIComponent(path + location.search)
  return (
    <>
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <header class="site-header">
        <div class="header-inner">
          <a href="/" class="brand" aria-label={`${boot.pod.name}, home`}>
            <svg class="brand-mark" viewBox="0 0 32 32" aria-hidden="true" focusable="false">
              <circle cx="16" cy="16" r="15" />
              <path d="M13 10.5v11l9-5.5z" />
            </svg>
            <span class="brand-name">{boot.pod.name}</span>
          </a>
          <nav aria-label="Main" class="main-nav">
            <NavLink href="/" current={path === '/'}>
              Videos
            </NavLink>
            <NavLink href="/upload" current={path === '/upload'}>
              Upload
            </NavLink>
            {s?.user.role === 'admin' && (
              <NavLink href="/admin" current={path === '/admin'}>
                Admin
              </NavLink>
            )}
          </nav>
          <div class="session">
            {s ? (
              <>
                <span class="whoami" title={`Logged in as ${s.user.username}`}>
                  <span class="avatar" aria-hidden="true">
                    {s.user.username.slice(0, 1).toUpperCase()}
                  </span>
                  <span class="whoami-name">{s.user.username}</span>
                </span>
                <button
                  type="button"
                  class="btn btn-ghost btn-small"
                  onClick={() => {
                    setSession(undefined)
                    navigate('/')
                  }}
                >
                  Log out
                </button>
              </>
            ) : (
              <>
                <a class="btn btn-ghost btn-small" href={`/login?next=${next}`} aria-current={path === '/login' ? 'page' : undefined}>
                  Log in
                </a>
                {boot.pod.registrations !== 'closed' && (
                  <a class="btn btn-primary btn-small" href={`/register?next=${next}`} aria-current={path === '/register' ? 'page' : undefined}>
                    Register
                  </a>
                )}
              </>
            )}
          </div>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {children}
      </main>
      <footer class="site-footer">
        <p>
          {boot.pod.name} runs seedpod {boot.pod.version}. Videos travel from viewer to viewer, peer to peer.
        </p>
      </footer>
    </>
  )
}

/** A page heading that receives focus after client-side navigation (screen readers announce it). */
export function PageTitle({ children, class: cls }: { children: ComponentChildren; class?: string }) {
  return (
    <h1 id="page-title" tabIndex={-1} class={cls}>
      {children}
    </h1>
  )
}
