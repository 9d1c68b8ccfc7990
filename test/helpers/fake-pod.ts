/**
 * A hostile "pod" for the attack tests: a real HTTP server on loopback with a key of its
 * own, whose every answer the test decides (its document, friend list, inbox, any other path),
 * and which sends real signed and encrypted payloads to a victim pod. It counts the requests
 * it gets, so a test can tell how often the victim came to it.
 */
import type { Server } from 'bun'
import { openReply, seal } from '../../src/federation/envelope'
import { CURRENT_VERSION } from '../../src/federation/versions'
import { importPeerKey, newIdentity, type Identity } from '../../src/identity/keys'
import type { Video } from '../../src/videos/model'
import { videoOf } from './network'
import type { TestPod } from './pods'

/** What the fake answers for a request; undefined falls back to its default (its document, 404 elsewhere). */
export type FakeHandler = (request: Request, url: URL) => Response | Promise<Response> | undefined

export interface FakePod {
  identity: Identity
  url: string
  server: Server<undefined>
  /** Requests received, by path. */
  hits: Map<string, number>
  /** The document `GET /api/v1/pod` answers; change it to lie. */
  document: Record<string, unknown>
  /** Set to take over any path. */
  handle?: FakeHandler
  /** Sends one payload of `messages` to `victim`'s inbox (optionally under a given jti); returns the response and its opened reply's results. */
  send(victim: TestPod, messages: { type: string; data: unknown }[], jti?: string): Promise<{ status: number; body: unknown; results?: unknown[] }>
  /** `friend.request` to the victim with this fake's URL. */
  befriend(victim: TestPod): Promise<{ status: number; body: unknown; results?: unknown[] }>
  /** A well-formed Video of this fake. */
  video(fields?: Partial<Video>): Video
  stop(): void
}

let n = 0

/** Starts a fake pod on a free loopback port. */
export async function fakePod(opts: { identity?: Identity; path?: string } = {}): Promise<FakePod> {
  const identity = opts.identity ?? (await newIdentity()).identity
  const hits = new Map<string, number>()
  const fake = { identity, hits, handle: undefined as FakeHandler | undefined } as FakePod
  const server = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    fetch: async (request) => {
      const url = new URL(request.url)
      hits.set(url.pathname, (hits.get(url.pathname) ?? 0) + 1)
      const custom = await fake.handle?.(request, url)
      if (custom) return custom
      if (url.pathname === `${opts.path ?? ''}/api/v1/pod`) return Response.json(fake.document)
      if (url.pathname === `${opts.path ?? ''}/api/v1/pod/friends`) return Response.json({ friends: [] })
      return Response.json({ error: { code: 'not_found', message: 'no' } }, { status: 404 })
    },
  })
  fake.server = server
  fake.url = `http://127.0.0.1:${server.port}${opts.path ?? ''}`
  fake.document = { url: fake.url, name: 'fake', fingerprint: identity.fingerprint, publicKey: identity.publicJwk, protocol: { current: 1, supported: [1] } }
  fake.send = async (victim, messages, jti = crypto.randomUUID()) => {
    const keys = await importPeerKey(victim.running.pod.identity.publicJwk)
    const payload = { v: CURRENT_VERSION, from: { url: fake.url, fingerprint: identity.fingerprint }, to: victim.running.pod.identity.fingerprint, iat: Math.floor(Date.now() / 1000), jti, messages }
    const jwe = await seal(payload, identity, { fingerprint: victim.running.pod.identity.fingerprint, encryptKey: keys.encryptKey })
    const res = await fetch(`${victim.base}/api/v1/pod/inbox`, { method: 'POST', headers: { 'content-type': 'application/jose' }, body: jwe })
    const text = await res.text()
    if (res.status !== 200 || !res.headers.get('content-type')?.includes('jose')) return { status: res.status, body: text ? JSON.parse(text) : undefined }
    const reply = await openReply(text, identity, { fingerprint: victim.running.pod.identity.fingerprint, verifyKey: keys.verifyKey }, jti, Date.now())
    return { status: res.status, body: reply, results: reply.ok ? reply.value.results : undefined }
  }
  fake.befriend = (victim) => fake.send(victim, [{ type: 'friend.request', data: { url: fake.url, publicKey: identity.publicJwk, name: 'fake' } }])
  fake.video = (fields = {}) =>
    videoOf(
      { url: fake.url, fingerprint: identity.fingerprint },
      { id: `${identity.fingerprint.slice(0, 16)}fake${n++}`, name: 'A fake video', uploader: 'mallory', magnetUri: `magnet:?xt=urn:btih:${'ab'.repeat(20)}`, duration: 10, size: 1000, ...fields },
    )
  fake.stop = () => void server.stop(true)
  return fake
}
