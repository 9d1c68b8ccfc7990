/**
 * Identities are never reused, on real pods in this process: a login token names a subject no
 * other account will ever have (and a user id is never given again), so an old token of a
 * deleted user does not log in as the next account made; deleting or disabling an account
 * ends its tokens at their next request; and a data folder of the previous release migrates,
 * its users logging in again (their old tokens, which named the bare id, stop working).
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { decodeJwt, SignJWT } from 'jose'
import { loadOrCreateSecret } from '../src/identity/keys'
import { MIGRATIONS, openDatabase } from '../src/shared/db'
import { makeClip } from './helpers/clips'
import { adminToken } from './helpers/network'
import { removeTempDirs, startTestPod, tempDir, type TestPod } from './helpers/pods'
import { valueOf } from './helpers/results'
import { uploadVideo } from './helpers/videos'

afterAll(removeTempDirs)
setDefaultTimeout(60_000)

const PASSWORD = 'correct horse battery'

let pod: TestPod
let admin: string

async function call(p: TestPod, method: string, path: string, opts: { body?: unknown; token?: string } = {}) {
  const headers: Record<string, string> = {}
  if (opts.body !== undefined) headers['content-type'] = 'application/json'
  if (opts.token) headers.authorization = `Bearer ${opts.token}`
  const res = await fetch(`${p.base}${path}`, { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body) })
  const text = await res.text()
  return { status: res.status, body: text ? JSON.parse(text) : undefined }
}
const register = (username: string) => call(pod, 'POST', '/api/v1/users', { body: { username, password: PASSWORD } })
const login = (p: TestPod, username: string) => call(p, 'POST', '/api/v1/auth/token', { body: { username, password: PASSWORD } })
const me = (p: TestPod, token: string) => call(p, 'GET', '/api/v1/users/me', { token })

beforeAll(async () => {
  pod = await startTestPod({ registrations: 'open', transcoding: { enabled: false }, auth: { registrationsPerAddress: 100 } })
  admin = await adminToken(pod)
})
afterAll(() => pod.stop())

describe('tokens name a subject never given again', () => {
  test("a deleted user's token ends at once, and does not log in as the next account made", async () => {
    const made = await register('soon-gone')
    expect(made.status).toBe(201)
    const token = (await login(pod, 'soon-gone')).body.accessToken as string
    expect((await me(pod, token)).body.username).toBe('soon-gone')
    expect((await call(pod, 'DELETE', `/api/v1/users/${made.body.id}`, { token: admin })).status).toBe(204)
    expect((await me(pod, token)).status).toBe(401)

    // Accounts made after it get new ids and subjects: the old token is no one's.
    const next = await Promise.all(['next-one', 'next-two'].map(register))
    for (const n of next) expect(n.body.id).toBeGreaterThan(made.body.id)
    const subjects = (pod.running.pod.db.query('SELECT subject FROM users').all() as { subject: string }[]).map((r) => r.subject)
    expect(subjects).not.toContain(decodeJwt(token).sub)
    expect((await me(pod, token)).status).toBe(401)
    expect((await me(pod, (await login(pod, 'next-one')).body.accessToken)).body.username).toBe('next-one')
  })

  test('disabling ends the tokens at once, and they stay ended once the account is enabled again', async () => {
    const made = await register('to-disable')
    const token = (await login(pod, 'to-disable')).body.accessToken as string
    expect((await me(pod, token)).status).toBe(200)
    expect((await call(pod, 'PATCH', `/api/v1/users/${made.body.id}`, { token: admin, body: { status: 'disabled' } })).body.status).toBe('disabled')
    expect((await me(pod, token)).status).toBe(401)
    const refused = await login(pod, 'to-disable')
    expect(refused.status).toBe(403)
    expect(refused.body.error.code).toBe('account_disabled')

    expect((await call(pod, 'PATCH', `/api/v1/users/${made.body.id}`, { token: admin, body: { status: 'active' } })).body.status).toBe('active')
    expect((await me(pod, token)).status).toBe(401)
    expect((await me(pod, (await login(pod, 'to-disable')).body.accessToken)).body.username).toBe('to-disable')
  })

  test('an uploader is disabled, not deleted (its videos name it); admins change neither themselves nor unknown accounts', async () => {
    const made = await register('uploader')
    const token = (await login(pod, 'uploader')).body.accessToken as string
    const clip = await makeClip(tempDir(), { seconds: 1 })
    expect((await uploadVideo(pod.base, token, { file: Bun.file(clip), name: 'Mine' })).status).toBe(201)
    const kept = await call(pod, 'DELETE', `/api/v1/users/${made.body.id}`, { token: admin })
    expect(kept.status).toBe(409)
    expect(kept.body.error.code).toBe('owns_videos')
    expect((await me(pod, token)).status).toBe(200)

    const self = (await me(pod, admin)).body.id as number
    expect((await call(pod, 'DELETE', `/api/v1/users/${self}`, { token: admin })).status).toBe(409)
    expect((await call(pod, 'PATCH', `/api/v1/users/${self}`, { token: admin, body: { status: 'disabled' } })).status).toBe(409)
    expect((await call(pod, 'DELETE', '/api/v1/users/999999', { token: admin })).status).toBe(404)
    expect((await me(pod, admin)).status).toBe(200)
  })
})

describe('a data folder of the previous release', () => {
  test('its users get subjects and log in again, their videos still theirs; tokens naming a bare id stop working; ids are not reused from then on', async () => {
    const dataDir = join(tempDir(), 'data')
    mkdirSync(dataDir, { recursive: true })
    // The schema just before the migration that gave users their subjects.
    const db = openDatabase(join(dataDir, 'seedpod.db'), { to: MIGRATIONS.findIndex((m) => m.includes('users_v2')) })
    const hash = await Bun.password.hash(PASSWORD, { algorithm: 'argon2id' })
    db.query("INSERT INTO users (username, password_hash, role, created_at) VALUES ('old-admin', ?, 'admin', 1), ('old-user', ?, 'user', 2), ('old-other', ?, 'user', 3)").run(hash, hash, hash)
    // A video old-user uploaded: its row names the account, and must go on naming it.
    db.run("INSERT INTO pods (id, fingerprint, url) VALUES (1, 'fp', 'http://127.0.0.1:1')")
    db.run("INSERT INTO uploaders (id, name) VALUES (1, 'old-user')")
    db.run("INSERT INTO videos (id, pod, name, uploader, info_hash, created_at, updated_at) VALUES ('old-video', 1, 'Old', 1, x'00', 1, 1)")
    db.run("INSERT INTO local_videos (video, owner, mime) VALUES ('old-video', 2, 'video/mp4')")
    db.close()
    const old = await startTestPod({ dataDir })
    try {
      // What the previous release issued: the user's id as the subject.
      const secret = loadOrCreateSecret(dataDir, 'token.secret')
      const iat = Math.floor(Date.now() / 1000)
      const oldToken = await new SignJWT({ role: 'user', name: 'old-user' }).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).setSubject('2').setIssuer(old.config.url).setIssuedAt(iat).setExpirationTime(iat + 600).sign(secret)
      expect((await me(old, oldToken)).status).toBe(401)
      const token = (await login(old, 'old-user')).body.accessToken as string
      expect((await me(old, token)).body).toMatchObject({ id: 2, username: 'old-user', role: 'user', status: 'active' })
      expect(decodeJwt(token).sub).not.toBe('2')

      expect(old.running.pod.db.query('SELECT owner FROM local_videos').all()).toEqual([{ owner: 2 }])
      const adminToken = (await login(old, 'old-admin')).body.accessToken as string
      expect((await call(old, 'DELETE', '/api/v1/users/2', { token: adminToken })).body.error.code).toBe('owns_videos')
      // The last id goes, and is not given again.
      expect((await call(old, 'DELETE', '/api/v1/users/3', { token: adminToken })).status).toBe(204)
      expect(valueOf(await old.running.pod.accounts.create('new-user', PASSWORD)).id).toBe(4)
    } finally {
      await old.stop()
    }
  })
})
