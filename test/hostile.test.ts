/**
 * A hostile network, tried as an attacker would, against real pods on loopback (see
 * test/helpers/fake-pod.ts for the attacker): every attack here worked before the pod was
 * hardened, and must change nothing now.
 */
import { afterAll, describe, expect, test } from 'bun:test'
import { readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { makeTorrent } from '../src/torrents/torrent-file'
import { VideoStore } from '../src/videos/store'
import { fakePod } from './helpers/fake-pod'
import { adminToken, fp, indexIds, netPod, publish, stopPods, until, videoId } from './helpers/network'
import { tempDir } from './helpers/pods'
import { uploadVideo, userToken } from './helpers/videos'

afterAll(stopPods)

const friendsTable = (p: Awaited<ReturnType<typeof netPod>>) => p.running.pod.db.query('SELECT fingerprint, url FROM friends').all() as { fingerprint: string; url: string }[]

describe('the stored URL is the proven URL', () => {
  test('a pod whose document names another URL than the one fetched is refused, and nothing is stored', async () => {
    const victim = await netPod()
    const fake = await fakePod()
    fake.document.url = `${victim.base}/admin/reset#`
    const r = await fake.befriend(victim)
    expect(r.status).toBe(403)
    expect((r.body as { error: { code: string } }).error.code).toBe('url_unproven')
    expect(friendsTable(victim)).toEqual([])
    fake.stop()
  })

  test("a friend's error bodies reach admins as codes only, never the public", async () => {
    const victim = await netPod({ detailsTtlSeconds: 0 })
    const fake = await fakePod()
    expect((await fake.befriend(victim)).status).toBe(200)
    const video = fake.video()
    expect((await fake.send(victim, [{ type: 'video.add', data: video }])).results).toEqual([{ ok: true }])
    fake.handle = (_req, url) => (url.pathname === '/api/v1/pod/inbox' ? Response.json({ error: { code: 'boom', message: 'SECRET internal answer' } }, { status: 500 }) : undefined)
    const details = await fetch(`${victim.base}/api/v1/videos/${video.id}/details`)
    expect(details.status).toBe(502)
    expect(await details.text()).not.toContain('SECRET')
    publish(victim)
    const token = await adminToken(victim)
    const admin = await until(async () => {
      const list = (await (await fetch(`${victim.base}/api/v1/friends`, { headers: { authorization: `Bearer ${token}` } })).json()) as { friends: { lastError: string | null }[] }
      return list.friends[0]?.lastError ? list.friends[0] : undefined
    }, 5000, 'a failed delivery')
    expect(admin.lastError).toContain('boom')
    expect(admin.lastError).not.toContain('SECRET')
    const anonymous = (await (await fetch(`${victim.base}/api/v1/friends`)).json()) as { friends: Record<string, unknown>[] }
    expect(anonymous.friends[0]).not.toHaveProperty('lastError')
    fake.stop()
  })
})

describe('no loops, no storms', () => {
  test('a thumbnail that redirects back to the pod is fetched once, not followed; parallel asks share one fetch', async () => {
    const victim = await netPod()
    const fake = await fakePod()
    await fake.befriend(victim)
    const video = fake.video()
    await fake.send(victim, [{ type: 'video.add', data: video }])
    const path = `/static/thumbnails/${video.id}.jpg`
    fake.handle = (_req, url) => (url.pathname === path ? new Response(null, { status: 302, headers: { location: `${victim.base}${path}` } }) : undefined)
    const answers = await Promise.all(Array.from({ length: 20 }, () => fetch(victim.base + path).then((r) => r.status)))
    expect(answers.every((s) => s === 404)).toBe(true)
    await Bun.sleep(200)
    // Before: each ask followed the redirect back here, which asked again, without end.
    expect(fake.hits.get(path)).toBe(1)
    fake.stop()
  })

  test('one payload makes at most one URL proof, and a resend is answered before any fetch', async () => {
    const victim = await netPod()
    const fake = await fakePod()
    await fake.befriend(victim)
    const proofs = () => fake.hits.get('/api/v1/pod') ?? 0
    const before = proofs()
    const moved = { type: 'pod.moved', data: { url: fake.url } }
    const two = await fake.send(victim, [moved, moved])
    expect([two.status, (two.body as { error: { code: string } }).error.code]).toEqual([400, 'too_many_proofs'])
    expect(proofs()).toBe(before)
    const jti = crypto.randomUUID()
    expect((await fake.send(victim, [moved], jti)).status).toBe(200)
    expect(proofs()).toBe(before + 1)
    const again = await fake.send(victim, [moved], jti)
    expect(again.body).toEqual({ ok: true, duplicate: true })
    expect(proofs()).toBe(before + 1)
    fake.stop()
  })
})

describe('friends cost something', () => {
  test('friend requests per address per hour, a cap on friends, and payloads per minute are bounded (429 with Retry-After)', async () => {
    const victim = await netPod({ friends: { requestsPerHour: 3, maxFriends: 100, messagesPerMinute: 4 } })
    const fakes = await Promise.all(Array.from({ length: 5 }, () => fakePod()))
    const statuses = []
    for (const f of fakes) statuses.push((await f.befriend(victim)).status)
    expect(statuses).toEqual([200, 200, 200, 429, 429])
    expect(friendsTable(victim).length).toBe(3)
    // A friend past its payloads per minute (4), told when to come back.
    const sent = []
    for (let i = 0; i < 5; i++) sent.push(await fakes[0]!.send(victim, [{ type: 'video.remove', data: { id: 'none' } }]))
    expect(sent.map((r) => r.status)).toEqual([200, 200, 200, 200, 429])
    expect((sent[4]!.body as { error: { retryAfter: number } }).error.retryAfter).toBeGreaterThan(0)
    const capped = await netPod({ friends: { maxFriends: 2 } })
    const results = []
    for (const f of fakes) results.push(((await f.befriend(capped)).body as { error?: { code: string } }).error?.code ?? 'ok')
    expect(results).toEqual(['ok', 'ok', 'too_many_friends', 'too_many_friends', 'too_many_friends'])
    const closed = await netPod({ friends: { admission: 'closed' } })
    expect(((await fakes[0]!.befriend(closed)).body as { error: { code: string } }).error.code).toBe('admission_closed')
    expect(friendsTable(closed)).toEqual([])
    for (const f of fakes) f.stop()
  })

  test('approval: the request waits, the requester sees it pending, the admin accepts or refuses', async () => {
    const victim = await netPod({ friends: { admission: 'approval' } })
    const [alice, bob] = await Promise.all([netPod(), netPod()])
    expect((await alice.running.pod.making.makeFriends([victim.base]))[0]).toMatchObject({ status: 'pending', fingerprint: fp(victim) })
    await bob.running.pod.making.makeFriends([victim.base])
    expect(friendsTable(victim)).toEqual([])
    const headers = { authorization: `Bearer ${await adminToken(victim)}` }
    const listed = (await (await fetch(`${victim.base}/api/v1/friends/requests`, { headers })).json()) as { requests: { fingerprint: string; url: string }[] }
    expect(listed.requests.map((r) => r.fingerprint).sort()).toEqual([fp(alice), fp(bob)].sort())
    expect((await fetch(`${victim.base}/api/v1/friends/requests`)).status).toBe(401)
    const accepted = await fetch(`${victim.base}/api/v1/friends/requests/${fp(alice)}/accept`, { method: 'POST', headers })
    expect(((await accepted.json()) as { status: string }).status).toBe('added')
    expect(friendsTable(victim).map((f) => f.fingerprint)).toEqual([fp(alice)])
    expect(friendsTable(alice).map((f) => f.fingerprint)).toEqual([fp(victim)])
    expect((await fetch(`${victim.base}/api/v1/friends/requests/${fp(bob)}`, { method: 'DELETE', headers })).status).toBe(200)
    const after = (await (await fetch(`${victim.base}/api/v1/friends/requests`, { headers })).json()) as { requests: unknown[] }
    expect(after.requests).toEqual([])
    expect(friendsTable(victim).length).toBe(1)
    // Two pods that both ask for approval: the one that asked accepts the answer it waited for.
    const other = await netPod({ friends: { admission: 'approval' } })
    expect((await other.running.pod.making.makeFriends([victim.base]))[0]!.status).toBe('pending')
    const accept = await fetch(`${victim.base}/api/v1/friends/requests/${fp(other)}/accept`, { method: 'POST', headers })
    expect(((await accept.json()) as { status: string }).status).toBe('added')
    expect(friendsTable(other).map((f) => f.fingerprint)).toContain(fp(victim))
  })

  test('a friend cannot claim another pod\'s video ids, nor keep more videos than its share', async () => {
    const victim = await netPod({ friends: { maxVideosPerFriend: 2 } })
    const fake = await fakePod()
    await fake.befriend(victim)
    const stolen = fake.video({ id: videoId(victim, 'mine') })
    const r = await fake.send(victim, [{ type: 'video.add', data: stolen }, { type: 'video.add', data: fake.video() }, { type: 'video.add', data: fake.video() }, { type: 'video.add', data: fake.video() }])
    expect(r.results).toEqual([{ ok: false, error: 'not_origin' }, { ok: true }, { ok: true }, { ok: false, error: 'too_many_videos' }])
    expect(indexIds(victim).length).toBe(2)
    fake.stop()
  })
})

describe('content a friend announces', () => {
  test('at most 8 mirrors per video', async () => {
    const victim = await netPod({ friends: { requestsPerHour: 100 } })
    const own = publish(victim)
    const hash = own.magnetUri.match(/btih:([0-9a-f]{40})/)![1]!
    const fakes = await Promise.all(Array.from({ length: 9 }, () => fakePod()))
    const results = []
    for (const f of fakes) {
      await f.befriend(victim)
      results.push(((await f.send(victim, [{ type: 'video.mirror', data: { id: own.id, infoHash: hash } }])).results as { ok: boolean }[])[0]!.ok)
    }
    expect(results).toEqual([true, true, true, true, true, true, true, true, false])
    for (const f of fakes) f.stop()
  })

  /** A friend's video of one stream, its file `bytes` long, whose .torrent (and playlist, if given) the fake serves. */
  async function streamOf(fake: Awaited<ReturnType<typeof fakePod>>, bytes: number, declared: number, playlist?: string) {
    const video = fake.video()
    const file = join(tempDir(), `${video.id}.mp4`)
    writeFileSync(file, new Uint8Array(bytes))
    const torrent = await makeTorrent({ file, name: `${video.id}.mp4`, announce: [], urlList: [] })
    const paths: Record<string, () => Response> = {
      [`/static/torrents/${torrent.infoHash}.torrent`]: () => new Response(torrent.torrent as Uint8Array<ArrayBuffer>),
      ...(playlist === undefined ? {} : { [`/static/hls/${video.id}/original.m3u8`]: () => new Response(playlist) }),
    }
    fake.handle = (_req, url) => paths[url.pathname]?.()
    const stream = { rendition: 0, infoHash: torrent.infoHash, size: declared, width: 320, height: 240, bandwidth: 100_000 }
    return { ...video, magnetUri: `magnet:?xt=urn:btih:${torrent.infoHash}`, size: declared, streams: [stream] }
  }

  test('a copy whose torrent is larger than the size the origin declared is not downloaded', async () => {
    const victim = await netPod({ redundancy: { enabled: true, budgetBytes: 10_000 } })
    const fake = await fakePod()
    // It says 1,000 bytes (within the budget); its torrent holds 512 KiB.
    const video = await streamOf(fake, 512 * 1024, 1000)
    await fake.befriend(victim)
    await fake.send(victim, [{ type: 'video.add', data: video }])
    const failed = await until(() => victim.logs.find((l) => l.event === 'mirror.failed'), 10_000, 'the copy refused')
    expect(String(failed.error)).toContain('not the 1000 the origin declared')
    expect(fake.hits.get(`/static/torrents/${video.streams[0]!.infoHash}.torrent`)).toBe(1)
    expect(victim.running.pod.db.query('SELECT * FROM mirrors').all()).toEqual([])
    fake.stop()
  })

  test('a copy whose playlist names another URL, or bytes beyond its file, is not made, and nothing of it stays', async () => {
    const victim = await netPod({ redundancy: { enabled: true, budgetBytes: 100_000 } })
    const fake = await fakePod()
    await fake.befriend(victim)
    const head = '#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:2\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-MAP:URI="x.mp4",BYTERANGE="100@0"\n'
    const hostile = [
      `${head}#EXT-X-KEY:METHOD=AES-128,URI="http://collector.example/key"\n#EXTINF:2.000000,\n#EXT-X-BYTERANGE:900@100\nx.mp4\n#EXT-X-ENDLIST\n`,
      `${head}#EXTINF:2.000000,\n#EXT-X-BYTERANGE:5000@100\nx.mp4\n#EXT-X-ENDLIST\n`,
    ]
    const why = ['a line this pod does not serve (line 6)', "beyond the file's 1000"]
    for (const [i, playlist] of hostile.entries()) {
      const video = await streamOf(fake, 1000, 1000, playlist)
      await fake.send(victim, [{ type: 'video.add', data: video }])
      const failed = await until(() => victim.logs.find((l) => l.event === 'mirror.failed' && l.video === video.id), 10_000, 'the copy refused')
      expect(String(failed.error)).toContain(why[i]!)
    }
    expect(victim.running.pod.db.query('SELECT * FROM mirrors').all()).toEqual([])
    expect(readdirSync(join(victim.config.dataDir, 'mirrors'))).toEqual([])
    expect(readdirSync(join(victim.config.dataDir, 'torrents'))).toEqual([])
    fake.stop()
  })

  test("a friend's copy of a stream is recorded only under that stream's info hash", async () => {
    const victim = await netPod()
    const own = publish(victim)
    new VideoStore(victim.running.pod.db).saveStreams(own.id, [{ rendition: 0, infoHash: 'cd'.repeat(20), size: 10, width: 2, height: 2, bandwidth: 1 }])
    const fake = await fakePod()
    await fake.befriend(victim)
    const mirror = (infoHash: string, rendition: number) => ({ type: 'video.mirror', data: { id: own.id, infoHash, rendition } })
    const r = await fake.send(victim, [mirror('ab'.repeat(20), 0), mirror('cd'.repeat(20), 480), mirror('cd'.repeat(20), 0)])
    expect(r.results).toEqual([{ ok: false }, { ok: false }, { ok: true }])
    expect(victim.running.pod.db.query('SELECT hex(info_hash) AS infoHash, rendition FROM video_mirrors').all()).toEqual([{ infoHash: 'CD'.repeat(20), rendition: 0 }])
    // Recorded, and listed only once its pieces are checked (test/mirror-proofs.test.ts): this video has no file to check them against.
    const video = (await (await fetch(`${victim.base}/api/v1/videos/${own.id}`)).json()) as { streams: { playlistUrls: string[] }[] }
    expect(video.streams[0]!.playlistUrls).toEqual([`${victim.config.url}/static/hls/${own.id}/original.m3u8`])
    fake.stop()
  })
})

describe('smaller holes', () => {
  test('applied message ids go with the friend', async () => {
    const victim = await netPod()
    const fake = await fakePod()
    await fake.befriend(victim)
    for (let i = 0; i < 30; i++) await fake.send(victim, [])
    const rows = () => (victim.running.pod.db.query('SELECT count(*) AS n FROM applied_messages WHERE sender = ?').get(fake.identity.fingerprint) as { n: number }).n
    expect(rows()).toBe(31)
    await fake.send(victim, [{ type: 'friend.quit', data: {} }])
    expect(rows()).toBe(0)
    // Those of a friend that stays are forgotten once older than twice the clock window.
    await fake.befriend(victim)
    victim.running.pod.db.query('UPDATE applied_messages SET received_at = received_at - 601000').run()
    victim.running.pod.friends.pruneApplied()
    expect(rows()).toBe(0)
    fake.stop()
  })

  test("views of a friend's video are one message per video, however many", async () => {
    const victim = await netPod()
    const fake = await fakePod()
    await fake.befriend(victim)
    const video = fake.video()
    await fake.send(victim, [{ type: 'video.add', data: video }])
    // The friend is unreachable: everything waits in its outbox.
    fake.handle = () => new Response('down', { status: 503 })
    await Promise.all(Array.from({ length: 50 }, () => fetch(`${victim.base}/api/v1/videos/${video.id}/views`, { method: 'POST' })))
    // At most two rows: the one a delivery attempt holds (its batch is resent as it was), and
    // the one the later views are added to. Before: one row per view.
    const queued = (victim.running.pod.db.query("SELECT data FROM outbox WHERE type = 'video.viewed'").all() as { data: string }[]).map((r) => JSON.parse(r.data) as { id: string; count: number })
    expect(queued.length).toBeLessThanOrEqual(2)
    expect(queued.every((q) => q.id === video.id)).toBe(true)
    expect(queued.reduce((n, q) => n + q.count, 0)).toBe(50)
    fake.stop()
  })

  test('an upload that is really a playlist of local files is refused, unread', async () => {
    const victim = await netPod()
    const playlist = '#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\nfile:///etc/passwd\n#EXT-X-ENDLIST\n'
    const res = await uploadVideo(victim.base, await userToken(victim), { file: new File([playlist], 'video.mp4', { type: 'video/mp4' }), name: 'sneaky' })
    expect(res.status).toBe(415)
    expect(indexIds(victim)).toEqual([])
  })

  test('a tracker WebSocket frame over 64 KiB closes that socket; the tracker goes on', async () => {
    const victim = await netPod()
    const ws = new WebSocket(`${victim.base.replace('http', 'ws')}/tracker/socket`)
    await new Promise((resolve) => (ws.onopen = resolve))
    const closed = new Promise<number>((resolve) => (ws.onclose = (e) => resolve(e.code)))
    ws.send('x'.repeat(1024 * 1024))
    expect(await closed).toBe(1009)
    const again = new WebSocket(`${victim.base.replace('http', 'ws')}/tracker/socket`)
    await new Promise((resolve) => (again.onopen = resolve))
    again.close()
  })
})
