/**
 * The admin page's accounts: those waiting for approval (`registrations = "approval"`) first,
 * each accepted or refused (a refused account is deleted), then every other account, which an
 * admin disables, enables or deletes. A disabled or deleted account's sessions end at their
 * next request. Refreshed every few seconds while the page is open.
 */
import { api } from '../lib/api'
import { relative } from '../lib/format'
import { useAdminData } from '../lib/refresh'
import { useSession } from '../lib/session'
import type { User } from '../lib/types'

const REFRESH_MS = 5000

/** The "Accounts" section. */
export function Accounts() {
  const s = useSession()
  const { data: users, error, act } = useAdminData(async () => (await api<{ data: User[] }>('/api/v1/users')).data, 'The accounts could not be loaded.', REFRESH_MS)
  const setStatus = (u: User, status: 'active' | 'disabled') => act('Changing the account', () => api(`/api/v1/users/${u.id}`, { method: 'PATCH', body: { status } }))
  const remove = (u: User) => act('Deleting the account', () => api(`/api/v1/users/${u.id}`, { method: 'DELETE' }))

  const pending = users?.filter((u) => u.status === 'pending') ?? []
  const others = users?.filter((u) => u.status !== 'pending') ?? []
  const button = (label: string, onClick: () => void, kind = 'btn-ghost') => (
    <button type="button" class={`btn btn-small ${kind}`} onClick={onClick}>
      {label}
    </button>
  )
  return (
    <section aria-labelledby="accounts-title" class="section accounts-section">
      <h2 id="accounts-title">Accounts</h2>
      {error && (
        <p class="error-text" role="alert">
          {error}
        </p>
      )}
      {pending.length > 0 && (
        <>
          <h3>Waiting for approval</h3>
          <ul class="accounts pending">
            {pending.map((u) => (
              <li key={u.id} data-account={u.username}>
                <strong>{u.username}</strong> <span class="muted">registered {relative(u.createdAt)}</span> {button('Accept', () => setStatus(u, 'active'), 'btn-primary')}{' '}
                {button('Refuse', () => remove(u), 'btn-danger-outline')}
              </li>
            ))}
          </ul>
        </>
      )}
      {users && (
        <ul class="accounts">
          {others.map((u) => (
            <li key={u.id} data-account={u.username}>
              <strong>{u.username}</strong> <span class="muted">{u.role}{u.status === 'disabled' ? ', disabled' : ''}</span>{' '}
              {u.id !== s?.user.id &&
                (u.status === 'active' ? button('Disable', () => setStatus(u, 'disabled')) : <>{button('Enable', () => setStatus(u, 'active'))} {button('Delete', () => remove(u), 'btn-danger-outline')}</>)}
            </li>
          ))}
        </ul>
      )}
    </section>
  )
}
