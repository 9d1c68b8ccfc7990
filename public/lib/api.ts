/**
 * Calls to the pod's API: JSON in and out, the session's bearer token, and its error shape
 * `{ error: { code, message } }` turned into an ApiError. A 401 on a token ends the session.
 */
import { session, setSession } from './session'

/** An API error: HTTP status, the API's code and its human message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message)
  }
}

/** Options of `api`: a JSON body, an abort signal, another method. */
export interface ApiOptions {
  method?: string
  body?: unknown
  signal?: AbortSignal
}

/** `fetch` of an API path (`/api/v1/...`), with the token; resolves to the JSON answer. */
export async function api<T>(path: string, opts: ApiOptions = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' }
  const s = session()
  if (s) headers.authorization = `Bearer ${s.token}`
  if (opts.body !== undefined) headers['content-type'] = 'application/json'
  let res: Response
  try {
    res = await fetch(path, {
      method: opts.method ?? (opts.body === undefined ? 'GET' : 'POST'),
      headers,
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      signal: opts.signal,
    })
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw e
    throw new ApiError(0, 'network', 'The pod cannot be reached. Check your connection and try again.')
  }
  if (res.status === 204) return undefined as T
  const body = (await res.json().catch(() => undefined)) as { error?: { code: string; message: string } } | undefined
  if (!res.ok) {
    const code = body?.error?.code ?? 'http_' + res.status
    if (res.status === 401 && s) setSession(undefined)
    throw new ApiError(res.status, code, body?.error?.message ?? `The pod answered ${res.status}.`)
  }
  return body as T
}

/** Logs in: a token for the name and password, then the account it belongs to. */
export async function logIn(username: string, password: string): Promise<void> {
  const t = await api<{ accessToken: string; expiresIn: number }>('/api/v1/auth/token', { body: { username, password } })
  const res = await fetch('/api/v1/users/me', { headers: { authorization: `Bearer ${t.accessToken}` } })
  if (!res.ok) throw new ApiError(res.status, 'login_failed', 'Logged in, but the account could not be read. Try again.')
  const user = await res.json()
  // Expire a little early: a request at the last second would fail half-way.
  setSession({ token: t.accessToken, expiresAt: Date.now() + (t.expiresIn - 10) * 1000, user })
}
