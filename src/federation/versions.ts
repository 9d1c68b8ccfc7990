/**
 * The protocol versions this build speaks (docs/protocol.md, "Versions"). A module of its own,
 * without dependencies: the pod document (answered before the rest of the pod is loaded)
 * and the envelope both read it.
 */
export const SUPPORTED_VERSIONS = [1] as const
export const CURRENT_VERSION = 1
