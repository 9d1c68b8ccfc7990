/**
 * `seedpod backup DEST` and `seedpod restore SRC` (src/backup/, run from the lazily loaded
 * commands: src/app/commands.ts). Each failure has its exit code (cli-args.ts's EXIT), and
 * leaves nothing behind; Ctrl-C stops either between chunks, removing what was written.
 */
import { resolve } from 'node:path'
import type { BackupFailure, BackupFailureKind } from '../backup/model'
import type { Result } from '../shared/errors'
import { EXIT, loadCommands, parse, POD_FLAGS, readConfig, UsageError } from './cli-args'

/** The lines of `seedpod --help` for these commands. */
export const BACKUP_USAGE = `  seedpod backup DEST [--config FILE] [--data-dir DIR]
                                         copy the pod (database, keys, config, files) into a new or empty folder, while it runs
  seedpod restore SRC [--config FILE] [--data-dir DIR]
                                         bring a backup back into a new or empty data folder`

/** Each failure's exit code. */
const EXIT_OF: Record<BackupFailureKind, number> = {
  no_input: EXIT.noInput,
  cannot_create: EXIT.cannotCreate,
  damaged: EXIT.damaged,
  interrupted: EXIT.interrupted,
  failed: EXIT.failed,
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`

/** An AbortSignal that Ctrl-C or SIGTERM aborts. */
function interruptible(): AbortSignal {
  const controller = new AbortController()
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => controller.abort())
  return controller.signal
}

/** Prints a failure and returns its exit code. */
function failed(command: string, r: Result<unknown, BackupFailure> & { ok: false }): number {
  console.error(`seedpod ${command}: ${r.error.kind === 'interrupted' ? 'interrupted: nothing was left behind' : r.error.message}`)
  return EXIT_OF[r.error.kind]
}

/** `seedpod backup DEST`. */
export async function backup(args: string[], env: Record<string, string | undefined>): Promise<number> {
  const { values, positionals } = parse(args, POD_FLAGS, 1)
  const dest = positionals[0]
  if (!dest) throw new UsageError('backup needs a DEST folder')
  const config = readConfig(values, env)
  const started = performance.now()
  const r = await (await loadCommands()).backupPod(config, dest, values.config, interruptible())
  if (!r.ok) return failed('backup', r)
  const s = r.value
  const listed = s.objects ? `, ${s.objects} files of the bucket listed` : ''
  console.log(`backed up the pod ${s.fingerprint} into ${resolve(dest)}: ${s.files} files, ${mb(s.bytes)}${listed}, in ${((performance.now() - started) / 1000).toFixed(1)} s`)
  if (s.missing.length) console.error(`seedpod backup: warning: ${s.missing.length} files the database names are not in the data folder${s.objects ? ' or the bucket' : ''}: ${s.missing.join(', ')}`)
  return EXIT.ok
}

/** `seedpod restore SRC`: with the backup's configuration when no `--config` is given. */
export async function restore(args: string[], env: Record<string, string | undefined>): Promise<number> {
  const { values, positionals } = parse(args, POD_FLAGS, 1)
  const src = positionals[0]
  if (!src) throw new UsageError('restore needs a SRC backup folder')
  const commands = await loadCommands()
  const own = values.config ? undefined : await commands.backupConfig(src)
  if (own && !own.ok) return failed('restore', own)
  const config = readConfig({ ...values, config: values.config ?? own?.value }, env)
  const r = await commands.restorePod(config, src, interruptible())
  if (!r.ok) return failed('restore', r)
  const s = r.value
  console.log(`restored the pod ${s.fingerprint} into ${resolve(config.dataDir)}: ${s.files} files, ${mb(s.bytes)}, each checked against the backup's manifest`)
  for (const w of s.warnings) console.error(`seedpod restore: warning: ${w}`)
  if (own?.value) console.log(`the pod's configuration is in the backup (${resolve(own.value)}): install it where seedpod serve --config reads it`)
  return EXIT.ok
}
