/**
 * The pages' files: the Preact app of public/ bundled (its script, chunks and style sheets),
 * the player's libraries (WebTorrent's and hls.js's browser builds) and the pod's icons, all
 * served by the pod itself (no CDN).
 *
 * Where the bundle comes from: inside the compiled executable, from the files embedded at
 * build time (public/embedded.ts, replaced by src/app/build.ts); run from source, from a bundle
 * Bun makes in memory (bundle.ts) when the first pod of the process starts (about 100-300
 * ms, in the background; a page request waits for it). Either way nothing is read from the
 * working directory, so the executable works from a bare folder.
 */
// WebTorrent's browser build: `type: 'file'` gives a path that works from source
// (node_modules) and inside the executable (embedded).
import webtorrentPath from 'webtorrent/dist/webtorrent.min.js' with { type: 'file' }
// hls.js (its light build: no subtitles, no DRM), the stream player's MSE, buffer and adaptive switching.
import hlsPath from 'hls.js/dist/hls.light.min.mjs' with { type: 'file' }
import { embedded } from '../../public/embedded'
import type { Logger } from '../shared/log'
import { DomainError } from '../shared/errors'
import { bundlePages, type PageBundle } from './bundle'

export interface Asset {
  type: string
  body: Blob
  /** gzip of the body, made on first request (text assets only). */
  gzip?: Uint8Array<ArrayBuffer>
}

export interface Pages {
  /** Bundled files by name (`/assets/<name>`). */
  assets: Map<string, Asset>
  /** URL of the app's script, of its chunks (the app itself, main.tsx) and of its style sheets. */
  script: string
  chunks: string[]
  styles: string[]
  webtorrent: { url: string; asset: Asset }
  hls: { url: string; asset: Asset }
}

/** The bundle, made once per process (every pod of a test process shares it). */
let loading: Promise<Pages> | undefined

function versionTag(bytes: Uint8Array): string {
  return Bun.hash(bytes).toString(36)
}

async function loadPages(): Promise<Pages> {
  const files: PageBundle = embedded
    ? embedded.map((f) => ({ name: f.name, kind: f.kind, type: f.type, body: Bun.file(f.path) }))
    : await bundlePages()
  const assets = new Map<string, Asset>()
  for (const f of files) assets.set(f.name, { type: f.type, body: f.body })
  const entry = files.find((f) => f.kind === 'entry-point' && f.name.endsWith('.js'))
  if (!entry) throw new DomainError('internal', 'no_entry_script', 'the page bundle has no entry script')
  const wtBytes = new Uint8Array(await Bun.file(webtorrentPath).arrayBuffer())
  const hlsBytes = new Uint8Array(await Bun.file(hlsPath).arrayBuffer())
  return {
    assets,
    script: `/assets/${entry.name}`,
    chunks: files.filter((f) => f.kind === 'chunk' && f.name.endsWith('.js')).map((f) => `/assets/${f.name}`),
    styles: files.filter((f) => f.name.endsWith('.css')).map((f) => `/assets/${f.name}`),
    webtorrent: {
      url: `/vendor/webtorrent.min.js?v=${versionTag(wtBytes)}`,
      asset: { type: 'text/javascript;charset=utf-8', body: new Blob([wtBytes]) },
    },
    hls: {
      url: `/vendor/hls.light.min.mjs?v=${versionTag(hlsBytes)}`,
      asset: { type: 'text/javascript;charset=utf-8', body: new Blob([hlsBytes]) },
    },
  }
}

/** The page assets, loading them on first use; a failed load is logged and retried next time. */
export function pages(log: Logger): Promise<Pages> {
  loading ??= loadPages().catch((e) => {
    loading = undefined
    log.error('pages.bundle.failed', { error: e as Error })
    throw e
  })
  return loading
}

/** Answers with an asset, gzipped when the client takes it (webtorrent.min.js: 220 KB, 65 KB gzipped). */
export async function send(request: Request, asset: Asset, cacheControl: string): Promise<Response> {
  const headers: Record<string, string> = { 'content-type': asset.type, 'cache-control': cacheControl, 'x-content-type-options': 'nosniff' }
  const compressible = /^(text\/|application\/json)/.test(asset.type)
  if (!compressible) return new Response(asset.body, { headers })
  headers.vary = 'Accept-Encoding'
  if (!/\bgzip\b/.test(request.headers.get('accept-encoding') ?? '')) return new Response(asset.body, { headers })
  asset.gzip ??= Bun.gzipSync(new Uint8Array(await asset.body.arrayBuffer()))
  headers['content-encoding'] = 'gzip'
  return new Response(asset.gzip, { headers })
}

/** A vendored library: the URL the pages use carries the content's hash, and that one may be cached for good. */
export function vendor(request: Request, lib: { url: string; asset: Asset }, asked: string): Promise<Response> {
  return send(request, lib.asset, asked === lib.url ? 'public, max-age=31536000, immutable' : 'no-cache')
}

/** The API's 404 for a file that is not there. */
export function notFound(what: string): Response {
  return Response.json({ error: { code: 'not_found', message: `no ${what}` } }, { status: 404 })
}
