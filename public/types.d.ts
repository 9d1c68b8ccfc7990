/** Module types for what Bun's bundler and its file loader take but TypeScript does not know. */

/** Style sheets imported for their side effect (Bun bundles them into the page's CSS). */
declare module '*.css'

/** WebTorrent's prebuilt browser files, imported `with { type: 'file' }` by src/pages/assets.ts: a path. */
declare module 'webtorrent/dist/*.js' {
  const path: string
  export default path
}

/** hls.js's browser build, embedded as a file (src/pages/assets.ts); a path like the one above. */
declare module 'hls.js/dist/*.mjs' {
  const path: string
  export default path
}

/** The pod's icons, embedded as files (src/pages/icons.ts); paths like the ones above. */
declare module '*.ico' {
  const path: string
  export default path
}
declare module '*.png' {
  const path: string
  export default path
}
declare module '*.svg' {
  const path: string
  export default path
}
