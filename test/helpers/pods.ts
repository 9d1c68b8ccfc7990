/**
 * Real pods for tests: in-process (`startTestPod`, on a free loopback port) or as child
 * processes of the real CLI (`spawnCli`, `runCli`). Temporary folders are helpers/temp.ts's,
 * re-exported here for the tests that start pods.
 */
import { join } from 'node:path'
import { resolveConfig, type Config } from '../../src/shared/config'
import { createLogger } from '../../src/shared/log'
import { startPod, type RunningPod } from '../../src/app/server'
import { freePort } from './ports'
import { tempDir } from './temp'

export { removeTempDirs, tempDir } from './temp'

export const ROOT = join(import.meta.dir, '..', '..')
export const CLI = join(ROOT, 'src', 'app', 'cli.ts')
/** Bun itself: the tests run under it. */
export const BUN = process.execPath

/**
 * A validated config for a test pod: loopback, the given data folder, then `values`. Test
 * pods are all on loopback, so they may fetch from private addresses (each other).
 */
export function testConfig(values: Record<string, unknown> & { dataDir: string; port: number }): Config {
  return resolveConfig([
    { source: 'test defaults', values: { host: '127.0.0.1', network: { allowPrivateAddresses: true } } },
    { source: 'test', values },
  ])
}

export interface TestPod {
  running: RunningPod
  config: Config
  /** `http://127.0.0.1:PORT` */
  base: string
  /** Every log line the pod wrote, parsed. */
  logs: Record<string, unknown>[]
  stop(): Promise<void>
}

/** Starts a pod in this process on a free loopback port with its data in a temp folder. */
export async function startTestPod(values: Record<string, unknown> = {}): Promise<TestPod> {
  const port = await freePort()
  const config = testConfig({ dataDir: join(tempDir(), 'data'), port, ...values })
  const logs: Record<string, unknown>[] = []
  const log = createLogger({ level: 'debug', format: 'json', write: (line) => logs.push(JSON.parse(line)) })
  const running = await startPod(config, log)
  return { running, config, base: `http://127.0.0.1:${running.port}`, logs, stop: () => running.stop() }
}

/**
 * An environment for a child process: PATH and HOME only, so that no SEEDPOD_* variable of
 * the developer's shell changes what the test sees, plus `extra`.
 */
export function childEnv(extra: Record<string, string> = {}): Record<string, string> {
  // Child pods of the tests talk to each other on loopback.
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', SEEDPOD_NETWORK_ALLOW_PRIVATE_ADDRESSES: 'true', ...extra }
}

/** A running child process whose output is collected as it comes. */
export class Child {
  readonly proc: Bun.Subprocess<'pipe', 'pipe', 'pipe'>
  stdout = ''
  stderr = ''
  private readonly drained: Promise<void>

  constructor(cmd: string[], opts: { cwd: string; env: Record<string, string>; stdin?: string }) {
    this.proc = Bun.spawn(cmd, { cwd: opts.cwd, env: opts.env, stdin: 'pipe', stdout: 'pipe', stderr: 'pipe' })
    if (opts.stdin !== undefined) this.proc.stdin.write(opts.stdin)
    this.proc.stdin.end()
    const drain = async (stream: ReadableStream<Uint8Array>, into: 'stdout' | 'stderr') => {
      const decoder = new TextDecoder()
      for await (const chunk of stream) this[into] += decoder.decode(chunk, { stream: true })
    }
    this.drained = Promise.all([drain(this.proc.stdout, 'stdout'), drain(this.proc.stderr, 'stderr')]).then(() => {})
  }

  get pid(): number {
    return this.proc.pid
  }

  /** Waits for the exit (killing the process after `timeoutMs`) and for all its output. */
  async exit(timeoutMs = 15_000): Promise<number> {
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), timeoutMs)
    const code = await this.proc.exited
    clearTimeout(timer)
    await this.drained
    return code
  }

  /** Kills it if it still runs (cleanup after a failed test). */
  kill(): void {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGKILL')
  }
}

/** Starts `bun src/app/cli.ts ARGS` in `cwd`. */
export function spawnCli(args: string[], opts: { cwd: string; env?: Record<string, string>; stdin?: string }): Child {
  return new Child([BUN, CLI, ...args], { cwd: opts.cwd, env: opts.env ?? childEnv(), stdin: opts.stdin })
}

/** Runs `bun src/app/cli.ts ARGS` to its end. */
export async function runCli(
  args: string[],
  opts: { cwd: string; env?: Record<string, string>; stdin?: string },
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = spawnCli(args, opts)
  const code = await child.exit()
  return { code, stdout: child.stdout, stderr: child.stderr }
}

/**
 * Polls `GET base/api/v1/pod` until it answers 200 and returns its body. Fails early, with the
 * child's output, if the child exits first.
 */
export async function waitForPod(base: string, child?: Child, timeoutMs = 15_000): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs
  let lastError: unknown
  while (Date.now() < deadline) {
    if (child && (child.proc.exitCode !== null || child.proc.signalCode !== null)) {
      await child.exit()
      throw new Error(`the pod exited (${child.proc.exitCode ?? child.proc.signalCode}) before answering:\n${child.stderr}`)
    }
    try {
      const res = await fetch(`${base}/api/v1/pod`)
      if (res.ok) return (await res.json()) as Record<string, unknown>
      lastError = new Error(`status ${res.status}`)
    } catch (e) {
      lastError = e
    }
    await Bun.sleep(20)
  }
  child?.kill()
  throw new Error(`no answer from ${base}/api/v1/pod within ${timeoutMs} ms (${lastError})${child ? `:\n${child.stderr}` : ''}`)
}

/** The files and folders under `dir`, relative, sorted. */
export function listTree(dir: string): string[] {
  const glob = new Bun.Glob('**')
  return [...glob.scanSync({ cwd: dir, onlyFiles: false, dot: true })].sort()
}

/** JSON-lines log output, parsed (lines that are not JSON are skipped). */
export function logLines(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
}
