/**
 * Friendships between real pods on loopback: friend making, video announcements, scores,
 * retries and revocation, quitting, moving, and every refusal of the inbox.
 */
import { afterAll, describe, expect, test } from 'bun:test'
import { CompactEncrypt, CompactSign } from 'jose'
import { seal } from '../src/federation/envelope'
import { CURRENT_VERSION } from '../src/federation/versions'
import { importPeerKey, newIdentity, type Identity } from '../src/identity/keys'
import { videoOfRow } from '../src/videos/model'
import { VideoStore } from '../src/videos/store'
import { adminToken, fp, friendsOf, indexIds, netPod, publish, restart, stopPods, syntheticVideo, until, videoId } from './helpers/network'
import type { TestPod } from './helpers/pods'
import { valueOf } from './helpers/results'

afterAll(stopPods)

const FAST_RETRY = { baseMs: 25, factor: 1, retries: 10 }

const fingerprintsOf = async (p: TestPod) => (await friendsOf(p)).map((f) => f.fingerprint).sort()

describe('friend making', () => {
  test("the 2015 design's example: asking pod1, pod2 and pod3 befriends those three and pod5, not pod4", async () => {
    const [p1, p2, p3, p4, p5, fresh] = await Promise.all(Array.from({ length: 6 }, () => netPod()))
    const make = (p: TestPod, others: TestPod[]) => p.running.pod.making.makeFriends(others.map((o) => o.base))
    await make(p1!, [p2!, p3!, p4!, p5!])
    await make(p2!, [p3!, p5!])
    await make(p3!, [p5!])
    const v = publish(p4!)
    await until(() => indexIds(p1!).includes(v.id), 3000, 'pod4 video at pod1')

    // Over HTTP, as an admin does it.
    const res = await fetch(`${fresh!.base}/api/v1/friends/make`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await adminToken(fresh!)}`, 'content-type': 'application/json' },
      body: JSON.stringify({ pods: [p1!.base, p2!.base, p3!.base] }),
    })
    expect(res.status).toBe(200)
    const { results } = (await res.json()) as { results: { url: string; status: string }[] }
    expect(results.filter((r) => r.status === 'added').map((r) => r.url).sort()).toEqual([p1!.base, p2!.base, p3!.base, p5!.base].sort())
    expect(await fingerprintsOf(fresh!)).toEqual([fp(p1!), fp(p2!), fp(p3!), fp(p5!)].sort())
    // Friendship is mutual: each of them lists the new pod, pod4 does not.
    for (const p of [p1!, p2!, p3!, p5!]) expect(await fingerprintsOf(p)).toContain(fp(fresh!))
    expect(await fingerprintsOf(p4!)).not.toContain(fp(fresh!))
    // Its index has no video of pod4, which it is not friends with.
    expect(indexIds(fresh!)).not.toContain(v.id)
  })

  test('a new friend sends its videos back; later videos reach every friend within a second', async () => {
    const [a, b, c] = await Promise.all([netPod(), netPod(), netPod()])
    const old = publish(b!)
    await a!.running.pod.making.makeFriends([b!.base, c!.base])
    expect(indexIds(a!)).toContain(old.id)
    // It came in b's answer to the request, once: b's outbox does not send it again.
    await until(() => !b!.running.pod.friends.store.hasQueued(fp(a!)), 3000, "b's outbox to a drained")
    expect(a!.running.pod.friends.store.appliedCount(fp(b!))).toBe(0)
    const t0 = Date.now()
    const v = publish(a!, { name: 'Sunset over the harbour' })
    await until(() => indexIds(b!).includes(v.id) && indexIds(c!).includes(v.id), 1000, 'video at both friends')
    expect(Date.now() - t0).toBeLessThan(1000)
    // Removal reaches them too.
    a!.running.pod.videos.unpublish(v.id)
    await until(() => !indexIds(b!).includes(v.id) && !indexIds(c!).includes(v.id), 1000, 'removal at both friends')
  })

  test('a pod with `friends` in its config makes friends at first start, and not again at the next', async () => {
    const [a, b] = await Promise.all([netPod(), netPod()])
    await a.running.pod.making.makeFriends([b.base])
    let c = await netPod({ friends: [a.base] })
    await until(async () => (await friendsOf(c)).length === 2, 5000, 'friends from config')
    expect(await fingerprintsOf(c)).toEqual([fp(a), fp(b)].sort())
    // An admin ends one friendship; a restart does not quietly make it again.
    await c.running.pod.friends.unfriend(fp(b))
    await c.stop()
    c = await restart(c, { friends: [a.base] })
    await Bun.sleep(300)
    expect(await fingerprintsOf(c)).toEqual([fp(a)])
  })

  test('making friends needs an admin, and bad input changes nothing', async () => {
    const a = await netPod()
    const user = valueOf(await a.running.pod.accounts.create('bob', 'correct horse battery staple'))
    const userToken = (await a.running.pod.accounts.issueToken(user)).accessToken
    const post = (token: string | undefined, body: unknown) =>
      fetch(`${a.base}/api/v1/friends/make`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify(body),
      })
    expect((await post(undefined, { pods: ['http://127.0.0.1:1'] })).status).toBe(401)
    expect((await post(userToken, { pods: ['http://127.0.0.1:1'] })).status).toBe(403)
    const bad = await post(await adminToken(a), { pods: 'nope' })
    expect(bad.status).toBe(400)
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('invalid_request')
    // A pod that does not answer is reported, and nothing is added.
    const down = await post(await adminToken(a), { pods: ['http://127.0.0.1:1'] })
    expect(((await down.json()) as { results: { status: string }[] }).results[0]!.status).toBe('failed')
    expect(await friendsOf(a)).toEqual([])
  })
})

describe('scores, retries and revocation', () => {
  test('a friend that goes down loses 10 per failed attempt, is revoked at 0 with its videos gone, and is refused afterwards', async () => {
    const a = await netPod({ retry: FAST_RETRY })
    let b = await netPod({ retry: FAST_RETRY })
    await a.running.pod.making.makeFriends([b.base])
    const bv = publish(b)
    await until(() => indexIds(a).includes(bv.id), 2000, 'b video at a')
    // Logged in as a's admin before the clock starts (a login costs an argon2 hash).
    await friendsOf(a)
    await b.stop()

    publish(a)
    const seen = new Set<number>()
    await until(async () => {
      const f = (await friendsOf(a)).find((x) => x.fingerprint === fp(b))
      if (f) seen.add(f.score)
      return !f
    }, 5000, 'revocation')
    // It went down 10 at a time (the 5 ms polling may miss a step, never a jump below 0).
    expect([...seen].every((s) => s % 10 === 0 && s >= 0 && s <= 100)).toBe(true)
    expect(seen.size).toBeGreaterThan(3)
    expect(indexIds(a)).not.toContain(bv.id)
    const log = a.logs.find((l) => l.event === 'friend.revoked')
    expect(log).toMatchObject({ blacklisted: true })
    const blacklist = await fetch(`${a.base}/api/v1/blacklist`, { headers: { authorization: `Bearer ${await adminToken(a)}` } })
    expect(((await blacklist.json()) as { blacklist: { fingerprint: string }[] }).blacklist.map((e) => e.fingerprint)).toEqual([fp(b)])

    // b comes back: its messages and requests are refused.
    b = await restart(b)
    const again = await b.running.pod.making.makeFriends([a.base])
    expect(again[0]).toMatchObject({ status: 'failed' })
    expect(again[0]!.error).toContain('403')
    expect(await friendsOf(a)).toEqual([])

    // An admin lifts it; friends again.
    const lift = await fetch(`${a.base}/api/v1/blacklist/${fp(b)}`, { method: 'DELETE', headers: { authorization: `Bearer ${await adminToken(a)}` } })
    expect(lift.status).toBe(200)
    // (b never learned it was revoked, so on its side the friendship is refreshed.)
    const third = await b.running.pod.making.makeFriends([a.base])
    expect(['added', 'refreshed']).toContain(third[0]!.status)
    expect((await friendsOf(a)).map((f) => f.fingerprint)).toEqual([fp(b)])
  })

  test('a friend back before 0 earns its score back, never past the max; its queued messages arrive', async () => {
    const retry = { baseMs: 150, factor: 1, retries: 10 }
    const a = await netPod({ retry, score: { initial: 100, step: 10, max: 120 } })
    let b = await netPod({ retry })
    await a.running.pod.making.makeFriends([b.base])
    await b.stop()
    const queued = [publish(a), publish(a)]
    const down = await until(async () => (await friendsOf(a)).find((f) => f.score <= 70), 5000, 'score 70')
    expect(down).toMatchObject({ state: 'backoff', queued: 2 })
    expect(down.lastError).toContain('cannot reach')
    expect(Date.parse(down.nextRetryAt!)).toBeGreaterThan(Date.now() - 1000)
    b = await restart(b)
    await until(() => queued.every((v) => indexIds(b).includes(v.id)), 3000, 'queued videos at b')
    const back = await until(async () => (await friendsOf(a)).find((f) => f.state === 'active' && f.queued === 0), 3000, 'active again')
    // Exactly: 100, minus 10 per failed attempt, plus 10 per delivered request (a logged both).
    const count = (event: string) => a.logs.filter((l) => l.event === event).length
    expect(count('friend.delivery.failed')).toBeGreaterThanOrEqual(3)
    expect(count('friend.delivery.succeeded')).toBeGreaterThanOrEqual(1)
    expect(back.score).toBe(100 - 10 * count('friend.delivery.failed') + 10 * count('friend.delivery.succeeded'))
    expect(back.lastError).toBeNull()
    for (let i = 0; i < 6; i++) {
      publish(a)
      await until(async () => (await friendsOf(a))[0]!.queued === 0, 2000, 'delivered')
    }
    expect((await friendsOf(a))[0]!.score).toBe(120)
  })

  test('a friend speaking another protocol version shows as incompatible and is not scored down', async () => {
    const a = await netPod({ retry: FAST_RETRY })
    const b = await netPod()
    await a.running.pod.making.makeFriends([b.base])
    const port = b.config.port
    await b.stop()
    // In b's place, a pod of a future protocol that answers 426 to version 1.
    const future = Bun.serve({
      port,
      hostname: '127.0.0.1',
      fetch: () => Response.json({ error: { code: 'unsupported_version', message: 'v2 only', supported: [2] } }, { status: 426 }),
    })
    try {
      publish(a)
      const f = await until(async () => (await friendsOf(a)).find((x) => x.state === 'incompatible'), 3000, 'incompatible')
      expect(f.score).toBe(100)
      expect(f.lastError).toContain('[2]')
      await Bun.sleep(200)
      expect((await friendsOf(a))[0]).toMatchObject({ state: 'incompatible', score: 100 })
    } finally {
      future.stop(true)
    }
  })
})

describe('the inbox refuses, changing nothing', () => {
  async function setup() {
    const [a, b] = await Promise.all([netPod(), netPod()])
    await a.running.pod.making.makeFriends([b.base])
    const bIdentity = b.running.pod.identity
    const aKeys = await importPeerKey(a.running.pod.identity.publicJwk)
    const aRecipient = { fingerprint: fp(a), encryptKey: aKeys.encryptKey }
    const video = (id: string) => ({ type: 'video.add', data: syntheticVideo(b, { id: videoId(b, id) }) })
    const payload = (over: Record<string, unknown> = {}) => ({
      v: CURRENT_VERSION,
      from: { url: b.base, fingerprint: fp(b) },
      to: fp(a),
      iat: Math.floor(Date.now() / 1000),
      jti: crypto.randomUUID(),
      messages: [video(`inbox${Math.random().toString(36).slice(2)}`)],
      ...over,
    })
    const post = (body: string, type = 'application/jose') =>
      fetch(`${a.base}/api/v1/pod/inbox`, { method: 'POST', headers: { 'content-type': type }, body })
    const state = () => JSON.stringify({ videos: indexIds(a), friends: a.running.pod.db.query('SELECT fingerprint, url, score FROM friends').all() })
    return { a, b, bIdentity, aRecipient, payload, post, state, video }
  }

  const code = async (res: Response) => ((await res.json()) as { error: { code: string } }).error.code

  test('a well-formed message from a friend is applied once; its replay is answered duplicate', async () => {
    const { a, b, bIdentity, aRecipient, payload, post, state } = await setup()
    const p = payload()
    const jwe = await seal(p, bIdentity, aRecipient)
    const first = await post(jwe)
    expect(first.status).toBe(200)
    expect(first.headers.get('content-type')).toContain('application/jose')
    const before = state()
    const again = await post(jwe)
    expect(again.status).toBe(200)
    expect(await again.json()).toEqual({ ok: true, duplicate: true })
    expect(state()).toBe(before)
    expect(a.running.pod.friends.store.appliedCount(fp(b))).toBe(1)
  })

  test('forged, misdirected, stale, tampered, oversized and unknown messages', async () => {
    const { a, b, bIdentity, aRecipient, payload, post, state } = await setup()
    const stranger = (await newIdentity()).identity
    const before = state()

    // A signature by another key under the friend's fingerprint.
    const impostor: Identity = { ...stranger, fingerprint: fp(b) }
    let res = await post(await seal(payload(), impostor, aRecipient))
    expect([res.status, await code(res)]).toEqual([401, 'bad_signature'])

    // A valid JWS whose signature bytes were altered.
    const jws = await new CompactSign(new TextEncoder().encode(JSON.stringify(payload()))).setProtectedHeader({ alg: 'PS256', kid: fp(b) }).sign(bIdentity.signKey)
    const parts = jws.split('.')
    const forged = `${parts[0]}.${parts[1]}.${parts[2]!.slice(0, -4)}AAAA`
    res = await post(await new CompactEncrypt(new TextEncoder().encode(forged)).setProtectedHeader({ alg: 'RSA-OAEP-256', enc: 'A256GCM', kid: fp(a), cty: 'JWT' }).encrypt(aRecipient.encryptKey))
    expect([res.status, await code(res)]).toEqual([401, 'bad_signature'])

    res = await post(await seal(payload({ iat: Math.floor(Date.now() / 1000) - 301 }), bIdentity, aRecipient))
    expect([res.status, await code(res)]).toEqual([401, 'stale'])

    res = await post(await seal(payload({ to: fp(b) }), bIdentity, aRecipient))
    expect([res.status, await code(res)]).toEqual([401, 'wrong_recipient'])

    const good = await seal(payload(), bIdentity, aRecipient)
    res = await post(good.slice(0, good.length - 30))
    expect([res.status, await code(res)]).toEqual([401, 'undecryptable'])
    const segments = good.split('.')
    const ct = segments[3]!
    segments[3] = (ct[0] === 'A' ? 'B' : 'A') + ct.slice(1)
    res = await post(segments.join('.'))
    expect([res.status, await code(res)]).toEqual([401, 'undecryptable'])

    res = await post('x'.repeat(a.config.maxMessageBytes + 1))
    expect([res.status, await code(res)]).toEqual([413, 'too_large'])

    res = await post(good, 'application/json')
    expect([res.status, await code(res)]).toEqual([415, 'unsupported_media_type'])

    // A stranger (not a friend) sending anything but a friend request.
    const strangerMsg = { ...payload(), from: { url: 'http://127.0.0.1:1', fingerprint: stranger.fingerprint } }
    res = await post(await seal(strangerMsg, stranger, aRecipient))
    expect([res.status, await code(res)]).toEqual([403, 'not_a_friend'])

    // A friend request whose URL serves another key (here: b's URL, a stranger's key).
    const request = {
      ...payload(),
      from: { url: b.base, fingerprint: stranger.fingerprint },
      messages: [{ type: 'friend.request', data: { url: b.base, publicKey: stranger.publicJwk, name: 'mallory' } }],
    }
    res = await post(await seal(request, stranger, aRecipient))
    expect([res.status, await code(res)]).toEqual([403, 'url_unproven'])
    // ... or whose URL is not an http(s) pod URL at all (never fetched).
    const fileUrl = { ...request, messages: [{ type: 'friend.request', data: { url: 'file:///etc', publicKey: stranger.publicJwk, name: 'mallory' } }] }
    res = await post(await seal(fileUrl, stranger, aRecipient))
    expect([res.status, await code(res)]).toEqual([403, 'url_unproven'])

    // A version this pod does not speak.
    res = await post(await seal(payload({ v: 2 }), bIdentity, aRecipient))
    expect(res.status).toBe(426)
    expect(((await res.json()) as { supported: number[] }).supported).toEqual([1])

    expect(state()).toBe(before)
    expect(a.running.pod.friends.store.appliedCount(fp(b))).toBe(0)
  })

  test('a friend cannot add or remove videos of another origin', async () => {
    const { a, b, bIdentity, aRecipient, payload, post, video } = await setup()
    const own = publish(a)
    const spoof = video('spoofed')
    ;(spoof.data as { podFingerprint: string }).podFingerprint = fp(a)
    const res = await post(await seal(payload({ messages: [spoof, { type: 'video.remove', data: { id: own.id } }] }), bIdentity, aRecipient))
    expect(res.status).toBe(200)
    expect(indexIds(a)).toContain(own.id)
    expect(indexIds(a)).not.toContain(spoof.data.id)
    expect(fp(b)).not.toBe(fp(a))
  })
})

describe('leaving and moving', () => {
  test('quit tells every friend and forgets their videos; unfriend ends one; making friends again works', async () => {
    const [a, b, c] = await Promise.all([netPod(), netPod(), netPod()])
    publish(b)
    publish(c)
    await a.running.pod.making.makeFriends([b.base, c.base])
    expect(indexIds(a).length).toBe(2)
    const token = await adminToken(a)
    const quit = await fetch(`${a.base}/api/v1/friends/quit`, { method: 'POST', headers: { authorization: `Bearer ${token}` } })
    expect(quit.status).toBe(200)
    expect(((await quit.json()) as { left: { told: boolean }[] }).left.every((l) => l.told)).toBe(true)
    expect(await friendsOf(a)).toEqual([])
    expect(indexIds(a)).toEqual([])
    expect(await fingerprintsOf(b)).not.toContain(fp(a))
    expect(await fingerprintsOf(c)).not.toContain(fp(a))

    await a.running.pod.making.makeFriends([b.base, c.base])
    expect(indexIds(a).length).toBe(2)
    const del = await fetch(`${a.base}/api/v1/friends/${fp(b)}`, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } })
    expect(del.status).toBe(200)
    expect(await fingerprintsOf(a)).toEqual([fp(c)])
    expect(await fingerprintsOf(b)).not.toContain(fp(a))
    expect(indexIds(a).length).toBe(1)
    const missing = await fetch(`${a.base}/api/v1/friends/${fp(b)}`, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } })
    expect(missing.status).toBe(404)
  })

  test('pod.moved: a pod restarted on another port tells its friends, who deliver there from then on', async () => {
    const [a, b0] = await Promise.all([netPod(), netPod()])
    await a.running.pod.making.makeFriends([b0.base])
    const bv = publish(b0)
    await until(() => indexIds(a).includes(bv.id), 2000, 'b video at a')
    await b0.stop()
    const b = await restart(b0, { port: undefined, url: undefined })
    expect(b.base).not.toBe(b0.base)
    await until(async () => (await friendsOf(a))[0]?.url === b.config.url, 3000, 'new url at a')
    // The index follows the move.
    const moved = new VideoStore(a.running.pod.db).row(bv.id)!
    expect(videoOfRow(moved).webseedUrls[0]).toStartWith(`${b.config.url}/static/webseed/`)
    const v = publish(a)
    await until(() => indexIds(b).includes(v.id), 2000, 'a video at moved b')
  })
})
