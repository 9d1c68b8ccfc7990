/**
 * `seedpod runner ...`: on the pod's machine, the admin's registration tokens (working on the
 * pod's data folder, like `seedpod user add`); on a runner's machine, registering with a pod
 * and serving as its transcoding worker (src/runners/worker.ts), with the runner's own data
 * folder. README.md ("Transcoding runners") and docs/runners.md say more.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { join, resolve } from 'node:path'
import type { LogLevel } from '../shared/config'
import { createLogger } from '../shared/log'
import { EXIT, loadCommands, parse, POD_FLAGS, readConfig, UsageError } from './cli-args'

/** The runner commands' part of `seedpod --help`. */
export const RUNNER_USAGE = `  seedpod runner token create NAME | list | revoke ID [--config FILE] [--data-dir DIR]
                                         registration tokens for runners (DIR: the pod's data folder)
  seedpod runner register --pod URL --token TOKEN [--name NAME] [--data-dir DIR]
  seedpod runner serve [--data-dir DIR] [--poll-ms N] [--retry-base-ms N] [--log-level LEVEL] [--log-format pretty|json]
                                         transcode for a pod (DIR: the runner's own folder, default ./seedpod-runner)`

/** The runner's data folder when none is given. */
const RUNNER_DIR = 'seedpod-runner'
/** The file in it that holds the pod's URL and the runner's secret. */
const CREDENTIALS_FILE = 'runner.json'

async function token(args: string[], env: Record<string, string | undefined>): Promise<number> {
  const [action, ...rest] = args
  const { values, positionals } = parse(rest, POD_FLAGS, 1)
  const config = readConfig(values, env)
  if (!existsSync(join(config.dataDir, 'seedpod.db'))) throw new Error(`no pod in ${resolve(config.dataDir)} (give the pod's --data-dir or --config)`)
  const { store, close } = (await loadCommands()).openRunnerStore(config)
  try {
    switch (action) {
      case 'create': {
        const name = positionals[0]
        if (!name || name.length > 100) throw new UsageError('runner token create needs a NAME (at most 100 characters)')
        const made = store.createToken(name)
        console.error(`created registration token ${made.id} (${name}); on a runner: seedpod runner register --pod ${config.url} --token <the token below>`)
        console.log(made.token)
        return EXIT.ok
      }
      case 'list':
        if (positionals.length) throw new UsageError(`unexpected argument ${positionals[0]}`)
        for (const t of store.tokens()) console.log(`${t.id}\t${t.name}\tcreated ${t.createdAt}\t${t.runners} runner${t.runners === 1 ? '' : 's'}`)
        return EXIT.ok
      case 'revoke': {
        const id = Number(positionals[0])
        if (!Number.isInteger(id) || id < 1) throw new UsageError('runner token revoke needs the ID of a token (see runner token list)')
        if (!store.revokeToken(id)) {
          console.error(`seedpod runner token revoke: no token ${id}`)
          return EXIT.failed
        }
        console.log(`revoked token ${id}: its runners can no longer reach the pod`)
        return EXIT.ok
      }
      default:
        throw new UsageError(`unknown command: runner token ${action ?? ''}`.trim())
    }
  } finally {
    close()
  }
}

async function register(args: string[]): Promise<number> {
  const { values } = parse(args, { pod: { type: 'string' }, token: { type: 'string' }, name: { type: 'string' }, 'data-dir': { type: 'string' } })
  if (!values.pod || !URL.canParse(values.pod) || !/^https?:$/.test(new URL(values.pod).protocol)) throw new UsageError('runner register needs --pod URL (http:// or https://)')
  if (!values.token) throw new UsageError('runner register needs --token TOKEN (from seedpod runner token create, or the admin page)')
  const dir = values['data-dir'] ?? RUNNER_DIR
  const { register: registerAt } = await import('../runners/client')
  const { writeSecretFile } = await import('../identity/keys')
  const credentials = await registerAt(values.pod, values.token, values.name ?? hostname())
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  writeSecretFile(join(dir, CREDENTIALS_FILE), JSON.stringify(credentials, null, 2) + '\n')
  console.log(`registered runner ${credentials.id} (${credentials.name}) with ${credentials.pod}; now run: seedpod runner serve --data-dir ${dir}`)
  return EXIT.ok
}

/** A positive integer flag, or its default. */
function intFlag(value: string | undefined, name: string, dflt: number): number {
  if (value === undefined) return dflt
  const n = Number(value)
  if (!Number.isInteger(n) || n < 1 || n > 3_600_000) throw new UsageError(`--${name} must be a whole number of milliseconds from 1 to 3600000`)
  return n
}

async function serve(args: string[]): Promise<number> {
  const { values } = parse(args, {
    'data-dir': { type: 'string' },
    'poll-ms': { type: 'string' },
    'retry-base-ms': { type: 'string' },
    'log-level': { type: 'string' },
    'log-format': { type: 'string' },
  })
  const dir = values['data-dir'] ?? RUNNER_DIR
  const file = join(dir, CREDENTIALS_FILE)
  if (!existsSync(file)) throw new Error(`no runner registered in ${resolve(dir)}: run seedpod runner register --pod URL --token TOKEN --data-dir ${dir} first`)
  const level = values['log-level'] ?? 'info'
  const format = values['log-format'] ?? 'auto'
  if (!['debug', 'info', 'warn', 'error'].includes(level)) throw new UsageError('--log-level must be debug, info, warn or error')
  if (!['auto', 'pretty', 'json'].includes(format)) throw new UsageError('--log-format must be auto, pretty or json')
  const log = createLogger({ level: level as LogLevel, format: format as 'auto' | 'pretty' | 'json' })
  const { serveRunner } = await import('../runners/worker')
  const { PodRefusal } = await import('../runners/client')
  const stop = new AbortController()
  process.once('SIGTERM', () => stop.abort())
  process.once('SIGINT', () => stop.abort())
  const retryBase = intFlag(values['retry-base-ms'], 'retry-base-ms', 1000)
  try {
    await serveRunner({
      credentials: JSON.parse(readFileSync(file, 'utf8')),
      workDir: join(dir, 'work'),
      pollMs: intFlag(values['poll-ms'], 'poll-ms', 2000),
      backoff: { baseMs: retryBase, maxMs: Math.max(retryBase, 60_000) },
      log,
      signal: stop.signal,
    })
    return EXIT.ok
  } catch (e) {
    if (e instanceof PodRefusal && e.status === 401) {
      console.error(`seedpod runner serve: the pod refuses this runner (${e.message}): it was removed or its token revoked`)
      return EXIT.failed
    }
    throw e
  }
}

/** Runs `seedpod runner ARGS`; returns the exit code (usage errors are thrown). */
export async function runner(args: string[], env: Record<string, string | undefined>): Promise<number> {
  const [command, ...rest] = args
  switch (command) {
    case 'token':
      return token(rest, env)
    case 'register':
      return register(rest)
    case 'serve':
      return serve(rest)
    default:
      throw new UsageError(`unknown command: runner ${command ?? ''}`.trim())
  }
}
