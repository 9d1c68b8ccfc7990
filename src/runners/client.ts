/**
 * A runner's side of the runners' API (docs/runners.md): each request carries the runner's
 * secret; an answer that is not 2xx becomes a `PodRefusal` with the pod's error code, and a
 * pod that cannot be reached a `PodUnreachable`, which the worker retries.
 */
import type { RunnerJob } from './model'

/** What `seedpod runner register` stores in the runner's data folder (mode 0600). */
export interface RunnerCredentials {
  /** The pod's URL, without a trailing slash. */
  pod: string
  id: number
  name: string
  secret: string
}

/** The pod answered with an error: its status and code (`lease_expired`, `invalid_token`, ...). */
export class PodRefusal extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message)
    this.name = 'PodRefusal'
  }
}

/** The pod did not answer (down, restarting, the network): worth retrying. */
export class PodUnreachable extends Error {
  override name = 'PodUnreachable'
}

/** Small requests end after this long; downloads and uploads take what they need. */
const REQUEST_TIMEOUT_MS = 15_000

async function send(url: string, init: RequestInit & { timeout?: boolean }): Promise<Response> {
  let res: Response
  try {
    res = await fetch(url, { ...init, ...(init.timeout === false ? {} : { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) }) })
  } catch (e) {
    throw new PodUnreachable(`cannot reach ${new URL(url).origin}: ${(e as Error).message}`)
  }
  if (res.ok) return res
  const body = (await res.json().catch(() => undefined)) as { error?: { code?: string; message?: string } } | undefined
  if (res.status >= 500) throw new PodUnreachable(`the pod answered ${res.status}: ${body?.error?.message ?? res.statusText}`)
  throw new PodRefusal(res.status, body?.error?.code ?? 'error', body?.error?.message ?? `the pod answered ${res.status}`)
}

/** Registers a runner with a registration token; returns what `serve` needs. */
export async function register(pod: string, token: string, name: string): Promise<RunnerCredentials> {
  const base = pod.replace(/\/+$/, '')
  const res = await send(`${base}/api/v1/runners/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token, name }) })
  const r = (await res.json()) as { id: number; name: string; secret: string }
  return { pod: base, id: r.id, name: r.name, secret: r.secret }
}

/** The runner's requests to its pod. */
export class RunnerClient {
  constructor(private readonly credentials: RunnerCredentials) {}

  private url(path: string, lease?: string): string {
    return `${this.credentials.pod}/api/v1/runners${path}${lease ? `?lease=${encodeURIComponent(lease)}` : ''}`
  }

  private get auth() {
    return { authorization: `Bearer ${this.credentials.secret}` }
  }

  private json(path: string, body?: unknown): Promise<Response> {
    return send(this.url(path), { method: 'POST', headers: { ...this.auth, 'content-type': 'application/json' }, body: JSON.stringify(body ?? {}) })
  }

  /** The next job, leased to this runner; null when the queue is empty. */
  async claim(): Promise<RunnerJob | null> {
    return ((await (await this.json('/jobs/claim')).json()) as { job: RunnerJob | null }).job
  }

  /** Streams the job's source to `path`. */
  async download(job: RunnerJob, path: string): Promise<void> {
    const res = await send(this.url(`/jobs/${job.id}/source`, job.lease), { headers: this.auth, timeout: false })
    await Bun.write(path, res)
  }

  async progress(job: RunnerJob, progress: number): Promise<void> {
    await this.json(`/jobs/${job.id}/progress`, { lease: job.lease, progress: Math.min(1, Math.max(0, progress)) })
  }

  async fail(job: RunnerJob, error: string): Promise<void> {
    await this.json(`/jobs/${job.id}/fail`, { lease: job.lease, error: error.slice(-2000) })
  }

  /** Hands the job back (the runner stops). */
  async release(job: RunnerJob): Promise<void> {
    await this.json(`/jobs/${job.id}/release`, { lease: job.lease })
  }

  /** Uploads the result file (streamed from disk). */
  async upload(job: RunnerJob, path: string): Promise<void> {
    const file = Bun.file(path)
    await send(this.url(`/jobs/${job.id}/result`, job.lease), { method: 'PUT', headers: { ...this.auth, 'content-type': 'video/mp4', 'content-length': String(file.size) }, body: file, timeout: false })
  }
}
