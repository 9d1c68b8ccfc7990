/**
 * The pod's modules, as its assembly (assemble.ts) builds with them: loaded with `import()` in
 * a few steps with `pause` between them, where the listening server answers what it can
 * meanwhile (see listen.ts). Bundled, each module is still part of the assembly's entry point
 * but is run only when a step first asks for it, so that loading the entry point is one short
 * step and running the pod's code is spread over the others.
 */

/** Module namespaces as one object, as `Object.assign` makes it: every export, a later module's winning a name. */
type Merged<T extends readonly unknown[]> = T extends readonly [infer Head, ...infer Rest] ? Omit<Head, keyof Merged<Rest>> & Merged<Rest> : {}

/** Loads modules at once, and their exports as one object. */
async function step<T extends readonly unknown[]>(...modules: T): Promise<Merged<{ -readonly [K in keyof T]: Awaited<T[K]> }>> {
  return Object.assign({}, ...(await Promise.all(modules)))
}

/** Every module the assembly builds with, in three steps. */
export async function loadParts(pause: () => Promise<void>) {
  const storage = await step(
    import('../storage/start'),
    import('../storage/service'),
    import('../storage/sweep'),
    import('../storage/moves'),
    import('../videos/store'),
    import('../videos/own-files'),
    import('../videos/files'),
    import('../redundancy/store'),
    import('../redundancy/known-store'),
    import('../transcoding/queue'),
    import('../shared/outbound'),
    import('../media/exec'),
  )
  await pause()
  const features = await step(
    import('../federation/transport'),
    import('../federation/inbox'),
    import('../federation/pod-info'),
    import('../friends/store'),
    import('../friends/admission'),
    import('../friends/service'),
    import('../friends/making'),
    import('../friends/actor'),
    import('../videos/service'),
    import('../details/store'),
    import('../details/service'),
    import('../runners/store'),
    import('../transcoding/service'),
    import('../runners/service'),
    import('../redundancy/service'),
    import('../accounts/service'),
    import('../torrents/served'),
    import('../metrics/pod-metrics'),
    import('../metrics/routes'),
  )
  await pause()
  const app = await step(import('../../actors/pod'), import('xstate'), import('./http'), import('./lazy'), import('elysia/ws'))
  return { ...storage, ...features, ...app }
}
