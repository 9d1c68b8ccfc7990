/** Redundancy routes: the admin's view of the copies this pod keeps. */
import { Elysia } from 'elysia'
import type { AuthMacros } from '../accounts/auth'
import type { Redundancy } from './service'

/** `GET /api/v1/videos/mirrors`. */
export const redundancyRoutes = ({ fingerprint, redundancy, auth }: { fingerprint: string; redundancy: Redundancy; auth: AuthMacros }) =>
  new Elysia({ name: 'redundancy', prefix: '/api/v1/videos', seed: fingerprint })
    .use(auth)
    .get('/mirrors', () => redundancy.status(), { auth: 'admin' })
