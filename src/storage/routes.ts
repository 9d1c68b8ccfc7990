/** Storage routes: the admin's view of where the pod keeps its files and whether that store answers. */
import { Elysia } from 'elysia'
import type { AuthMacros } from '../accounts/auth'
import type { PodStorage } from './service'

/** `GET /api/v1/storage`: kind, endpoint, bucket, prefix, public base URL and health; never a credential. */
export const storageRoutes = ({ fingerprint, storage, auth }: { fingerprint: string; storage: PodStorage; auth: AuthMacros }) =>
  new Elysia({ name: 'storage', prefix: '/api/v1/storage', seed: fingerprint })
    .use(auth)
    .get('/', () => storage.info(), { auth: 'admin' })
