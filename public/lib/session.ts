/**
 * The logged-in user: the access token (kept in localStorage until it expires, so a reload
 * keeps the session) and the account it belongs to. Components subscribe with `useSession`.
 */
import { useEffect, useState } from 'preact/hooks'
import type { User } from './types'

const KEY = 'seedpod.session'

/** A session: token, its expiry (ms since epoch) and the user. */
export interface Session {
  token: string
  expiresAt: number
  user: User
}

function load(): Session | undefined {
  try {
    const s = JSON.parse(localStorage.getItem(KEY) ?? 'null') as Session | null
    return s && s.expiresAt > Date.now() ? s : undefined
  } catch {
    return undefined
  }
}

let current = load()
const listeners = new Set<(s: Session | undefined) => void>()

/** The session, or undefined when logged out or expired. */
export function session(): Session | undefined {
  if (current && current.expiresAt <= Date.now()) setSession(undefined)
  return current
}

/** Logs in (a session) or out (undefined), and tells every subscriber. */
export function setSession(s: Session | undefined): void {
  current = s
  try {
    if (s) localStorage.setItem(KEY, JSON.stringify(s))
    else localStorage.removeItem(KEY)
  } catch {
    // private mode without storage: the session lives in memory only
  }
  for (const l of listeners) l(s)
}

/** The current session, re-rendering the component when it changes. */
export function useSession(): Session | undefined {
  const [s, set] = useState(session())
  useEffect(() => {
    listeners.add(set)
    return () => void listeners.delete(set)
  }, [])
  return s
}
