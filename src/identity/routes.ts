/** What a pod says about itself: identity, protocol versions, health. */
import { Elysia } from 'elysia'
import type { Pod } from '../app/pod'
import { podDocument } from './document'

/**
 * `GET /api/v1/pod` and `GET /api/v1/health`. A listening pod answers the first from Bun's
 * own routes (listen.ts); this route is what `app.handle` and HEAD requests get.
 */
export const podInfo = (pod: Pod) => {
  const document = podDocument(pod.config, pod.identity, pod.version)
  return new Elysia({ name: 'pod-info', prefix: '/api/v1', seed: pod.identity.fingerprint })
    .get('/pod', () => document)
    .get('/health', () => {
      pod.db.query('SELECT 1').get()
      return {
        ok: true,
        version: pod.version,
        uptimeSeconds: Math.round((Date.now() - pod.startedAt) / 1000),
        actors: pod.actors.getSnapshot().status,
      }
    })
}
