/**
 * The pod's icons (src/pages/icons/: a seed pod on the accent colour, drawn as SVG; the PNGs and
 * the ICO are that SVG rasterised) and its web app manifest, linked from every page's head.
 * Embedded as files (`type: 'file'`), so the executable serves them from a bare folder.
 */
import { Elysia } from 'elysia'
import icoPath from './icons/favicon.ico' with { type: 'file' }
import svgPath from './icons/icon.svg' with { type: 'file' }
import png192Path from './icons/icon-192.png' with { type: 'file' }
import png512Path from './icons/icon-512.png' with { type: 'file' }
import type { Config } from '../shared/config'
import { THEME } from './shell'

/** The icons by their address. */
const ICONS: Record<string, { path: string; type: string }> = {
  '/favicon.ico': { path: icoPath, type: 'image/x-icon' },
  '/icon.svg': { path: svgPath, type: 'image/svg+xml' },
  '/icon-192.png': { path: png192Path, type: 'image/png' },
  '/icon-512.png': { path: png512Path, type: 'image/png' },
}

/** The web app manifest: the pod's name, its icons and colours; it opens on the latest videos. */
export function manifest(config: Config) {
  return {
    name: config.name,
    short_name: config.name.slice(0, 12),
    description: `Videos on ${config.name}, shared peer to peer`,
    start_url: '/',
    scope: '/',
    display: 'standalone',
    background_color: THEME.light,
    theme_color: THEME.light,
    icons: [
      { src: '/icon.svg', sizes: 'any', type: 'image/svg+xml' },
      { src: '/icon-192.png', sizes: '192x192', type: 'image/png' },
      { src: '/icon-512.png', sizes: '512x512', type: 'image/png' },
    ],
  }
}

/** Elysia plugin: the icons and `/manifest.webmanifest`. */
export const iconRoutes = (fingerprint: string, config: Config) => {
  const app = new Elysia({ name: 'icons', seed: fingerprint })
  for (const [route, icon] of Object.entries(ICONS)) {
    // A day: an icon may change with a release, and nothing names it by its content.
    app.get(route, () => new Response(Bun.file(icon.path), { headers: { 'content-type': icon.type, 'cache-control': 'public, max-age=86400', 'x-content-type-options': 'nosniff' } }))
  }
  const body = JSON.stringify(manifest(config))
  return app.get('/manifest.webmanifest', () => new Response(body, { headers: { 'content-type': 'application/manifest+json', 'cache-control': 'no-cache' } }))
}
