/**
 * Admin: a warning when the pod has no ffmpeg (components/MediaTools.tsx); every friend pod with its URL, score (and a chart of it over time), state, queued
 * messages, next retry and last error; and the two network actions, make friends and quit.
 * The list refreshes every few seconds while the page is open. Below, the re-packaging of
 * videos of earlier releases (components/Repackaging.tsx), the transcoding jobs with a
 * progress bar each, refreshed every second while any is waiting or running, the remote
 * transcoding runners with their tokens (components/Runners.tsx), and the accounts, those
 * waiting for approval first (components/Accounts.tsx).
 */
import { useState } from 'preact/hooks'
import { Accounts } from '../components/Accounts'
import { PageTitle } from '../components/Layout'
import { MediaToolsAlert } from '../components/MediaTools'
import { Repackaging } from '../components/Repackaging'
import { Runners } from '../components/Runners'
import { ScoreChart } from '../components/ScoreChart'
import { StorageState } from '../components/StorageState'
import { TranscodeJobList, unfinished, usePollJobs } from '../components/TranscodeJobs'
import { api, ApiError } from '../lib/api'
import { fullDate, relative, sentence } from '../lib/format'
import { useRefresh } from '../lib/refresh'
import { useSession } from '../lib/session'
import type { AdminJob, Friend, ScorePoint } from '../lib/types'

/** Finished jobs shown besides the unfinished ones (the API lists unfinished first). */
const FINISHED_SHOWN = 10

/** The pod's transcoding queue: unfinished jobs and the latest finished ones. */
function Transcoding({ refresh }: { refresh: number }) {
  const [jobs, setJobs] = useState<AdminJob[] | undefined>()
  const [error, setError] = useState<string | undefined>()
  usePollJobs(
    async () => {
      try {
        const r = await api<{ jobs: AdminJob[] }>('/api/v1/videos/transcoding/jobs')
        setJobs(r.jobs)
        setError(undefined)
        return r.jobs
      } catch (e) {
        setError(e instanceof ApiError ? sentence(e.message) : 'The transcoding jobs could not be loaded.')
        return undefined
      }
    },
    undefined,
    1000,
    [refresh],
  )
  const open = jobs?.filter(unfinished) ?? []
  const shown = jobs ? [...open, ...jobs.filter((j) => !unfinished(j)).slice(0, FINISHED_SHOWN)] : []
  return (
    <section aria-labelledby="transcoding-title" class="section">
      <h2 id="transcoding-title">Transcoding</h2>
      {error && <p class="error-text">{error}</p>}
      {jobs && (
        <p class="muted">
          {open.length
            ? `${open.filter((j) => j.state === 'running').length} running, ${open.filter((j) => j.state === 'queued').length} waiting.`
            : jobs.length
              ? 'Nothing to do: every job has finished.'
              : 'No transcoding jobs yet: uploads get smaller versions here.'}
        </p>
      )}
      {shown.length > 0 && (
        <TranscodeJobList
          jobs={shown}
          title={(j) => <a href={`/videos/${encodeURIComponent(j.video)}`}>{(j as AdminJob).name ?? j.video}</a>}
        />
      )}
    </section>
  )
}

const REFRESH_MS = 5000

interface FriendingResult {
  url: string
  status: 'added' | 'refreshed' | 'failed' | 'skipped'
  videos?: number
  error?: string
}

function StateBadge({ state }: { state: string }) {
  return <span class={`state state-${state.replace(/[^a-z]/gi, '')}`}>{state}</span>
}

function FriendsTable({ friends, history }: { friends: Friend[]; history: Record<string, ScorePoint[]> }) {
  return (
    <div class="table-wrap">
      <table class="friends">
        <caption class="visually-hidden">Friend pods, with their score and delivery state</caption>
        <thead>
          <tr>
            <th scope="col">Pod</th>
            <th scope="col">Score</th>
            <th scope="col">State</th>
            <th scope="col">Queued</th>
            <th scope="col">Next retry</th>
            <th scope="col">Last error</th>
          </tr>
        </thead>
        <tbody>
          {friends.map((f) => (
            <tr key={f.fingerprint} data-fingerprint={f.fingerprint}>
              <th scope="row" data-label="Pod">
                <span class="friend-name">{f.name || 'Unnamed pod'}</span>
                <a class="friend-url" href={f.url} rel="noreferrer">
                  {f.url}
                </a>
                <span class="fingerprint" title={`Fingerprint ${f.fingerprint}`}>
                  {f.fingerprint.slice(0, 12)}…
                </span>
              </th>
              <td data-label="Score" class="score-cell">
                <span class="score-value">{f.score}</span>
                <ScoreChart points={history[f.fingerprint] ?? []} name={f.name || f.url} />
              </td>
              <td data-label="State">
                <StateBadge state={f.state} />
              </td>
              <td data-label="Queued" class="num">
                {f.queued}
              </td>
              <td data-label="Next retry">
                {f.nextRetryAt ? (
                  <time dateTime={f.nextRetryAt} title={fullDate(f.nextRetryAt)}>
                    {relative(f.nextRetryAt)}
                  </time>
                ) : (
                  <span class="muted">none</span>
                )}
              </td>
              <td data-label="Last error" class="error-cell">
                {f.lastError ? <span class="error-text">{f.lastError}</span> : <span class="muted">none</span>}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  )
}

export function Admin() {
  const s = useSession()
  const [friends, setFriends] = useState<Friend[] | undefined>()
  const [history, setHistory] = useState<Record<string, ScorePoint[]>>({})
  const [error, setError] = useState<string | undefined>()
  const [urls, setUrls] = useState('')
  const [making, setMaking] = useState(false)
  const [results, setResults] = useState<FriendingResult[] | undefined>()
  const [confirmQuit, setConfirmQuit] = useState(false)
  const [quitting, setQuitting] = useState(false)
  const [notice, setNotice] = useState<string | undefined>()
  const [tick, setTick] = useState(0)
  const isAdmin = s?.user.role === 'admin'

  useRefresh(
    async (live) => {
      if (!isAdmin) return
      try {
        const { friends: list } = await api<{ friends: Friend[] }>('/api/v1/friends')
        if (!live()) return
        setFriends(list)
        setError(undefined)
        const entries = await Promise.all(
          list.map(async (f) => {
            try {
              const r = await api<{ scores: ScorePoint[] }>(`/api/v1/friends/${encodeURIComponent(f.fingerprint)}/scores`)
              return [f.fingerprint, r.scores] as const
            } catch {
              return [f.fingerprint, [] as ScorePoint[]] as const
            }
          }),
        )
        if (live()) setHistory(Object.fromEntries(entries))
      } catch (e) {
        if (live()) setError(e instanceof ApiError ? sentence(e.message) : 'The friend list could not be loaded.')
      }
    },
    REFRESH_MS,
    [isAdmin, tick],
  )

  if (!s || !isAdmin) {
    return (
      <div class="page page-narrow">
        <PageTitle>Admin</PageTitle>
        <p class="alert alert-info">
          {s ? 'This page is for the pod’s admins.' : 'Log in as an admin of this pod to manage its friends.'}
        </p>
        {!s && (
          <a class="btn btn-primary" href="/login?next=%2Fadmin">
            Log in
          </a>
        )}
      </div>
    )
  }

  const make = async (e: Event) => {
    e.preventDefault()
    const pods = urls
      .split(/[\s,]+/)
      .map((u) => u.trim())
      .filter(Boolean)
    if (!pods.length) {
      setError('Enter the URL of at least one pod.')
      return
    }
    const bad = pods.find((u) => !/^https?:\/\/[^/\s]+/i.test(u))
    if (bad) {
      setError(`“${bad}” is not a pod URL (it should start with http:// or https://).`)
      return
    }
    setMaking(true)
    setError(undefined)
    setResults(undefined)
    try {
      const r = await api<{ results: FriendingResult[] }>('/api/v1/friends/make', { body: { pods } })
      setResults(r.results)
      setUrls('')
      setTick((n) => n + 1)
    } catch (err) {
      setError(err instanceof ApiError ? sentence(err.message) : 'Making friends failed.')
    }
    setMaking(false)
  }

  const quit = async () => {
    setQuitting(true)
    setError(undefined)
    try {
      const r = await api<{ left: { url: string; told: boolean }[] }>('/api/v1/friends/quit', { method: 'POST' })
      const told = r.left.filter((l) => l.told).length
      setNotice(`Left the network: ${r.left.length} friend${r.left.length === 1 ? '' : 's'} removed, ${told} told.`)
      setTick((n) => n + 1)
    } catch (err) {
      setError(err instanceof ApiError ? sentence(err.message) : 'Quitting failed.')
    }
    setQuitting(false)
    setConfirmQuit(false)
  }

  const counts = friends ? { all: friends.length, healthy: friends.filter((f) => !f.lastError && f.queued === 0).length } : undefined
  return (
    <div class="page page-admin">
      <PageTitle>Network</PageTitle>
      <p class="lead">
        {counts
          ? counts.all === 0
            ? 'This pod has no friends yet: it is a network of one.'
            : `${counts.all} friend pod${counts.all === 1 ? '' : 's'}, ${counts.healthy} fully up to date.`
          : 'Loading the friend list…'}
      </p>
      <MediaToolsAlert />
      {error && (
        <p class="alert alert-error" role="alert">
          {error}
        </p>
      )}
      {notice && (
        <p class="alert alert-success" role="status">
          {notice}
        </p>
      )}

      <section aria-labelledby="friends-title" class="section">
        <h2 id="friends-title">Friends</h2>
        {friends && friends.length > 0 && <FriendsTable friends={friends} history={history} />}
        {friends && friends.length === 0 && <p class="muted">No friends. Make friends below to join a network of pods.</p>}
      </section>

      <Repackaging />
      <Transcoding refresh={tick} />
      <StorageState />

      <Runners />

      <Accounts />

      <div class="admin-actions">
        <section aria-labelledby="make-title" class="card-panel">
          <h2 id="make-title">Make friends</h2>
          <p class="muted">
            The pods you name become friends, and so do the pods that at least half of them are friends with. Their videos appear here, yours appear there.
          </p>
          <form class="form" onSubmit={make}>
            <div class="field">
              <label for="make-urls">Pod URLs, one per line</label>
              <textarea
                id="make-urls"
                rows={3}
                placeholder="https://pod.example.org"
                value={urls}
                disabled={making}
                onInput={(e) => setUrls((e.target as HTMLTextAreaElement).value)}
              />
            </div>
            <button type="submit" class="btn btn-primary" disabled={making}>
              {making ? 'Making friends…' : 'Make friends'}
            </button>
          </form>
          {results && (
            <ul class="results" role="status" aria-label="Results of making friends">
              {results.map((r) => (
                <li key={r.url} class={`result result-${r.status}`}>
                  <strong>{r.url}</strong>: {r.status}
                  {r.videos !== undefined && `, ${r.videos} video${r.videos === 1 ? '' : 's'}`}
                  {r.error && <span class="error-text"> ({r.error})</span>}
                </li>
              ))}
            </ul>
          )}
        </section>

        <section aria-labelledby="quit-title" class="card-panel danger-zone">
          <h2 id="quit-title">Leave the network</h2>
          <p class="muted">Tells every friend that this pod leaves, and forgets their videos. You can make friends again later.</p>
          {confirmQuit ? (
            <div class="confirm" role="group" aria-labelledby="quit-confirm-text">
              <p id="quit-confirm-text">
                <strong>Leave the network and end {friends?.length ?? 0} friendship{friends?.length === 1 ? '' : 's'}?</strong>
              </p>
              <div class="actions">
                <button type="button" class="btn btn-danger" onClick={quit} disabled={quitting} autoFocus>
                  {quitting ? 'Leaving…' : 'Yes, leave'}
                </button>
                <button type="button" class="btn btn-ghost" onClick={() => setConfirmQuit(false)} disabled={quitting}>
                  Cancel
                </button>
              </div>
            </div>
          ) : (
            <button type="button" class="btn btn-danger-outline" onClick={() => setConfirmQuit(true)} disabled={!friends?.length}>
              Quit the network…
            </button>
          )}
        </section>
      </div>
    </div>
  )
}
