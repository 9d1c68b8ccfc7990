/** Module types for what Bun's bundler and its file loader take but TypeScript does not know. */

/** Style sheets imported for their side effect (Bun bundles them into the page's CSS). */
declare module '*.css'

/** WebTorrent's prebuilt browser files, imported `with { type: 'file' }` by src/pages/routes.ts: a path. */
declare module 'webtorrent/dist/*.js' {
  const path: string
  export default path
}

/** hls.js's browser build, embedded as a file (src/pages/routes.ts); a path like the one above. */
declare module 'hls.js/dist/*.mjs' {
  const path: string
  export default path
}
