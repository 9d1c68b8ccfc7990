/**
 * Storage routes: the admin's view of where the pod keeps its files and whether that store
 * answers. With the app rather than in src/storage/, which every feature builds on (accounts,
 * whose auth the route uses, included) and so imports none.
 */
import { Elysia } from 'elysia'
import type { AuthMacros } from '../accounts/auth'
import type { StorageMoves } from '../storage/moves'
import type { PodStorage } from '../storage/service'

/**
 * `GET /api/v1/storage`: kind, endpoint, bucket, prefix, public base URL and health, and how
 * many files wait in the data folder for the bucket (`pendingMoves`); never a credential.
 */
export const storageRoutes = ({ fingerprint, storage, moves, auth }: { fingerprint: string; storage: PodStorage; moves: StorageMoves; auth: AuthMacros }) =>
  new Elysia({ name: 'storage', prefix: '/api/v1/storage', seed: fingerprint })
    .use(auth)
    .get('/', () => ({ ...storage.info(), pendingMoves: moves.pending() }), { auth: 'admin' })
