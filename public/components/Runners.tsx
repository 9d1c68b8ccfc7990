/**
 * The admin page's remote transcoding runners (README "Transcoding runners"): each runner with
 * its current job and last contact, and the registration tokens, made and revoked here. A new
 * token is shown once, with the command that registers a runner with it. Refreshed every few
 * seconds while the page is open.
 */
import { useState } from 'preact/hooks'
import { api } from '../lib/api'
import { fullDate, relative } from '../lib/format'
import { useAdminData } from '../lib/refresh'
import type { RunnerInfo, TokenInfo } from '../lib/types'

const REFRESH_MS = 3000

function LastContact({ at }: { at: string }) {
  return (
    <time dateTime={at} title={fullDate(at)}>
      {relative(at)}
    </time>
  )
}

function RunnerTable({ runners, onRemove }: { runners: RunnerInfo[]; onRemove: (r: RunnerInfo) => void }) {
  return (
    <div class="table-wrap">
      <table class="runners">
        <caption class="visually-hidden">Transcoding runners, with their current job and last contact</caption>
        <thead>
          <tr>
            <th scope="col">Runner</th>
            <th scope="col">Current job</th>
            <th scope="col">Last contact</th>
            <th scope="col">
              <span class="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {runners.map((r) => (
            <tr key={r.id} data-runner={r.id}>
              <th scope="row" data-label="Runner">
                {r.name}
              </th>
              <td data-label="Current job" class="runner-job">
                {r.job ? (
                  <>
                    <a href={`/videos/${encodeURIComponent(r.job.video)}`}>{r.job.resolution}p</a> {Math.floor(r.job.progress * 100)}%
                  </>
                ) : (
                  <span class="muted">idle</span>
                )}
              </td>
              <td data-label="Last contact">
                <LastContact at={r.lastContactAt} />
              </td>
              <td>
                <button type="button" class="btn btn-small btn-ghost" onClick={() => onRemove(r)}>
                  Remove
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  )
}

/** The "Transcoding runners" section. */
export function Runners() {
  const { data, error, setError, act } = useAdminData(
    async () => {
      const [r, t] = await Promise.all([api<{ runners: RunnerInfo[] }>('/api/v1/runners'), api<{ tokens: TokenInfo[] }>('/api/v1/runners/tokens')])
      return { runners: r.runners, tokens: t.tokens }
    },
    'The runners could not be loaded.',
    REFRESH_MS,
  )
  const { runners, tokens } = data ?? {}
  const [name, setName] = useState('')
  const [made, setMade] = useState<{ name: string; token: string } | undefined>()

  const create = (e: Event) => {
    e.preventDefault()
    if (!name.trim()) return setError('Name the token (say, where its runners are).')
    act('Making the token', async () => {
      const t = await api<{ name: string; token: string }>('/api/v1/runners/tokens', { body: { name: name.trim() } })
      setMade(t)
      setName('')
    })
  }

  return (
    <section aria-labelledby="runners-title" class="section runners-section">
      <h2 id="runners-title">Transcoding runners</h2>
      <p class="muted">Other machines that transcode this pod's uploads: register one with a token below, then run seedpod runner serve there.</p>
      {error && (
        <p class="error-text" role="alert">
          {error}
        </p>
      )}
      {runners && runners.length > 0 && <RunnerTable runners={runners} onRemove={(r) => act('Removing the runner', () => api(`/api/v1/runners/${r.id}`, { method: 'DELETE' }))} />}
      {runners && runners.length === 0 && <p class="muted">No runners: this pod transcodes its uploads itself.</p>}

      <h3>Registration tokens</h3>
      {tokens && tokens.length > 0 && (
        <ul class="tokens">
          {tokens.map((t) => (
            <li key={t.id} data-token={t.id}>
              <strong>{t.name}</strong> <span class="muted">({t.runners} runner{t.runners === 1 ? '' : 's'})</span>{' '}
              <button type="button" class="btn btn-small btn-ghost" onClick={() => act('Revoking the token', () => api(`/api/v1/runners/tokens/${t.id}`, { method: 'DELETE' }))}>
                Revoke
              </button>
            </li>
          ))}
        </ul>
      )}
      {made && (
        <div class="alert alert-success" role="status">
          <p>
            Token “{made.name}”, shown this once. On the runner's machine: <code class="runner-command">seedpod runner register --pod {location.origin} --token {made.token}</code>
          </p>
        </div>
      )}
      <form class="form" onSubmit={create}>
        <div class="field">
          <label for="runner-token-name">New token's name</label>
          <input id="runner-token-name" value={name} maxLength={100} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
        </div>
        <button type="submit" class="btn btn-primary">
          Make a token
        </button>
      </form>
    </section>
  )
}
