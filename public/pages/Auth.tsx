/** Log in and register. After either, the user goes back where they came from (`?next=`). */
import { useRef, useState } from 'preact/hooks'
import { PageTitle } from '../components/Layout'
import { api, ApiError, logIn } from '../lib/api'
import { boot } from '../lib/boot'
import { sentence } from '../lib/format'
import { navigate } from '../lib/router'
import type { User } from '../lib/types'

/** Where to go after logging in: a path of this pod only (never another site). */
function nextPath(query: URLSearchParams): string {
  const next = query.get('next') ?? '/'
  return next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/login') && !next.startsWith('/register') ? next : '/'
}

function Field(props: { id: string; label: string; type: 'text' | 'password'; value: string; autocomplete: string; onInput: (v: string) => void; hint?: string; invalid?: boolean }) {
  const common = {
    id: props.id,
    name: props.id,
    required: true,
    value: props.value,
    autocomplete: props.autocomplete,
    'aria-invalid': props.invalid || undefined,
    'aria-describedby': props.hint ? `${props.id}-hint` : undefined,
    onInput: (e: Event) => props.onInput((e.target as HTMLInputElement).value),
  }
  return (
    <div class="field">
      <label for={props.id}>{props.label}</label>
      {/* Two literal inputs: Preact's types tie each input type to its own attributes. */}
      {props.type === 'password' ? <input type="password" {...common} /> : <input type="text" {...common} />}
      {props.hint && (
        <p class="hint" id={`${props.id}-hint`}>
          {props.hint}
        </p>
      )}
    </div>
  )
}

/**
 * The state of a credentials form: the two fields, the busy flag, and an error that takes
 * the focus (so screen readers announce it). `act` does the work; `failure` words its error.
 */
function useCredentialsForm(empty: string, act: (username: string, password: string) => Promise<void>, failure: (err: ApiError) => string) {
  const [username, setUsername] = useState('')
  const [password, setPassword] = useState('')
  const [error, setError] = useState<string | undefined>()
  const [busy, setBusy] = useState(false)
  const errorRef = useRef<HTMLParagraphElement>(null)
  const submit = async (e: Event) => {
    e.preventDefault()
    if (!username.trim() || !password) {
      setError(empty)
      return
    }
    setBusy(true)
    setError(undefined)
    try {
      await act(username.trim(), password)
    } catch (err) {
      setBusy(false)
      setError(failure(err as ApiError))
      queueMicrotask(() => errorRef.current?.focus())
    }
  }
  return { username, setUsername, password, setPassword, error, busy, errorRef, submit }
}

export function Login({ query }: { query: URLSearchParams }) {
  const next = nextPath(query)
  const mustLogIn = boot.pod.requireLoginToWatch && query.has('next')
  const { username, setUsername, password, setPassword, error, busy, errorRef, submit } = useCredentialsForm(
    'Enter your user name and password.',
    async (name, pass) => {
      await logIn(name, pass)
      navigate(next, { replace: true })
    },
    (err) => (err.status === 401 ? 'Wrong user name or password.' : sentence(err.message)),
  )

  return (
    <div class="page page-auth">
      <div class="auth-card">
        <PageTitle>Log in</PageTitle>
        {mustLogIn && <p class="alert alert-info">This pod shows its videos to its members: log in to watch.</p>}
        <form class="form" onSubmit={submit} noValidate>
          <Field id="username" label="User name" type="text" autocomplete="username" value={username} onInput={setUsername} invalid={!!error} />
          <Field id="password" label="Password" type="password" autocomplete="current-password" value={password} onInput={setPassword} invalid={!!error} />
          {error && (
            <p class="alert alert-error" role="alert" tabIndex={-1} ref={errorRef}>
              {error}
            </p>
          )}
          <button type="submit" class="btn btn-primary btn-block" disabled={busy}>
            {busy ? 'Logging in…' : 'Log in'}
          </button>
        </form>
        {boot.pod.registrations !== 'closed' && (
          <p class="auth-switch">
            New here? <a href={`/register?next=${encodeURIComponent(next)}`}>Create an account</a>
          </p>
        )}
      </div>
    </div>
  )
}

export function Register({ query }: { query: URLSearchParams }) {
  const next = nextPath(query)
  const [waiting, setWaiting] = useState(false)
  const { username, setUsername, password, setPassword, error, busy, errorRef, submit } = useCredentialsForm(
    'Choose a user name and a password.',
    async (name, pass) => {
      const user = await api<User>('/api/v1/users', { body: { username: name, password: pass } })
      // With registrations = "approval", the account waits for an admin before it can log in.
      if (user.status === 'pending') return setWaiting(true)
      await logIn(name, pass)
      navigate(next, { replace: true })
    },
    (err) => sentence(err.message),
  )

  if (waiting) {
    return (
      <div class="page page-auth">
        <div class="auth-card">
          <PageTitle>Account made</PageTitle>
          <p role="status">Your account waits for an admin of this pod to accept it. Once they have, log in with the name and password you chose.</p>
          <p>
            <a href="/login">Log in</a> later, or <a href="/">watch videos</a> meanwhile.
          </p>
        </div>
      </div>
    )
  }

  if (boot.pod.registrations === 'closed') {
    return (
      <div class="page page-auth">
        <div class="auth-card">
          <PageTitle>Register</PageTitle>
          <p>This pod does not take new accounts. Ask its admin for one, or join another pod: videos are shared across the network.</p>
          <p>
            <a href="/login">Log in</a> if you have an account.
          </p>
        </div>
      </div>
    )
  }

  return (
    <div class="page page-auth">
      <div class="auth-card">
        <PageTitle>Create an account</PageTitle>
        <form class="form" onSubmit={submit} noValidate>
          <Field
            id="username"
            label="User name"
            type="text"
            autocomplete="username"
            value={username}
            onInput={setUsername}
            hint="3 to 32 characters: letters, digits, dots, dashes and underscores."
          />
          <Field
            id="password"
            label="Password"
            type="password"
            autocomplete="new-password"
            value={password}
            onInput={setPassword}
            hint="At least 10 characters. A few unrelated words make a strong passphrase."
          />
          {error && (
            <p class="alert alert-error" role="alert" tabIndex={-1} ref={errorRef}>
              {error}
            </p>
          )}
          <button type="submit" class="btn btn-primary btn-block" disabled={busy}>
            {busy ? 'Creating your account…' : 'Create account'}
          </button>
        </form>
        <p class="auth-switch">
          Already registered? <a href={`/login?next=${encodeURIComponent(next)}`}>Log in</a>
        </p>
      </div>
    </div>
  )
}
