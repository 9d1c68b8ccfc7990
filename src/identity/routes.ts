/** What a pod says about itself: identity, protocol versions, health. */
import { Elysia } from 'elysia'

/**
 * `GET /api/v1/pod` and `GET /api/v1/health`. A listening pod answers the first from Bun's
 * own routes (src/app/listen.ts); this route is what `app.handle` gets.
 */
export const podInfo = ({ fingerprint, document, health }: { fingerprint: string; document: unknown; health: () => Record<string, unknown> }) =>
  new Elysia({ name: 'pod-info', prefix: '/api/v1', seed: fingerprint }).get('/pod', () => document).get('/health', () => ({ ok: true, ...health() }))
