/**
 * ffmpeg and ffprobe, looked for once at start. The pod runs them by name (exec.ts), so it
 * looks where that finds them: on the PATH. Without them it still serves what it has and
 * federates; it only cannot take uploads (nor transcode), and says so: in its log and on
 * stderr at start, on `GET /api/v1/health` and the admin page, and in the 503 an upload gets.
 */
import { DomainError } from '../shared/errors'
import type { Logger } from '../shared/log'
import { limitsEnforced, runTool } from './exec'

/** The tools the pod runs. */
export const MEDIA_TOOLS = ['ffmpeg', 'ffprobe'] as const

/** A tool found and run. */
export interface FoundTool {
  name: (typeof MEDIA_TOOLS)[number]
  path: string
  /** What its `-version` says, e.g. `5.1.6-0+deb12u1`. */
  version: string
}

/** What `GET /api/v1/health` says of them (no paths, no versions: the page is public). */
export interface MediaToolsHealth {
  ready: boolean
  /** Why uploads are refused, in plain words. */
  problem?: string
}

/** `-version` answers at once; a tool that does not within this is broken. */
const VERSION_TIMEOUT_MS = 10_000

/** How to install them, per system (README.md, "ffmpeg", says the same). */
export const INSTALL_HINTS = [
  'Debian, Ubuntu: sudo apt install ffmpeg',
  'Fedora: sudo dnf install ffmpeg (from RPM Fusion: Fedora\'s own ffmpeg-free cannot encode H.264)',
  'Alpine: apk add ffmpeg',
  'macOS: brew install ffmpeg',
  'Windows: winget install Gyan.FFmpeg (or choco install ffmpeg)',
] as const

/** A tool found that does not answer its `-version`. */
export interface BrokenTool {
  name: FoundTool['name']
  /** What went wrong, with its path: for the log and stderr, never an answer. */
  detail: string
}

/** The pod's ffmpeg and ffprobe, as found at start. */
export class MediaTools {
  /** Why uploads are refused, in plain words (no local paths: it is answered); undefined when both tools run. */
  readonly problem: string | undefined

  constructor(
    readonly found: readonly FoundTool[],
    readonly absent: readonly FoundTool['name'][],
    readonly broken: readonly BrokenTool[],
  ) {
    const what = [
      absent.length ? `${absent.join(' and ')} ${absent.length > 1 ? 'were' : 'was'} not found on the PATH` : '',
      broken.length ? `${broken.map((b) => b.name).join(' and ')} ${broken.length > 1 ? 'were' : 'was'} found but ${broken.length > 1 ? 'do' : 'does'} not run` : '',
    ].filter(Boolean)
    this.problem = what.length
      ? `${what.join('; ')}. The pod serves videos and federates, but refuses uploads and does not transcode until ffmpeg and ffprobe are installed and the pod is restarted.`
      : undefined
  }

  get ready(): boolean {
    return this.problem === undefined
  }

  /** Throws the 503 of an upload without the tools. */
  mustBeAvailable(): void {
    if (this.problem) throw new DomainError('unavailable', 'media_tools_missing', this.problem)
  }

  health(): MediaToolsHealth {
    return this.problem ? { ready: false, problem: this.problem } : { ready: true }
  }
}

/** Finds one tool on `path` and runs its `-version`: what it is, why it does not run, or undefined where there is none. */
async function findTool(name: FoundTool['name'], path: string | undefined): Promise<FoundTool | BrokenTool | undefined> {
  const found = Bun.which(name, { PATH: path ?? '' })
  if (!found) return undefined
  try {
    const run = await runTool([found, '-version'], VERSION_TIMEOUT_MS)
    const version = new RegExp(`^${name} version (\\S+)`).exec(run.stdout)?.[1]
    if (run.exitCode === 0 && version) return { name, path: found, version }
    const said = run.stderr.trim().split('\n').at(-1)
    return { name, detail: `${name} at ${found} does not run (${run.timedOut ? 'no answer' : `exit ${run.exitCode}`}${said ? `: ${said}` : ''})` }
  } catch (e) {
    return { name, detail: `${name} at ${found} cannot be started (${(e as Error).message})` }
  }
}

/** The checks made in this process, by PATH: the tests start many pods in one process. */
const checked = new Map<string, Promise<MediaTools>>()

/** Looks for ffmpeg and ffprobe on `path` (the process's PATH). */
export function checkMediaTools(path: string | undefined = process.env.PATH): Promise<MediaTools> {
  const key = path ?? ''
  let check = checked.get(key)
  if (!check) {
    check = Promise.all(MEDIA_TOOLS.map((name) => findTool(name, path))).then(
      (results) =>
        new MediaTools(
          results.filter((r): r is FoundTool => r !== undefined && 'version' in r),
          MEDIA_TOOLS.filter((_, i) => results[i] === undefined),
          results.filter((r): r is BrokenTool => r !== undefined && 'detail' in r),
        ),
    )
    checked.set(key, check)
  }
  return check
}

/** Says in the log what the start found: the tools and their versions, or what is missing; and whether their limits hold. */
export function logMediaTools(log: Logger, media: MediaTools, path: string | undefined = process.env.PATH): void {
  if (media.ready) log.info('media.tools.found', Object.fromEntries(media.found.map((t) => [t.name, `${t.version} (${t.path})`])))
  else log.warn('media.tools.missing', { problem: media.problem, ...(media.broken.length ? { details: media.broken.map((b) => b.detail) } : {}), path: path ?? '' })
  // The memory and CPU limits of each ffprobe/ffmpeg run (media.*) need prlimit: without it, say so.
  if (!limitsEnforced()) log.warn('media.limits.unenforced', { reason: 'prlimit (util-linux) is not installed: ffprobe and ffmpeg run without their memory and CPU limits' })
}

/** What the `seedpod serve` command prints on stderr at start when the tools are not there: the problem, and how to fix it. */
export function mediaToolsNotice(media: MediaTools, path: string | undefined = process.env.PATH): string {
  return [
    `seedpod: ${media.problem}`,
    ...media.broken.map((b) => `  ${b.detail}`),
    `  PATH: ${path ?? '(not set)'}`,
    '  Install them with:',
    ...INSTALL_HINTS.map((h) => `    ${h}`),
    '  (README.md, "ffmpeg", says more.)',
    '',
  ].join('\n')
}
