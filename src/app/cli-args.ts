/**
 * What the `seedpod` subcommands share: exit codes, flag parsing with usage errors, and
 * reading the pod's configuration from flags (src/app/cli.ts, src/app/runner-cli.ts).
 */
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util'
import { loadConfig, type Config } from '../shared/config'
import { LAZY_MODULES } from './lazy'

/**
 * Exit codes: 0 done, 1 failed, 2 usage error; then sysexits.h's: 65 a damaged backup
 * (EX_DATAERR), 66 no data folder or backup to read (EX_NOINPUT), 70 the database's upgrade
 * failed (EX_SOFTWARE), 73 a destination that is not empty or cannot be written
 * (EX_CANTCREAT), 78 configuration error (EX_CONFIG); 130 interrupted (Ctrl-C, SIGTERM).
 */
export const EXIT = { ok: 0, failed: 1, usage: 2, damaged: 65, noInput: 66, migration: 70, cannotCreate: 73, config: 78, interrupted: 130 } as const

/** The flags of the commands that work on a pod's data folder. */
export const POD_FLAGS = { config: { type: 'string' }, 'data-dir': { type: 'string' } } as const

/** A command line that does not make sense: the CLI prints it and the usage. */
export class UsageError extends Error {}

/** Flag values as dotted config keys. */
function configFlags(values: Record<string, unknown>): Record<string, string> {
  const map: Record<string, string> = { 'data-dir': 'dataDir', 'log-level': 'log.level', 'log-format': 'log.format', port: 'port', host: 'host', url: 'url', name: 'name' }
  const out: Record<string, string> = {}
  for (const [flag, key] of Object.entries(map)) if (typeof values[flag] === 'string') out[key] = values[flag] as string
  return out
}

/** Parses `args` strictly, with at most `positionals` positional arguments; a UsageError otherwise. */
export function parse<T extends ParseArgsOptionsConfig>(args: string[], options: T, positionals = 0) {
  try {
    const r = parseArgs({ args, options, allowPositionals: true, strict: true as const })
    if (r.positionals.length > positionals) throw new UsageError(`unexpected argument ${r.positionals[positionals]}`)
    return r
  } catch (e) {
    throw new UsageError((e as Error).message)
  }
}

/** The pod's configuration: `--config FILE`, the environment, then the flags that are config keys. */
export function readConfig(values: Record<string, unknown>, env: Record<string, string | undefined>): Config {
  return loadConfig({ file: values.config as string | undefined, env, flags: configFlags(values) })
}

/** Loads the code of the commands that work on a pod's data folder (once), kept out of the CLI's bundle: see src/app/lazy.ts. */
export function loadCommands(): Promise<typeof import('./commands')> {
  const specifier: string = LAZY_MODULES.commands
  return import(specifier)
}
