/**
 * Details of videos between real pods: pod A (the origin) keeps the full description, tags,
 * license, language and views of its videos; a user of pod B (A's friend) gets them through B,
 * which asks A with a signed and encrypted message, caches the answer for its TTL, and serves
 * the cached copy (stale, with its age) while A is stopped.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { DetailsAnswer } from '../src/details/model'
import { summarize } from '../src/details/model'
import type { Video } from '../src/videos/model'
import { makeClip } from './helpers/clips'
import { adminToken, fp, indexIds, netPod, publish, restart, stopPods, until } from './helpers/network'
import { removeTempDirs, tempDir, type TestPod } from './helpers/pods'
import { uploadVideo, userToken } from './helpers/videos'

afterAll(stopPods)

afterAll(removeTempDirs)

const LONG = `A walk along the harbour at dusk. ${'Gulls circle the lighthouse while the ferries come in, one after the other, and the quay slowly empties. '.repeat(8)}The end.`

let a: TestPod
let b: TestPod
let video: Video
let alice: string

const auth = (token: string) => ({ authorization: `Bearer ${token}`, 'content-type': 'application/json' })
const details = async (p: TestPod, id: string) => {
  const res = await fetch(`${p.base}/api/v1/videos/${id}/details`)
  return { status: res.status, body: (await res.json()) as DetailsAnswer & { error?: { code: string; message: string } } }
}
const patch = (p: TestPod, id: string, token: string | undefined, body: unknown) =>
  fetch(`${p.base}/api/v1/videos/${id}/details`, { method: 'PATCH', headers: token ? auth(token) : { 'content-type': 'application/json' }, body: JSON.stringify(body) })
/** What a bad PATCH must leave untouched: the details at the origin and the index row everywhere. */
const snapshot = (p: TestPod, id: string) =>
  JSON.stringify([
    p.running.pod.db.query('SELECT * FROM video_details WHERE video = ?').all(id),
    p.running.pod.db.query('SELECT description, updated_at FROM videos WHERE id = ?').all(id),
    p.running.pod.db.query('SELECT count(*) AS n FROM outbox').get(),
  ])
/** The times pod A answered a `video.details` question from pod B (logged by A's handler, which only the inbox calls). */
const askedOfA = () => a.logs.filter((l) => l.event === 'video.details.asked' && l.fingerprint === fp(b)).length

beforeAll(async () => {
  const clip = await makeClip(tempDir(), { seconds: 1 })
  ;[a, b] = await Promise.all([netPod(), netPod({ detailsTtlSeconds: 3600 })])
  await b.running.pod.making.makeFriends([a.base])
  alice = await userToken(a, 'alice')
  const res = await uploadVideo(a.base, alice, { file: Bun.file(clip), name: 'Harbour at dusk', description: 'Gulls and ferries' })
  expect(res.status).toBe(201)
  video = (await res.json()) as Video
  await until(() => indexIds(b).includes(video.id), 5000, 'the video in the friend\'s index')
})

describe('own videos', () => {
  test('the uploader sets the details; the full description stays at the origin, its summary goes to the index and to friends', async () => {
    const before = await details(a, video.id)
    expect(before.status).toBe(200)
    expect(before.body).toMatchObject({ id: video.id, description: 'Gulls and ferries', tags: [], license: null, language: null, views: 0, source: 'local', stale: false, ageSeconds: 0 })

    const res = await patch(a, video.id, alice, { description: LONG, tags: ['harbour', ' Sea  life ', 'HARBOUR'], license: 'cc-by-4.0', language: 'pt-br' })
    expect(res.status).toBe(200)
    const after = (await res.json()) as DetailsAnswer
    // Canonical forms: known license spelled as listed, BCP 47 case, tags trimmed and deduplicated.
    expect(after).toMatchObject({ description: LONG.trim(), tags: ['harbour', 'Sea life'], license: 'CC-BY-4.0', language: 'pt-BR', source: 'local' })
    expect(after.updatedAt).not.toBeNull()

    expect(a.running.pod.videos.get(video.id)!.description).toBe(summarize(LONG))
    await until(() => b.running.pod.videos.get(video.id)?.description === summarize(LONG), 5000, 'the summary at the friend')

    // A free-text license and clearing the language; the rest is kept.
    const again = (await (await patch(a, video.id, alice, { license: 'Free for non-commercial screenings', language: null })).json()) as DetailsAnswer
    expect(again).toMatchObject({ description: LONG.trim(), tags: ['harbour', 'Sea life'], license: 'Free for non-commercial screenings', language: null })
    await patch(a, video.id, alice, { license: 'CC-BY-SA-4.0', language: 'en' })
  })

  test('a long description given at upload or in an edit: the index and friends get its summary, the details the full text', async () => {
    const clip = await makeClip(tempDir(), { seconds: 1 })
    const res = await uploadVideo(a.base, alice, { file: Bun.file(clip), name: 'Long story', description: LONG })
    const long = (await res.json()) as Video
    expect(long.description).toBe(summarize(LONG))
    expect((await details(a, long.id)).body.description).toBe(LONG.trim())
    await until(() => indexIds(b).includes(long.id), 5000, 'at the friend')
    expect((b.running.pod.db.query('SELECT description FROM videos WHERE id = ?').get(long.id) as { description: string }).description).toBe(summarize(LONG))
    // An edit of the video's description works the same way.
    const edited = `${LONG} Epilogue.`
    const put = await fetch(`${a.base}/api/v1/videos/${long.id}`, { method: 'PATCH', headers: auth(alice), body: JSON.stringify({ description: edited }) })
    expect(((await put.json()) as Video).description).toBe(summarize(edited))
    expect((await details(a, long.id)).body.description).toBe(edited)
    // Let the update reach the friend before the next test counts the outbox.
    await until(() => (a.running.pod.db.query('SELECT count(*) AS n FROM outbox').get() as { n: number }).n === 0, 5000, 'an empty outbox')
  })

  test('bad input is a 400 that names the problem, and changes nothing', async () => {
    const before = snapshot(a, video.id)
    const cases: [unknown, RegExp][] = [
      [{ tags: Array.from({ length: 21 }, (_, i) => `tag${i}`) }, /tags: at most 20/],
      [{ tags: ['ok', 'x'.repeat(41)] }, /tags\[1\]: at most 40 characters/],
      [{ tags: 'music' }, /tags: must be a list/],
      [{ tags: ['a,b'] }, /tags\[0\]: no commas/],
      [{ tags: [''] }, /tags\[0\]: empty/],
      [{ language: 'english' }, /language: "english" is not a BCP 47/],
      [{ language: 'en_US' }, /language: "en_US" is not a BCP 47/],
      [{ language: 42 }, /language: must be/],
      [{ license: 'x'.repeat(101) }, /license: 1 to 100 characters/],
      [{ license: 'two\nlines' }, /license: one line/],
      [{ description: 'x'.repeat(10_001) }, /description: at most 10000/],
      [{ description: 7 }, /description: must be text/],
      [{ views: 1000 }, /views: counted by the pod/],
      [{ title: 'x' }, /title: not a field/],
      [{}, /nothing to change/],
      [['tags'], /must be a JSON object/],
      // A good field beside a bad one changes nothing either.
      [{ tags: ['fine'], language: 'not a language' }, /language:/],
    ]
    for (const [body, message] of cases) {
      const res = await patch(a, video.id, alice, body)
      const answer = (await res.json()) as { error: { code: string; message: string } }
      expect(`${JSON.stringify(body).slice(0, 40)} -> ${res.status} ${answer.error.message}`).toMatch(message)
      expect(res.status).toBe(400)
      expect(answer.error.code).toBe('invalid_request')
    }
    expect(snapshot(a, video.id)).toBe(before)
  })

  test('only the uploader or an admin of the origin changes details', async () => {
    const before = snapshot(a, video.id)
    expect((await patch(a, video.id, undefined, { tags: ['x'] })).status).toBe(401)
    const bob = await patch(a, video.id, await userToken(a, 'bob'), { tags: ['x'] })
    expect(bob.status).toBe(403)
    expect(((await bob.json()) as { error: { message: string } }).error.message).toContain('uploader or an admin')
    // Not even an admin of a friend pod: the details live at the origin.
    const atFriend = await patch(b, video.id, await adminToken(b), { tags: ['x'] })
    expect(atFriend.status).toBe(403)
    expect((await patch(a, 'no-such-video', alice, { tags: ['x'] })).status).toBe(404)
    expect(snapshot(a, video.id)).toBe(before)
    const admin = await patch(a, video.id, await adminToken(a), { tags: ['harbour', 'Sea life', 'dusk'] })
    expect(admin.status).toBe(200)
  })
})

describe("a friend's video", () => {
  let firstFetch: DetailsAnswer
  let lastFetch: DetailsAnswer

  test("a user of B gets the details of A's video through B, which asks A with a signed and encrypted message and caches them", async () => {
    const appliedBefore = a.running.pod.db.query('SELECT count(*) AS n FROM applied_messages WHERE sender = ?').get(fp(b)) as { n: number }
    const r = await details(b, video.id)
    expect(r.status).toBe(200)
    expect(r.body).toMatchObject({
      id: video.id,
      description: LONG.trim(),
      tags: ['harbour', 'Sea life', 'dusk'],
      license: 'CC-BY-SA-4.0',
      language: 'en',
      source: 'origin',
      stale: false,
    })
    firstFetch = r.body
    // A answered B's question in its inbox, the only place it is handled: the request was a
    // sealed message from B (JWS signed by B, JWE to A), applied like any other.
    expect(askedOfA()).toBe(1)
    const appliedAfter = a.running.pod.db.query('SELECT count(*) AS n FROM applied_messages WHERE sender = ?').get(fp(b)) as { n: number }
    expect(appliedAfter.n).toBe(appliedBefore.n + 1)
    expect(b.running.pod.db.query('SELECT count(*) AS n FROM details_cache WHERE video = ?').get(video.id)).toEqual({ n: 1 })
  })

  test('within the TTL B answers from its cache, even after A changed them', async () => {
    expect((await patch(a, video.id, alice, { tags: ['changed'] })).status).toBe(200)
    const r = await details(b, video.id)
    expect(r.body).toMatchObject({ source: 'cache', stale: false, tags: ['harbour', 'Sea life', 'dusk'], fetchedAt: firstFetch.fetchedAt })
    expect(askedOfA()).toBe(1)
    // The origin itself has the new ones.
    expect((await details(a, video.id)).body.tags).toEqual(['changed'])
  })

  test('a new description is announced to B, which then asks A again within the TTL', async () => {
    // Changed past the summary: the index's text stays the same, the announcement still goes out.
    const text = `${LONG} Filmed again in the rain.`
    expect(summarize(text)).toBe(summarize(LONG))
    const announced = b.running.pod.videos.get(video.id)!.updatedAt
    expect((await patch(a, video.id, alice, { description: text })).status).toBe(200)
    await until(() => b.running.pod.videos.get(video.id)?.updatedAt !== announced, 5000, 'the update at the friend')
    const r = await details(b, video.id)
    expect(r.body).toMatchObject({ source: 'origin', stale: false, description: text, tags: ['changed'] })
    expect(askedOfA()).toBe(2)
    lastFetch = r.body
    expect((await details(b, video.id)).body).toMatchObject({ source: 'cache', description: text, fetchedAt: lastFetch.fetchedAt })
  })

  test('views are counted at the origin: a view at B reaches A through the outbox', async () => {
    const atOrigin = await fetch(`${a.base}/api/v1/videos/${video.id}/views`, { method: 'POST' })
    expect(atOrigin.status).toBe(200)
    expect(await atOrigin.json()).toEqual({ id: video.id, counted: 'local', views: 1 })
    const atFriend = await fetch(`${b.base}/api/v1/videos/${video.id}/views`, { method: 'POST' })
    expect(atFriend.status).toBe(202)
    expect(await atFriend.json()).toEqual({ id: video.id, counted: 'origin' })
    await until(() => a.running.pod.details.ofOwn(video.id)?.views === 2, 5000, 'the view counted at the origin')
    expect((await fetch(`${b.base}/api/v1/videos/no-such-video/views`, { method: 'POST' })).status).toBe(404)
  })

  test('an origin that no longer has the video: 404, and the cached copy is dropped', async () => {
    const gone = publish(a, { name: 'Soon gone' })
    await until(() => indexIds(b).includes(gone.id), 5000, 'the second video at the friend')
    const first = await details(b, gone.id)
    expect(first.body.source).toBe('origin')
    // A forgets it without telling B yet (as if its video.remove were still on the way).
    a.running.pod.db.query('DELETE FROM videos WHERE id = ?').run(gone.id)
    b.running.pod.db.query('UPDATE details_cache SET fetched_at = 0 WHERE video = ?').run(gone.id)
    const r = await details(b, gone.id)
    expect(r.status).toBe(404)
    expect(r.body.error!.message).toContain('no longer has')
    expect(b.running.pod.db.query('SELECT count(*) AS n FROM details_cache WHERE video = ?').get(gone.id)).toEqual({ n: 0 })
  })

  test('with A stopped and the TTL passed, B serves its cached copy, stale, with its age; with no copy, a clear error', async () => {
    const never = publish(a, { name: 'Never asked about' })
    await until(() => indexIds(b).includes(never.id), 5000, 'the third video at the friend')
    await a.stop()
    // B again, on its data, with a TTL that every cached copy has passed.
    await b.stop()
    b = await restart(b, { detailsTtlSeconds: 0 })

    const r = await details(b, video.id)
    expect(r.status).toBe(200)
    expect(r.body).toMatchObject({ source: 'cache', stale: true, tags: ['changed'], description: lastFetch.description, fetchedAt: lastFetch.fetchedAt })
    const age = (Date.now() - Date.parse(lastFetch.fetchedAt)) / 1000
    expect(r.body.ageSeconds).toBeGreaterThanOrEqual(0)
    expect(Math.abs(r.body.ageSeconds - age)).toBeLessThanOrEqual(2)
    expect(b.logs.some((l) => l.event === 'video.details.stale' && l.id === video.id)).toBe(true)

    const none = await details(b, never.id)
    expect(none.status).toBe(502)
    expect(none.body.error!.code).toBe('origin_unreachable')
    expect(none.body.error!.message).toContain(a.config.url)
    expect(none.body.error!.message).toContain('no copy')

    expect((await details(b, 'no-such-video')).status).toBe(404)
  })
})
