/**
 * What a pod says about itself at `GET /api/v1/pod` (docs/protocol.md, "The pod document"): fixed for the life of the
 * process (configuration and identity), so it is made once. Kept free of Elysia: the pod
 * answers it before its app exists (listen.ts).
 */
import type { Config } from '../shared/config'
import type { Identity } from './keys'

import { CURRENT_VERSION, SUPPORTED_VERSIONS } from '../federation/versions'

const PROTOCOL = { current: CURRENT_VERSION, supported: SUPPORTED_VERSIONS }

/** The body of `GET /api/v1/pod`. */
export function podDocument(config: Config, identity: Identity, version: string) {
  return {
    url: config.url,
    name: config.name,
    fingerprint: identity.fingerprint,
    publicKey: identity.publicJwk,
    protocol: PROTOCOL,
    software: { name: 'seedpod', version },
    registrations: config.registrations,
    requireLoginToWatch: config.requireLoginToWatch,
    // The STUN/TURN servers this pod's pages give WebRTC (config webrtc.iceServers).
    webrtc: { iceServers: config.webrtc.iceServers },
  }
}
