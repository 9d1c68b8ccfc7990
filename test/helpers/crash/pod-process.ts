/**
 * Pods of the crash test as real processes of the CLI (`bun src/app/cli.ts serve`), killed with
 * SIGKILL and started again on the same data folder and port; and `storage migrate` runs beside
 * them. The seeded schedule of test/crash.test.ts decides when.
 */
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { BUN, Child, childEnv, CLI, ROOT, runCli } from '../pods'
import { freePort } from '../ports'

/** The password of every account the crash test makes. */
const PASSWORD = 'correct horse battery staple'

/**
 * Settings that keep a crash test fast and its pods friends through it all: deliveries retried
 * within a second, a score that fifty restarts cannot spend, small batches (a fan-out is many
 * requests, so kills land between them), renditions of one height, tokens valid for the run.
 */
const FAST_ENV: Record<string, string> = {
  SEEDPOD_RETRY_BASE_MS: '100',
  SEEDPOD_RETRY_FACTOR: '2',
  SEEDPOD_RETRY_RETRIES: '3',
  SEEDPOD_SCORE_INITIAL: '1000000',
  SEEDPOD_SCORE_MAX: '1000000',
  SEEDPOD_SCORE_STEP: '1',
  SEEDPOD_DELIVERY_BATCH_MESSAGES: '3',
  SEEDPOD_TRANSCODING_RESOLUTIONS: '144',
  SEEDPOD_AUTH_TOKEN_TTL_SECONDS: '86400',
  SEEDPOD_FRIENDS_MESSAGES_PER_MINUTE: '100000',
  SEEDPOD_FRIENDS_MESSAGES_PER_MINUTE_PER_ADDRESS: '100000',
  SEEDPOD_LOG_FORMAT: 'json',
}

/** Events no crash may cause (a lost file is forgotten: something was lost), counted over every process of a pod. */
const ALARMS = ['video.lost', 'video.rendition.lost', 'transcoder.job.crashed', 'transcoder.job.failed', 'http.error', 'redundancy.check.failed', 'housekeeping.failed'] as const

/** The lines of a process's output that log an alarm event. */
const alarmLines = (output: string) => output.split('\n').filter((line) => ALARMS.some((event) => line.includes(`"event":"${event}"`))).map((line) => line.slice(0, 2000))

/** One pod of the test: a data folder and a port it keeps across its restarts. */
export class CrashPod {
  readonly base: string
  /** The running process, if any. */
  child?: Child
  /** The output of the processes before the current one (the end of it), for a failure's report. */
  private history = ''
  kills = 0
  /** Alarm events logged by its processes (ALARMS), each with the line that said it. */
  readonly alarms: string[] = []
  token = ''
  fingerprint = ''

  constructor(
    readonly name: string,
    /** Its data folder (an earlier release's, or a new one). */
    readonly dataDir: string,
    /** Its port: its URL is `http://127.0.0.1:PORT`, as an earlier release's data folder knows it. */
    readonly port: number,
    /** SEEDPOD_* settings (storage, redundancy, ...), changed between phases. */
    public env: Record<string, string>,
  ) {
    this.base = `http://127.0.0.1:${port}`
  }

  /** A pod with a new data folder in `dir`, on a free port. */
  static async create(name: string, dir: string, env: Record<string, string>): Promise<CrashPod> {
    return new CrashPod(name, join(dir, 'data'), await freePort(), env)
  }

  /** Makes its admin account (`seedpod user add`), before its first start. */
  async addAdmin(): Promise<void> {
    const r = await runCli(['user', 'add', 'admin', '--admin', '--password-stdin', '--data-dir', this.dataDir], { cwd: ROOT, env: this.childEnv(), stdin: `${PASSWORD}\n` })
    if (r.code !== 0) throw new Error(`${this.name}: user add failed: ${r.stderr}`)
  }

  private childEnv(): Record<string, string> {
    return childEnv({ ...FAST_ENV, ...this.env })
  }

  get running(): boolean {
    return this.child !== undefined && this.child.proc.exitCode === null && this.child.proc.signalCode === null
  }

  /** Starts the process (it answers a moment later: `ready`). */
  spawn(): void {
    if (this.running) throw new Error(`${this.name} is running already`)
    if (this.child) {
      this.alarms.push(...alarmLines(this.child.stderr))
      this.history = (this.history + this.child.stderr).slice(-200_000)
    }
    this.child = new Child([BUN, CLI, 'serve', '--data-dir', this.dataDir, '--port', String(this.port), '--host', '127.0.0.1', '--url', this.base], {
      cwd: ROOT,
      env: this.childEnv(),
    })
  }

  /** Waits until the pod is assembled (its health answers: the start's sweep is done). */
  async ready(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      if (!this.running) throw new Error(`${this.name} exited (${this.child?.proc.exitCode ?? this.child?.proc.signalCode}) before answering:\n${this.recentLog()}`)
      const res = await fetch(`${this.base}/api/v1/health`).catch(() => undefined)
      if (res?.ok) return
      if (Date.now() > deadline) throw new Error(`${this.name} did not answer within ${timeoutMs} ms:\n${this.recentLog()}`)
      await Bun.sleep(20)
    }
  }

  /** Starts it and waits until it answers. */
  async start(): Promise<void> {
    this.spawn()
    await this.ready()
  }

  /** SIGKILL, as a crash or a power cut would stop it. */
  async kill(): Promise<void> {
    if (!this.running) return
    this.child!.proc.kill(9)
    await this.child!.proc.exited
    this.kills++
  }

  /** A clean stop (SIGTERM), at the end of the test. */
  async stop(): Promise<void> {
    if (!this.running) return
    this.child!.proc.kill('SIGTERM')
    await this.child!.exit(10_000)
  }

  /** Logs in as the admin (once: tokens outlive restarts). */
  async login(): Promise<void> {
    const res = await fetch(`${this.base}/api/v1/auth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: PASSWORD }) })
    if (!res.ok) throw new Error(`${this.name}: login ${res.status} ${await res.text()}`)
    this.token = ((await res.json()) as { accessToken: string }).accessToken
    this.fingerprint = ((await (await fetch(`${this.base}/api/v1/pod`)).json()) as { fingerprint: string }).fingerprint
  }

  /** A request as its admin. */
  api(path: string, init: RequestInit = {}): Promise<Response> {
    return fetch(`${this.base}${path}`, { ...init, headers: { authorization: `Bearer ${this.token}`, ...(init.headers as Record<string, string>) } })
  }

  /** `GET path` as its admin, as JSON; throws on another status than 200. */
  async json<T>(path: string): Promise<T> {
    const res = await this.api(path)
    if (res.status !== 200) throw new Error(`${this.name}: GET ${path}: ${res.status} ${await res.text()}`)
    return (await res.json()) as T
  }

  /** The names in its tmp/ folder now. */
  tmpNames(): string[] {
    try {
      return readdirSync(join(this.dataDir, 'tmp'))
    } catch {
      return []
    }
  }

  /** Every alarm event so far, the current process's included. */
  alarmsNow(): string[] {
    return [...this.alarms, ...alarmLines(this.child?.stderr ?? '')]
  }

  /**
   * Resolves once the running process logs `event` after `from` (an offset into its output),
   * or after `timeoutMs`; says whether it came.
   */
  async logged(event: string, from: number, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs
    while (Date.now() < deadline) {
      if (this.child?.stderr.includes(`"event":"${event}"`, from)) return true
      await Bun.sleep(2)
    }
    return false
  }

  /** Where the running process's output ends now. */
  outputLength(): number {
    return this.child?.stderr.length ?? 0
  }

  /** Its processes' last lines of output above debug (a failure's report). */
  recentLog(lines = 60): string {
    const all = (this.history + (this.child?.stderr ?? '')).split('\n').filter((l) => l && !l.includes('"level":"debug"'))
    return all.slice(-lines).map((l) => l.slice(0, 600)).join('\n')
  }
}

/** `seedpod storage migrate --to s3` on a pod's data folder, in the background: killed or left to finish. */
export class Migration {
  readonly child: Child
  constructor(pod: CrashPod, storageEnv: Record<string, string>) {
    this.child = new Child([BUN, CLI, 'storage', 'migrate', '--to', 's3', '--data-dir', pod.dataDir], { cwd: ROOT, env: childEnv({ ...FAST_ENV, ...pod.env, ...storageEnv }) })
  }

  get running(): boolean {
    return this.child.proc.exitCode === null && this.child.proc.signalCode === null
  }

  async kill(): Promise<void> {
    if (this.running) this.child.proc.kill(9)
    await this.child.proc.exited
  }
}
