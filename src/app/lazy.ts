/**
 * Code the pod loads when it needs it, not at start:
 * - the largest dependencies, needed only once a peer shows up, a copy is made or a video
 *   is uploaded: webtorrent (TCP seeding, copies of friends' videos), bittorrent-tracker
 *   (the tracker's server logic), busboy (uploads), create-torrent; each re-exported by a
 *   module of its own in src/app/lazy/;
 * - `assemble`: everything but the CLI, the configuration, the identity and the listening
 *   socket (src/app/server.ts loads it once the pod listens);
 * - `commands`: what `seedpod user add`, `runner token` and `storage migrate` run on the
 *   pod's data folder (src/app/cli-args.ts loads it).
 * Only their specifiers are here: this module is imported by features (for the vendor
 * modules), so naming their types here would make a cycle.
 *
 * In the executable that is what matters: src/app/build.ts compiles each of them as an entry
 * point of its own, so that their code is not part of the main bundle, which the executable
 * loads whole at every start (webtorrent and bittorrent-tracker alone added about 10 ms to
 * each). The specifier below is not a literal on purpose: a literal `import('webtorrent')` is
 * followed by the bundler and inlined into the bundle that has it.
 *
 * Each entry point has its own copy of the modules it imports. So the src/app/lazy/ modules
 * re-export third-party packages only (nothing of the pod's, whose classes `instanceof` must
 * recognise), and `assemble` is the only entry point with the pod's running services
 * (`commands` has copies of a few, for a process that runs no pod).
 */

/** Each lazy module, by name, relative to this file (from source) or to the bundle (executable). */
export const LAZY_MODULES = {
  webtorrent: './lazy/webtorrent.ts',
  tracker: './lazy/tracker.ts',
  multipart: './lazy/multipart.ts',
  createTorrent: './lazy/create-torrent.ts',
  assemble: './assemble.ts',
  commands: './commands.ts',
} as const

/** The third-party modules, by name (`assemble` and `commands` are the pod's own: server.ts, cli-args.ts). */
interface VendorModules {
  webtorrent: typeof import('./lazy/webtorrent')
  tracker: typeof import('./lazy/tracker')
  multipart: typeof import('./lazy/multipart')
  createTorrent: typeof import('./lazy/create-torrent')
}

/** Loads a lazy third-party module (once: later calls get the same module). */
export function lazyImport<K extends keyof VendorModules>(name: K): Promise<VendorModules[K]> {
  const specifier: string = LAZY_MODULES[name]
  return import(specifier)
}
