#!/usr/bin/env bun
/**
 * The `seedpod` command: serve a pod, write a sample config, add users, print a systemd
 * unit, back up and restore (backup-cli.ts), and the transcoding runner's commands
 * (runner-cli.ts). Exit codes: cli-args.ts's EXIT.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { ConfigError } from '../shared/config'
import { createLogger } from '../shared/log'
import { sampleConfig } from './sample-config'
import { VERSION } from '../shared/version'
import { EXIT, loadCommands, parse, readConfig, UsageError } from './cli-args'
import { runner, RUNNER_USAGE } from './runner-cli'
import { backup, BACKUP_USAGE, restore } from './backup-cli'

const USAGE = `seedpod ${VERSION}: a federated, peer-to-peer video pod

Usage:
  seedpod serve [--config FILE] [--port N] [--host ADDR] [--url URL] [--data-dir DIR]
                [--name NAME] [--log-level LEVEL] [--log-format pretty|json]
  seedpod init [FILE] [--force]          write a commented sample config (default seedpod.toml, - for stdout)
  seedpod user add NAME [--admin] [--password-stdin] [--config FILE] [--data-dir DIR]
  seedpod storage migrate --to s3|local [--config FILE] [--data-dir DIR]
                                         move the pod's files to its bucket or back, while it serves
  seedpod systemd-unit [--config FILE] [--data-dir DIR] [--user NAME]
${BACKUP_USAGE}
${RUNNER_USAGE}
  seedpod --help | --version

Settings come from the config file, then SEEDPOD_* environment variables (e.g.
SEEDPOD_PORT, SEEDPOD_RETRY_BASE_MS), then flags. See README.md for every key.
`

const SERVE_FLAGS = {
  config: { type: 'string' },
  port: { type: 'string' },
  host: { type: 'string' },
  url: { type: 'string' },
  'data-dir': { type: 'string' },
  name: { type: 'string' },
  'log-level': { type: 'string' },
  'log-format': { type: 'string' },
} as const

async function serve(args: string[], env: Record<string, string | undefined>): Promise<number> {
  const { values } = parse(args, SERVE_FLAGS)
  const config = readConfig(values, env)
  const log = createLogger({ level: config.log.level, format: config.log.format })
  log.debug('config.loaded', { file: (values.config as string | undefined) ?? null, config })
  // Loaded only to serve: the other commands (and configuration errors) answer faster without it.
  const { startPod } = await import('./server')
  const { promise, resolve: done } = Promise.withResolvers<number>()
  // The pod answers before it has finished starting (server.ts): a signal may come meanwhile,
  // and must stop it cleanly too, once it has started, rather than kill it half-built.
  const shutdown = (signal: string) => {
    log.info('pod.stopping', { signal })
    // A stuck request or actor must not keep the pod from exiting.
    const timer = setTimeout(() => {
      log.error('pod.stop.timeout', { seconds: 4.5 })
      done(EXIT.failed)
    }, 4500)
    starting.then((running) => running.stop()).then(
      () => {
        clearTimeout(timer)
        done(EXIT.ok)
      },
      (e) => {
        log.error('pod.stop.failed', { error: e })
        done(EXIT.failed)
      },
    )
  }
  process.once('SIGTERM', () => shutdown('SIGTERM'))
  process.once('SIGINT', () => shutdown('SIGINT'))
  const starting = startPod(config, log)
  const { pod } = await starting
  // Said once in plain words to whoever started it, besides the log (src/media/tools.ts).
  if (!pod.media.ready) process.stderr.write((await import('../media/tools')).mediaToolsNotice(pod.media))
  return promise
}

function init(args: string[]): number {
  const { values, positionals } = parse(args, { force: { type: 'boolean' } }, 1)
  const file = positionals[0] ?? 'seedpod.toml'
  if (file === '-') {
    process.stdout.write(sampleConfig())
    return EXIT.ok
  }
  if (existsSync(file) && !values.force) {
    console.error(`seedpod init: ${file} exists; use --force to overwrite it`)
    return EXIT.failed
  }
  mkdirSync(dirname(resolve(file)), { recursive: true })
  writeFileSync(file, sampleConfig())
  console.log(`wrote ${file}: edit it, then run seedpod serve --config ${file}`)
  return EXIT.ok
}

/** Reads a password: one line of stdin with --password-stdin, else a hidden prompt on a TTY. */
async function readPassword(fromStdin: boolean): Promise<string> {
  if (fromStdin || !process.stdin.isTTY) {
    if (!fromStdin) throw new UsageError('stdin is not a terminal: pass --password-stdin to read the password from it')
    const text = await new Response(Bun.stdin.stream()).text()
    return text.replace(/\r?\n$/, '')
  }
  const ask = async (prompt: string) => {
    process.stderr.write(prompt)
    process.stdin.setRawMode(true)
    let s = ''
    try {
      for await (const chunk of process.stdin) {
        for (const ch of String(chunk)) {
          if (ch === '\r' || ch === '\n') return s
          if (ch === '\u0003') throw new UsageError('cancelled')
          if (ch === '\u007f') s = s.slice(0, -1)
          else s += ch
        }
      }
      return s
    } finally {
      process.stdin.setRawMode(false)
      process.stdin.pause()
      process.stderr.write('\n')
    }
  }
  const first = await ask('Password: ')
  if ((await ask('Again: ')) !== first) throw new UsageError('the passwords differ')
  return first
}

async function userAdd(args: string[], env: Record<string, string | undefined>): Promise<number> {
  const { values, positionals } = parse(
    args,
    { admin: { type: 'boolean' }, 'password-stdin': { type: 'boolean' }, config: { type: 'string' }, 'data-dir': { type: 'string' } },
    1,
  )
  const name = positionals[0]
  if (!name) throw new UsageError('user add needs a NAME')
  const config = readConfig(values, env)
  const password = await readPassword(Boolean(values['password-stdin']))
  mkdirSync(config.dataDir, { recursive: true, mode: 0o750 })
  // The pod's own code (accounts, database), kept out of the CLI's bundle (src/app/lazy.ts).
  const { accounts, close } = (await loadCommands()).openAccounts(config)
  try {
    const made = await accounts.create(name, password, values.admin ? 'admin' : 'user')
    if (!made.ok) {
      console.error(`seedpod user add: ${made.error.message}`)
      return EXIT.failed
    }
    console.log(`created ${made.value.role} ${made.value.username}`)
    return EXIT.ok
  } finally {
    close()
  }
}

async function storageMigrate(args: string[], env: Record<string, string | undefined>): Promise<number> {
  const { values } = parse(args, { to: { type: 'string' }, config: { type: 'string' }, 'data-dir': { type: 'string' } })
  const to = values.to
  if (to !== 's3' && to !== 'local') throw new UsageError('storage migrate needs --to s3 or --to local')
  const config = readConfig(values, env)
  const place = to === 's3' ? 'the bucket' : 'the data folder'
  const { moved } = await (await loadCommands()).migrateStorage(config, to, (key) => console.log(`moved ${key}`))
  console.log(moved ? `done: ${moved} files moved to ${place}` : `nothing to move: every file is in ${place} already`)
  return EXIT.ok
}

function systemdUnit(args: string[], env: Record<string, string | undefined>): number {
  const { values } = parse(args, { config: { type: 'string' }, 'data-dir': { type: 'string' }, user: { type: 'string' } })
  const configFile = resolve((values.config as string | undefined) ?? '/etc/seedpod/seedpod.toml')
  const dataDir = resolve((values['data-dir'] as string | undefined) ?? (values.config ? readConfig({ config: configFile }, env).dataDir : '/var/lib/seedpod'))
  const user = (values.user as string | undefined) ?? 'seedpod'
  // Inside the compiled executable the entry point lives in Bun's embedded file system; run
  // from source (`bun src/app/cli.ts`), execPath is Bun itself, so point at the usual install place.
  const exe = Bun.main.startsWith('/$bunfs/') ? process.execPath : '/usr/local/bin/seedpod'
  process.stdout.write(`# seedpod.service: install as /etc/systemd/system/seedpod.service, then
#   useradd --system --home ${dataDir} --shell /usr/sbin/nologin ${user}
#   install -d -o ${user} -g ${user} -m 750 ${dataDir}
#   systemctl daemon-reload && systemctl enable --now seedpod
[Unit]
Description=seedpod video pod
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
User=${user}
Group=${user}
ExecStart=${exe} serve --config ${configFile} --data-dir ${dataDir} --log-format json
Restart=on-failure
RestartSec=5s
# The pod exits 78 on a configuration error, 70 when its database's upgrade failed (the
# database is as it was): restarting will not fix either.
RestartPreventExitStatus=70 78
TimeoutStopSec=10s
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectControlGroups=yes
RestrictSUIDSGID=yes
LockPersonality=yes
ReadWritePaths=${dataDir}
UMask=0027

[Install]
WantedBy=multi-user.target
`)
  return EXIT.ok
}

/** Runs the CLI with `argv` (without the executable) and returns the exit code. */
export async function main(argv: string[], env: Record<string, string | undefined>): Promise<number> {
  const [command, ...rest] = argv
  try {
    if (command !== undefined && !command.startsWith('-') && (rest.includes('--help') || rest.includes('-h'))) {
      process.stdout.write(USAGE)
      return EXIT.ok
    }
    switch (command) {
      case undefined:
      case '--help':
      case '-h':
      case 'help':
        process.stdout.write(USAGE)
        return command === undefined ? EXIT.usage : EXIT.ok
      case '--version':
      case '-v':
        console.log(VERSION)
        return EXIT.ok
      case 'serve':
        return await serve(rest, env)
      case 'init':
        return init(rest)
      case 'user':
        if (rest[0] !== 'add') throw new UsageError(`unknown command: user ${rest[0] ?? ''}`.trim())
        return await userAdd(rest.slice(1), env)
      case 'storage':
        if (rest[0] !== 'migrate') throw new UsageError(`unknown command: storage ${rest[0] ?? ''}`.trim())
        return await storageMigrate(rest.slice(1), env)
      case 'systemd-unit':
        return systemdUnit(rest, env)
      case 'backup':
        return await backup(rest, env)
      case 'restore':
        return await restore(rest, env)
      case 'runner':
        return await runner(rest, env)
      default:
        throw new UsageError(`unknown command: ${command}`)
    }
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`seedpod: ${e.message}\n`)
      process.stderr.write(USAGE)
      return EXIT.usage
    }
    if (e instanceof ConfigError) {
      console.error(`seedpod: configuration error:\n${e.problems.map((p) => `  - ${p}`).join('\n')}`)
      return EXIT.config
    }
    console.error(`seedpod: ${(e as Error).message ?? e}`)
    // Thrown by the database's code in a lazily loaded bundle, with its own copy of the class: known by name.
    return (e as Error)?.name === 'MigrationError' ? EXIT.migration : EXIT.failed
  }
}

if (import.meta.main) process.exit(await main(process.argv.slice(2), process.env))
