/**
 * The runners' routes (docs/runners.md): the admin's tokens and runner list, and the API a
 * runner uses with its secret (`{ runner: true }`: a request without a valid one is a 401).
 */
import { Elysia, t } from 'elysia'
import type { AuthMacros } from '../accounts/auth'
import { FailureReport, LeaseQuery, NewToken, ProgressReport, Registration, Release } from './model'
import type { Runners } from './service'

const Id = t.Object({ id: t.Numeric({ minimum: 1 }) })

/** `/api/v1/runners/...`. */
export const runnerRoutes = ({ fingerprint, runners, auth }: { fingerprint: string; runners: Runners; auth: AuthMacros }) =>
  new Elysia({ name: 'runners', prefix: '/api/v1/runners', seed: fingerprint })
    .use(auth)
    .macro({
      /** A registered runner, by the secret it was given. */
      runner: {
        resolve: ({ request }) => ({ runner: runners.authenticate(request) }),
      },
    })
    .get('/', () => ({ runners: runners.runners() }), { auth: 'admin' })
    .delete('/:id', ({ params }) => (runners.removeRunner(params.id), { removed: params.id }), { params: Id, auth: 'admin' })
    .get('/tokens', () => ({ tokens: runners.tokens() }), { auth: 'admin' })
    .post('/tokens', ({ body, set }) => ((set.status = 201), runners.createToken(body.name)), { body: NewToken, auth: 'admin' })
    .delete('/tokens/:id', ({ params }) => (runners.revokeToken(params.id), { revoked: params.id }), { params: Id, auth: 'admin' })
    .post('/register', ({ body, set }) => ((set.status = 201), runners.register(body.token, body.name)), { body: Registration })
    .post('/jobs/claim', ({ runner }) => ({ job: runners.claim(runner) }), { runner: true })
    .get('/jobs/:id/source', ({ runner, params, query }) => runners.source(runner, params.id, query.lease), { params: Id, query: LeaseQuery, runner: true })
    .post('/jobs/:id/progress', ({ runner, params, body }) => runners.progress(runner, params.id, body.lease, body.progress), { params: Id, body: ProgressReport, runner: true })
    .post('/jobs/:id/fail', ({ runner, params, body }) => (runners.fail(runner, params.id, body.lease, body.error), { failed: params.id }), { params: Id, body: FailureReport, runner: true })
    .post('/jobs/:id/release', ({ runner, params, body }) => (runners.release(runner, params.id, body.lease), { released: params.id }), { params: Id, body: Release, runner: true })
    // The result is streamed to disk by the service, never parsed into memory.
    .put('/jobs/:id/result', ({ runner, params, query, request }) => runners.result(runner, params.id, query.lease, request), { params: Id, query: LeaseQuery, parse: 'none', runner: true })
