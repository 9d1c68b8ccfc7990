/**
 * A bounded fuzz test of every route of the app (src/*\/routes.ts), the inbox aside
 * (test/fuzz-inbox.test.ts), against pod A, friend of pod B, on loopback:
 *
 * 1. anonymous or with garbage credentials, with random and mutated bodies, content types,
 *    headers (Authorization, X-Forwarded-For, Range, Host, ...), path parameters (unicode, very
 *    long, `../`, undecodable percent escapes) and query strings; the database must not change;
 * 2. the same routes with admin and user tokens, where a request with a valid shape may change
 *    things (then only its 2xx may change the database, and the fixture is protected: the own
 *    video is never deleted, the friendship never ended, friend making only given URLs that
 *    fail at once);
 * 3. bursts of uploads past the upload queue (test/helpers/fuzz-uploads.ts).
 *
 * The routes of issue 18 among them: registrations waiting for an admin and limited per
 * address (a well-formed one is a 201 while the address has some left, then a 429), the
 * admin's `PATCH`/`DELETE /api/v1/users/:id` (of accounts registered during the run; of the
 * admin itself: 409 own_account), uploads of media bombs (415 with their code) and of cut or
 * flipped clips, a claimed petabyte (507 before a byte is written), the re-packaging progress,
 * `HEAD` of web seeds, torrents and playlists, Hosts of 1 to 3 characters.
 *
 * Asserted for every input: no 5xx (a 503 with Retry-After and a 507 are refusals), a 429 with
 * Retry-After, the status a user expects where one is known, errors as the API's JSON (not:
 * the pages, the tracker's bencoded answers, file bodies), the database and the data folder
 * changed only where allowed, no error logged (test/helpers/fuzz-fixture.ts). `FUZZ_SEED`, `FUZZ_SCALE` and `FUZZ_TRACE` as there.
 */
import { describe, expect, test } from 'bun:test'
import { deepNesting, headerString, mutateJson, mutateText, pathSegment, randomJson, randomString, Rng, safeEncode } from './helpers/fuzz'
import { announceSeed, COUNTS, OWNER_NAME, PASSWORD, runPart, SAFE_URLS, useFuzzFixture } from './helpers/fuzz-fixture'
import { enc, type Input } from './helpers/fuzz-inputs'
import { uploadBursts, uploadForm } from './helpers/fuzz-uploads'
import { fp, videoId } from './helpers/network'

const SEED = announceSeed(import.meta.path)
const fx = useFuzzFixture({ bombs: true })

describe('fuzz', () => {
  type Auth = 'none' | 'identify' | 'watch' | 'user' | 'admin'
  type BodyKind = 'none' | 'credentials' | 'edit' | 'details' | 'make' | 'upload' | 'status'
  interface Route {
    method: string
    path: string
    auth: Auth
    body: BodyKind
    mutating: boolean
    /** Errors are the API's JSON (false: pages, the tracker, file bodies). */
    json: boolean
    weight: number
    /** Anyone may change things through it (a registration). */
    open?: boolean
  }
  const route = (method: string, path: string, auth: Auth = 'none', extra: Partial<Route> = {}): Route => ({
    method,
    path,
    auth,
    body: 'none',
    mutating: method !== 'GET' && method !== 'HEAD' && method !== 'OPTIONS',
    json: true,
    weight: 1,
    ...extra,
  })
  /** Every route of the app (src/*\/routes.ts, src/torrents/tracker-routes.ts), the inbox aside (part 1). */
  const ROUTES: Route[] = [
    route('GET', '/api/v1/pod'),
    route('HEAD', '/api/v1/pod'),
    route('GET', '/api/v1/health'),
    route('GET', '/api/v1/pod/friends'),
    route('GET', '/api/v1/friends', 'identify'),
    route('GET', '/api/v1/tracker'),
    // Registrations wait for an admin (pending accounts), a few per address: anyone may make one.
    route('POST', '/api/v1/users', 'none', { body: 'credentials', weight: 3, open: true }),
    route('POST', '/api/v1/auth/token', 'none', { body: 'credentials', weight: 2, mutating: false }),
    route('GET', '/api/v1/users', 'admin'),
    route('GET', '/api/v1/users/me', 'user'),
    route('PATCH', '/api/v1/users/:uid', 'admin', { body: 'status', weight: 2 }),
    route('DELETE', '/api/v1/users/:uid', 'admin'),
    route('GET', '/api/v1/friends/:fp/scores', 'admin'),
    route('POST', '/api/v1/friends/make', 'admin', { body: 'make', weight: 3 }),
    route('POST', '/api/v1/friends/quit', 'admin'),
    route('DELETE', '/api/v1/friends/:fp', 'admin'),
    route('POST', '/api/v1/friends/:fp/retry', 'admin'),
    route('GET', '/api/v1/friends/requests', 'admin'),
    route('POST', '/api/v1/friends/requests/:fp/accept', 'admin'),
    route('DELETE', '/api/v1/friends/requests/:fp', 'admin'),
    route('GET', '/api/v1/blacklist', 'admin'),
    route('DELETE', '/api/v1/blacklist/:fp', 'admin'),
    route('GET', '/api/v1/videos', 'watch', { weight: 4 }),
    route('GET', '/api/v1/videos/:id', 'watch', { weight: 2 }),
    route('POST', '/api/v1/videos', 'user', { body: 'upload', weight: 4 }),
    route('PATCH', '/api/v1/videos/:id', 'user', { body: 'edit', weight: 4 }),
    route('PUT', '/api/v1/videos/:id', 'user', { body: 'edit', weight: 3 }),
    route('DELETE', '/api/v1/videos/:id', 'user', { weight: 2 }),
    route('GET', '/api/v1/videos/:id/details', 'watch', { weight: 2 }),
    route('PATCH', '/api/v1/videos/:id/details', 'user', { body: 'details', weight: 4 }),
    route('POST', '/api/v1/videos/:id/views', 'watch', { weight: 2 }),
    route('POST', '/api/v1/videos/:id/transcode', 'user', { weight: 2 }),
    route('GET', '/api/v1/videos/transcoding/jobs', 'admin'),
    route('GET', '/api/v1/videos/mirrors', 'admin'),
    route('GET', '/api/v1/videos/repackaging', 'admin'),
    route('GET', '/api/v1/storage', 'admin'),
    route('GET', '/api/v1/runners', 'admin'),
    route('DELETE', '/api/v1/runners/:id', 'admin'),
    route('GET', '/api/v1/runners/tokens', 'admin'),
    route('POST', '/api/v1/runners/tokens', 'admin'),
    route('DELETE', '/api/v1/runners/tokens/:id', 'admin'),
    // A runner's routes: no fuzzer holds a runner's secret, so each must refuse and change nothing.
    route('POST', '/api/v1/runners/register'),
    route('POST', '/api/v1/runners/jobs/claim'),
    route('GET', '/api/v1/runners/jobs/:id/source'),
    route('POST', '/api/v1/runners/jobs/:id/progress'),
    route('POST', '/api/v1/runners/jobs/:id/fail'),
    route('POST', '/api/v1/runners/jobs/:id/release'),
    route('PUT', '/api/v1/runners/jobs/:id/result'),
    route('GET', '/static/webseed/:file', 'none', { weight: 2 }),
    route('HEAD', '/static/webseed/:file'),
    route('OPTIONS', '/static/webseed/:file'),
    route('GET', '/static/torrents/:file'),
    route('HEAD', '/static/torrents/:file'),
    route('GET', '/static/hls/:id/:file', 'none', { weight: 2 }),
    route('HEAD', '/static/hls/:id/:file'),
    route('OPTIONS', '/static/hls/:id/:file'),
    route('OPTIONS', '/static/torrents/:file'),
    route('GET', '/static/thumbnails/:file', 'watch'),
    route('GET', '/tracker/announce', 'none', { json: false }),
    route('GET', '/tracker/scrape', 'none', { json: false }),
    route('GET', '/', 'none', { json: false }),
    route('GET', '/videos/:id', 'none', { json: false }),
    route('GET', '/upload', 'none', { json: false }),
    route('GET', '/admin', 'none', { json: false }),
    route('GET', '/assets/:file'),
    route('GET', '/vendor/webtorrent.min.js', 'none', { json: false }),
    route('GET', '/vendor/hls.light.min.mjs', 'none', { json: false }),
  ]
  const totalWeight = ROUTES.reduce((s, x) => s + x.weight, 0)
  const pickRoute = (r: Rng): Route => {
    let w = r.float() * totalWeight
    for (const x of ROUTES) if ((w -= x.weight) < 0) return x
    return ROUTES[0]!
  }

  /** One route input; `valid` chooses the credentials (a real admin or user token, or not). */
  function routeInput(r: Rng, part: string, n: number, valid: boolean): Input {
    const { a, b, c, own, bFixture, tokens } = fx
    const infoHash = /btih:([0-9a-f]{40})/.exec(own.magnetUri)![1]!
    let rt = pickRoute(r)
    let method = rt.method
    // Sometimes a method the route does not take, or a path no route has.
    let kind = `${rt.method} ${rt.path}`
    if (r.chance(0.04)) {
      method = r.pick(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD', 'PROPFIND'])
      kind = `${method}* ${rt.path}`
      rt = { ...rt, mutating: true }
    }
    const token = valid ? r.pick(['admin', 'admin', 'owner', 'owner', 'other', 'garbage'] as const) : r.pick(['none', 'none', 'none', 'garbage', 'garbage', 'foreign', 'basic', 'twoTokens', 'tampered'] as const)
    const bearer = { admin: tokens.admin, owner: tokens.owner, other: tokens.other }
    const headers: Record<string, string> = {}
    switch (token) {
      case 'none':
        break
      case 'garbage':
        headers.authorization = r.pick([`Bearer ${headerString(r, 300)}`, 'Bearer', 'Bearer ', `Bearer ${'a'.repeat(8000)}`, 'Bearer a.b.c', `Bearer ${b64url('{"alg":"none"}')}.${b64url('{"sub":"1"}')}.`, headerString(r, 80), 'Negotiate abc'])
        if (headers.authorization === '') delete headers.authorization
        break
      case 'foreign':
        // A real token of pod B (another issuer and secret).
        headers.authorization = `Bearer ${tokens.foreign}`
        break
      case 'basic':
        headers.authorization = `Basic ${Buffer.from(`${OWNER_NAME}:${PASSWORD}`).toString('base64')}`
        break
      case 'twoTokens':
        headers.authorization = `Bearer ${tokens.admin} ${tokens.admin}`
        break
      case 'tampered': {
        // A's admin token with a changed claim: the signature no longer fits.
        const [h, p, s] = tokens.admin.split('.')
        const claims = JSON.parse(Buffer.from(p!, 'base64url').toString()) as Record<string, unknown>
        headers.authorization = `Bearer ${h}.${b64url(JSON.stringify({ ...claims, sub: String(r.range(1, 5)), role: 'admin', exp: 9_999_999_999 }))}.${s}`
        break
      }
      default:
        headers.authorization = `${r.pick(['Bearer', 'bearer', 'BEARER'])} ${bearer[token]}`
    }
    const authorized = (token === 'admin' && (rt.auth !== 'none' || rt.mutating)) || ((token === 'owner' || token === 'other') && rt.auth !== 'admin')

    // Path parameters.
    const bIds = [bFixture.id, videoId(b, `fz${r.int(40)}`)]
    let id = r.pick([own.id, own.id, ...bIds, pathSegment(r), pathSegment(r), `${own.id}x`, 'transcoding', 'mirrors', safeEncode(randomString(r, 20)) || 'x'])
    let fpParam = r.pick([fp(b), fp(b), fp(a), c.fingerprint, pathSegment(r), fp(b).toUpperCase(), `${fp(b)}x`])
    let mayChange = rt.mutating && (authorized || rt.open === true)
    // Anonymous views count (that is their job): in the anonymous part only unknown ids.
    if (rt.path.endsWith('/views')) {
      if (!valid) id = r.pick([pathSegment(r), `${own.id}x`, 'nothing'])
      else mayChange = true
    }
    // The fixture lives through the run: its video is not deleted, its friendship not ended.
    if (valid && method === 'DELETE' && rt.path === '/api/v1/videos/:id' && id === own.id) id = `${own.id}-not`
    if (valid && method === 'DELETE' && rt.path === '/api/v1/friends/:fp' && fpParam === fp(b)) fpParam = pathSegment(r)
    if (valid && rt.path === '/api/v1/friends/quit' && token === 'admin') headers.authorization = `Bearer ${tokens.other}`
    // A path one segment longer than the route's.
    if (r.chance(0.02)) id = `${id}/${pathSegment(r)}`
    const files = {
      '/static/webseed/:file': r.pick([`${own.id}.mp4`, `${own.id}.240.mp4`, `${own.id}.webm`, own.id, `${bFixture.id}.mp4`, `${own.id}.99999.mp4`, pathSegment(r), `${pathSegment(r)}.mp4`]),
      '/static/torrents/:file': r.pick([`${infoHash}.torrent`, `${'0'.repeat(40)}.torrent`, `${infoHash.toUpperCase()}.torrent`, pathSegment(r)]),
      '/static/thumbnails/:file': r.pick([`${own.id}.jpg`, `${bFixture.id}.jpg`, `${pathSegment(r)}.jpg`, pathSegment(r)]),
      '/assets/:file': r.pick([pathSegment(r), 'app.js', 'index-00000000.js']),
    } as Record<string, string>
    // No account of the fixture but the admin's own (refused: an admin does not change or
    // delete itself): their tokens live through the run. The accounts registered during the
    // run (pending) may be accepted, disabled, deleted.
    const registered = (a.running.pod.db.query('SELECT id FROM users WHERE registered_from IS NOT NULL ORDER BY id').values() as number[][]).map(([x]) => String(x))
    const uid = r.pick(['999999', '0', '-1', '1e3', String(2 ** 53), '1.5', pathSegment(r), String(fx.ids.admin), ...(registered.length ? [r.pick(registered), r.pick(registered)] : [])])
    const hlsName = r.pick(['master.m3u8', '240.m3u8', 'original.m3u8', '99999.m3u8', '-1.m3u8', 'master.m3u8x', pathSegment(r)])
    if (rt.path === '/static/hls/:id/:file') id = r.pick([own.id, own.id, bFixture.id, pathSegment(r), `${own.id}x`])
    let path = rt.path.replace(':id', id).replace(':fp', fpParam).replace(':uid', uid).replace(':file', rt.path === '/static/hls/:id/:file' ? hlsName : (files[rt.path] ?? pathSegment(r)))
    path += queryString(r, rt.path)

    // Headers a client (or an attacker) adds.
    if (r.chance(0.3)) headers['x-forwarded-for'] = r.pick([headerString(r, 80), '127.0.0.1', '::1', `${r.int(256)}.${r.int(256)}.${r.int(256)}.${r.int(256)}`, '1.1.1.1, 2.2.2.2', 'unknown, ::ffff:1.2.3.4', 'x'.repeat(4000)])
    if (r.chance(0.15)) headers.range = r.pick(['bytes=0-', 'bytes=-5', 'bytes=999999999-', 'bytes=5-1', 'bytes=0-1,2-3', `bytes=${headerString(r, 20)}`, 'items=0-5', 'bytes=-0', 'bytes=0-99999999999999999999'])
    if (r.chance(0.1)) headers['if-none-match'] = r.pick(['*', '"x"', headerString(r, 40)])
    if (r.chance(0.1)) headers['if-modified-since'] = r.pick(['Thu, 01 Jan 1970 00:00:00 GMT', headerString(r, 30), 'Sat, 01 Jan 3000 00:00:00 GMT'])
    if (r.chance(0.1)) headers.accept = r.pick(['*/*', 'text/html', 'application/json;q=0', headerString(r, 40)])
    if (r.chance(0.1)) headers['accept-encoding'] = r.pick(['gzip', 'br', 'identity;q=0', headerString(r, 30)])
    if (r.chance(0.05)) headers['content-encoding'] = r.pick(['gzip', 'deflate', 'br', 'x'])
    if (r.chance(0.05)) headers['x-http-method-override'] = r.pick(['DELETE', 'PUT', 'PATCH'])
    if (r.chance(0.05)) headers.origin = r.pick(['null', 'http://evil.example', headerString(r, 30)])
    if (r.chance(0.05)) headers[`x-${headerString(r, 12).toLowerCase().replace(/[^a-z0-9-]/g, '') || 'z'}`] = headerString(r, 200)

    // The body.
    let body: Uint8Array | string | undefined
    const bodyKind = rt.body === 'none' && rt.mutating && r.chance(0.3) ? 'edit' : rt.body
    if (bodyKind !== 'none' && method !== 'GET' && method !== 'HEAD') {
      const made = makeBody(r, bodyKind, valid && token === 'admin')
      body = made.body
      if (made.contentType !== undefined) headers['content-type'] = made.contentType
    }
    // What a user or admin expects of the inputs sent as a client sends them.
    const plain = method === rt.method && !path.slice(1).includes('//')
    const adminToken = token === 'admin' && headers.authorization !== undefined
    let expect: number[] | undefined
    let expectCode: string | undefined
    if (plain && adminToken && rt.path === '/api/v1/users/:uid' && method === 'DELETE') {
      if (uid === String(fx.ids.admin)) [expect, expectCode] = [[409], 'own_account']
      else if (uid === '999999') expect = [404]
    }
    if (plain && rt.path === '/api/v1/users' && method === 'POST' && r.chance(0.4)) {
      // A well-formed registration: a pending account while the address has registrations left, then 429.
      const used = (a.running.pod.db.query('SELECT count(*) AS n FROM users WHERE registered_from IS NOT NULL').get() as { n: number }).n
      body = JSON.stringify({ username: `fz${SEED % 1000}${part.endsWith('anonymous') ? 'a' : 'u'}${n}`, password: PASSWORD })
      headers['content-type'] = 'application/json'
      expect = used >= fx.a.config.auth.registrationsPerAddress ? [429] : [201]
      mayChange = true
    }
    if (plain && rt.path === '/api/v1/videos' && method === 'POST' && (token === 'owner' || token === 'other') && r.chance(0.7)) {
      const upload = uploadForm(r, fx)
      body = upload.body
      headers['content-type'] = upload.contentType
      ;[expect, expectCode] = [upload.expect, upload.expectCode]
      mayChange = true
      if (upload.claim !== undefined) return { part, n, kind: `${kind} (claims ${upload.claim} bytes)`, method, path, headers, body, transport: 'claim', claim: upload.claim, mayChange: false, json: true, expect, expectCode }
    }
    const t = r.float()
    const transport: Input['transport'] =
      t < 0.85 ? 'fetch' : t < 0.9 ? 'chunked' : t < 0.92 ? 'cl-short' : t < 0.94 ? 'cl-long-halfclose' : t < 0.945 ? 'cl-long-wait' : t < 0.96 ? 'cl-and-te' : t < 0.97 ? 'cl-garbage' : 'raw-path'
    if (transport === 'raw-path') path = r.pick(['/api/v1/videos/../../etc/passwd', '/api/v1/pod/../users', '//api/v1/videos', '/api/v1/videos/%', `/api/v1/videos/${own.id}/../../users`, '/./api/v1/health', '/api/v1/videos?%', '/static/webseed/..%2f..%2fdata%2fseedpod.db', `/static/webseed/${own.id}.mp4/..`, '*', '/api/v1/videos/\u00e9']) + (r.chance(0.3) ? queryString(r, '/api/v1/videos') : '')
    // Paths must be sendable by the raw client too: only ASCII.
    if (transport !== 'fetch') path = path.replace(/[^\x21-\x7e]/g, (ch) => safeEncode(ch))
    if (method === 'GET' || method === 'HEAD') mayChange = false
    // Sometimes another Host (Elysia reads the path from the URL's 11th character on: a Host
    // of 1 to 3 characters shifts it, and the request then goes to a suffix of its path).
    if (transport === 'fetch' && r.chance(0.03))
      return { part, n, kind, method, path: path.replace(/[^\x21-\x7e]/g, (ch) => safeEncode(ch)), headers, body, transport: 'raw-host', host: r.pick(['x', 'x:1', 'ab', 'abc', 'localhost', 'evil.example', '', '[::1]:1', 'a'.repeat(1000), headerString(r, 30)]), mayChange, json: rt.json }
    return { part, n, kind, method, path, headers, body, transport, mayChange, json: rt.json, expect, expectCode }
  }

  const b64url = (s: string) => Buffer.from(s).toString('base64url')

  /** A query string: mostly for the video list, sometimes for any route. */
  function queryString(r: Rng, path: string): string {
    if (path === '/static/webseed/:file' && r.chance(0.3)) return `?head=${r.pick(['1', '0', '-1', '99999999999999999', 'abc', '1e3', ''])}`
    if (path === '/vendor/webtorrent.min.js' && r.chance(0.5)) return `?v=${pathSegment(r)}`
    if (path !== '/api/v1/videos' && !r.chance(0.05)) return ''
    if (r.chance(0.1)) return r.pick(['?', '?&&=&', '?%', '?search=%', '?search=%ff%fe', '?count[]=1', '?count[a]=1', '?sort=-createdAt&sort=name', `?search=${'a'.repeat(7000)}`, '?start=1e400', '?__proto__=1', '?constructor=x'])
    const params: string[] = []
    const n = r.range(0, 5)
    for (let k = 0; k < n; k++) {
      const key = r.pick(['search', 'search', 'start', 'count', 'sort', 'scope', randomString(r, 10)])
      const values: Record<string, () => string> = {
        search: () => (r.chance(0.6) ? randomString(r, 120) : r.pick(['fuzz', 'fixture', 'the fuzz', 'fu', '"', '*', 'a OR b', 'NEAR(a b)', '-x', 'x'.repeat(201), 'é ', 'İ'])),
        start: () => r.pick(['0', '1', '-1', '1000000', '1000001', '1.5', 'abc', '', '1e3', '0x10', ' 1']),
        count: () => r.pick(['1', '100', '101', '0', '-1', '20', '1.5', 'abc', '', 'NaN', 'Infinity']),
        sort: () => r.pick(['-createdAt', 'createdAt', 'name', '-name', 'relevance', 'Name', '', randomString(r, 10)]),
        scope: () => r.pick(['local', 'network', 'LOCAL', '', 'all', randomString(r, 10)]),
      }
      params.push(`${safeEncode(key)}=${safeEncode(Object.hasOwn(values, key) ? values[key]!() : randomString(r, 30))}`)
    }
    return params.length ? `?${params.join('&')}` : ''
  }

  /** A body for a route that takes one: its template mutated, random JSON, broken JSON, deep nesting, other encodings. */
  function makeBody(r: Rng, kind: BodyKind, adminMake: boolean): { body: Uint8Array | string; contentType?: string } {
    const templates: Record<string, () => unknown> = {
      credentials: () => ({ username: r.pick([OWNER_NAME, 'fuzzadmin', randomString(r, 40)]), password: r.pick([PASSWORD, randomString(r, 60)]) }),
      edit: () => ({ name: r.pick(['Renamed by the fuzz', randomString(r, 150)]), description: r.pick(['A description', randomString(r, 400)]) }),
      details: () => ({ description: randomString(r, 300), tags: ['music', randomString(r, 30)], license: r.pick(['CC-BY-4.0', randomString(r, 50), null]), language: r.pick(['en', 'pt-br', randomString(r, 10), null]) }),
      make: () => ({ pods: Array.from({ length: r.range(1, 4) }, () => r.pick(SAFE_URLS)) }),
      status: () => ({ status: r.pick(['active', 'disabled', 'pending', randomString(r, 10)]) }),
    }
    if (kind === 'upload') {
      const boundary = r.pick(['x', 'fuzzboundary', '', headerString(r, 70)])
      const part = (name: string, value: string | Uint8Array, filename?: string) =>
        Buffer.concat([enc.encode(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"${filename !== undefined ? `; filename="${filename}"` : ''}\r\n\r\n`), typeof value === 'string' ? enc.encode(value) : value, enc.encode('\r\n')])
      const parts = [
        ...(r.chance(0.8) ? [part('name', randomString(r, 150))] : []),
        ...(r.chance(0.5) ? [part('description', randomString(r, 200))] : []),
        ...(r.chance(0.7) ? [part(r.pick(['file', 'file', 'other']), r.bytes(r.length(20_000)), r.pick(['a.mp4', '../../x', '', headerString(r, 40)]))] : []),
      ]
      const bodyBytes = Buffer.concat([...parts, enc.encode(r.chance(0.8) ? `--${boundary}--\r\n` : '')])
      return { body: r.chance(0.2) ? mutateText(r, bodyBytes.toString('latin1')) : bodyBytes, contentType: r.chance(0.85) ? `multipart/form-data; boundary=${boundary}` : r.pick(['multipart/form-data', 'application/json', 'text/plain', headerString(r, 40)]) }
    }
    const template = (templates[kind] ?? (() => ({ x: 1 })))()
    const JSON_TYPES = ['application/json', 'application/json', 'application/json; charset=utf-8', 'APPLICATION/JSON', 'application/vnd.api+json', 'text/json']
    const OTHER_TYPES = ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data', 'multipart/form-data; boundary=x', 'application/octet-stream', 'application/jose', '', 'application/json; charset=utf-16']
    const contentType = r.chance(0.75) ? r.pick(JSON_TYPES) : r.chance(0.8) ? r.pick(OTHER_TYPES) : headerString(r, 40)
    const k = r.float()
    // Friend making by an admin fetches what it is given: only URLs that fail at once.
    if (adminMake && kind === 'make') {
      const v = k < 0.6 ? mutateJson(r, template, { keepStrings: true }) : r.pick<unknown>([{ pods: [] }, { pods: 'http://127.0.0.1:1' }, { pods: Array(101).fill('http://127.0.0.1:1') }, { pods: [1, null] }, null, [], { pods: ['not a url'] }])
      return { body: JSON.stringify(v) ?? 'null', contentType }
    }
    if (k < 0.5) return { body: JSON.stringify(mutateJson(r, template)) ?? '', contentType }
    if (k < 0.6) return { body: JSON.stringify(template), contentType }
    if (k < 0.68) return { body: JSON.stringify(randomJson(r, 4)) ?? 'null', contentType }
    if (k < 0.78) return { body: mutateText(r, JSON.stringify(template)), contentType }
    if (k < 0.82) return { body: deepNesting(r, r.range(100, 30_000)), contentType }
    if (k < 0.86) return { body: r.bytes(r.length(3000)), contentType }
    if (k < 0.89) return { body: '', contentType }
    if (k < 0.93) {
      const o = template as Record<string, unknown>
      return { body: Object.entries(o).map(([key, v]) => `${safeEncode(key)}=${safeEncode(typeof v === 'string' ? v : JSON.stringify(v) ?? '')}`).join('&') + (r.chance(0.3) ? `&${safeEncode(randomString(r, 10))}=1&name=2` : ''), contentType: 'application/x-www-form-urlencoded' }
    }
    if (k < 0.96) {
      const fields = Object.entries(template as Record<string, unknown>).map(([key, v]) => `--fz\r\nContent-Disposition: form-data; name="${key}"\r\n\r\n${typeof v === 'string' ? v : JSON.stringify(v)}\r\n`)
      return { body: `${fields.join('')}--fz--\r\n`, contentType: 'multipart/form-data; boundary=fz' }
    }
    // Around the 64 KiB limit of JSON bodies (4 KiB for credentials).
    const size = r.pick([4095, 4097, 65_535, 65_537, 70_000, 200_000])
    return { body: JSON.stringify({ name: 'x'.repeat(Math.max(0, size - 12)) }), contentType }
  }

  test('every route, anonymous or with invalid credentials: no 5xx, JSON errors, no change', async () => {
    const r = new Rng(SEED ^ 0x2a17)
    const failures = await runPart(fx, 'routes-anonymous', COUNTS.anonymous, (n) => routeInput(r, 'routes-anonymous', n, false))
    expect(failures).toEqual([])
  })

  test('every route with admin and user tokens: no 5xx, JSON errors, changes only by authorized 2xx', async () => {
    const r = new Rng(SEED ^ 0x3c55)
    const failures = await runPart(fx, 'routes-authenticated', COUNTS.authenticated, (n) => routeInput(r, 'routes-authenticated', n, true))
    // The fixture survived: the own video, the friendship.
    expect(fx.a.running.pod.videos.localFile(fx.own.id)).toBeDefined()
    expect(fx.a.running.pod.friends.store.get(fp(fx.b))).toBeDefined()
    expect(failures).toEqual([])
  })

  test('uploads in bursts past the queue: 429 and 503 with Retry-After, a video for each 201, nothing else stored', async () => {
    const failures = await uploadBursts(fx, new Rng(SEED ^ 0x5e11), 3)
    if (failures.length) console.log(`fuzz upload-bursts: ${failures.length} problem(s) (seed ${SEED}):\n${failures.join('\n\n')}`)
    expect(failures).toEqual([])
  })
})
