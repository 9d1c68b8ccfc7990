/** What a pod says about itself: identity, protocol versions, health. */
import { Elysia } from 'elysia'
import type { Pod } from '../context'

/** The protocol versions this pod speaks (PROTOCOL.md). */
export const PROTOCOL = { current: 1, supported: [1] } as const

/** `GET /api/v1/pod` and `GET /api/v1/health`. */
export const podInfo = (pod: Pod) =>
  new Elysia({ name: 'pod-info', prefix: '/api/v1', seed: pod.identity.fingerprint })
    .get('/pod', () => ({
      url: pod.config.url,
      name: pod.config.name,
      fingerprint: pod.identity.fingerprint,
      publicKey: pod.identity.publicJwk,
      protocol: PROTOCOL,
      software: { name: 'seedpod', version: pod.version },
      registrations: pod.config.registrations,
      requireLoginToWatch: pod.config.requireLoginToWatch,
      // The STUN/TURN servers this pod's pages give WebRTC (config webrtc.iceServers).
      webrtc: { iceServers: pod.config.webrtc.iceServers },
    }))
    .get('/health', () => {
      pod.db.query('SELECT 1').get()
      return {
        ok: true,
        version: pod.version,
        uptimeSeconds: Math.round((Date.now() - pod.startedAt) / 1000),
        actors: pod.actors.getSnapshot().status,
      }
    })
