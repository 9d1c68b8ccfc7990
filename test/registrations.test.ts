/**
 * Registration spam, tried on real pods in this process: with open registrations one address
 * (an IPv6 address: its /64) makes at most `auth.registrationsPerAddress` accounts per window,
 * the rest get 429 with Retry-After before any password is hashed; in approval mode an account
 * waits for an admin, cannot log in meanwhile, and a refused one is deleted; in Chromium, the
 * register page says so and the admin page accepts and refuses.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, spyOn, test } from 'bun:test'
import { chromium } from 'playwright-core'
import { removeTempDirs, startTestPod, type TestPod } from './helpers/pods'
import { valueOf } from './helpers/results'

afterAll(removeTempDirs)
setDefaultTimeout(60_000)

const PASSWORD = 'correct horse battery'
/** The limit of the open pod below: accounts per address per window. */
const LIMIT = 4
const WINDOW_SECONDS = 3600

let open: TestPod
let approval: TestPod

/** A JSON request as a client at `from` (both pods trust X-Forwarded-For). */
async function call(p: TestPod, method: string, path: string, opts: { body?: unknown; token?: string; from?: string } = {}) {
  const headers: Record<string, string> = { 'x-forwarded-for': opts.from ?? '198.51.100.1' }
  if (opts.body !== undefined) headers['content-type'] = 'application/json'
  if (opts.token) headers.authorization = `Bearer ${opts.token}`
  const res = await fetch(`${p.base}${path}`, { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body) })
  const text = await res.text()
  return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers }
}
const register = (p: TestPod, username: string, from?: string) => call(p, 'POST', '/api/v1/users', { body: { username, password: PASSWORD }, from })
const login = (p: TestPod, username: string) => call(p, 'POST', '/api/v1/auth/token', { body: { username, password: PASSWORD } })
const accountsIn = (p: TestPod) => (p.running.pod.db.query('SELECT count(*) AS n FROM users').get() as { n: number }).n

async function adminOf(p: TestPod): Promise<string> {
  const admin = valueOf(await p.running.pod.accounts.create(`admin${Math.floor(Math.random() * 1e6)}`, PASSWORD, 'admin'))
  return (await p.running.pod.accounts.issueToken(admin)).accessToken
}
/** The stored status of an account, or undefined if there is none of that name. */
const statusOf = (p: TestPod, username: string) => (p.running.pod.db.query('SELECT status FROM users WHERE username = ?').get(username) as { status: string } | null)?.status

beforeAll(async () => {
  ;[open, approval] = await Promise.all([
    startTestPod({ registrations: 'open', trustProxy: true, auth: { registrationsPerAddress: LIMIT, registrationWindowSeconds: WINDOW_SECONDS } }),
    startTestPod({ registrations: 'approval', trustProxy: true }),
  ])
})
afterAll(() => Promise.all([open.stop(), approval.stop()]))

describe('open registrations', () => {
  test('40 parallel registrations from one address make 4 accounts and hash 4 passwords; the rest get 429 with Retry-After', async () => {
    const before = accountsIn(open)
    const hashes = spyOn(Bun.password, 'hash')
    const started = performance.now()
    const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => register(open, `flood${i}`, '203.0.113.7')))
    const ms = performance.now() - started
    const made = answers.filter((a) => a.status === 201)
    const refused = answers.filter((a) => a.status === 429)
    console.log(`40 registrations from one address in ${ms.toFixed(0)} ms: ${made.length} accounts, ${refused.length} refused, ${hashes.mock.calls.length} passwords hashed`)
    expect(made.length).toBe(LIMIT)
    expect(refused.length).toBe(40 - LIMIT)
    expect(accountsIn(open) - before).toBe(LIMIT)
    expect(hashes.mock.calls.length).toBe(LIMIT)
    hashes.mockRestore()
    for (const r of refused) {
      expect(r.body.error.code).toBe('too_many_registrations')
      const wait = Number(r.headers.get('retry-after'))
      // Until the first of the 4 leaves the window (or, while the 4 were still being made, a moment).
      expect(wait).toBeGreaterThanOrEqual(1)
      expect(wait).toBeLessThanOrEqual(WINDOW_SECONDS)
    }
    // Once they are made, the wait is until the oldest leaves the window.
    const later = await register(open, 'flood-later', '203.0.113.7')
    expect(later.status).toBe(429)
    expect(Number(later.headers.get('retry-after'))).toBeGreaterThan(WINDOW_SECONDS - 60)
    // Another address is not held back.
    expect((await register(open, 'neighbour', '203.0.113.8')).status).toBe(201)
  })

  test('the addresses of one IPv6 /64 share one limit, however written; another /64 has its own', async () => {
    const net = ['2001:db8:7:1::1', '2001:db8:7:1:ffff:ffff:ffff:ffff', '2001:0db8:0007:0001:0000:0000:0000:0002', '2001:db8:7:1::abcd', '2001:db8:7:1:1:2:3:4']
    const answers = []
    for (const [i, from] of net.entries()) answers.push((await register(open, `six${i}`, from)).status)
    expect(answers).toEqual([201, 201, 201, 201, 429])
    expect((await register(open, 'six-other', '2001:db8:7:2::1')).status).toBe(201)
  })

  test('a refused registration changes nothing, and a bad one does not count', async () => {
    const before = accountsIn(open)
    expect((await register(open, 'x', '203.0.113.9')).status).toBe(400)
    for (let i = 0; i < LIMIT; i++) expect((await register(open, `counted${i}`, '203.0.113.9')).status).toBe(201)
    expect((await register(open, 'one-too-many', '203.0.113.9')).status).toBe(429)
    expect(accountsIn(open) - before).toBe(LIMIT)
    expect(statusOf(open, 'one-too-many')).toBeUndefined()
  })
})

describe('approval mode', () => {
  test('an account waits for an admin: no login until accepted; a refused one is deleted', async () => {
    const admin = await adminOf(approval)
    const a = await register(approval, 'waiting-alice')
    const b = await register(approval, 'waiting-bob')
    expect([a.status, b.status]).toEqual([201, 201])
    expect(a.body.status).toBe('pending')
    const pending = await login(approval, 'waiting-alice')
    expect(pending.status).toBe(403)
    expect(pending.body.error.code).toBe('account_pending')

    const list = await call(approval, 'GET', '/api/v1/users?status=pending', { token: admin })
    expect(list.body.data.map((u: { username: string }) => u.username)).toEqual(['waiting-alice', 'waiting-bob'])
    // A user is not an admin: it accepts nobody.
    const alice = a.body.id as number
    const bob = b.body.id as number
    const user = valueOf(await approval.running.pod.accounts.create('plain-user', PASSWORD))
    const userToken = (await approval.running.pod.accounts.issueToken(user)).accessToken
    expect((await call(approval, 'PATCH', `/api/v1/users/${alice}`, { token: userToken, body: { status: 'active' } })).status).toBe(403)
    expect((await login(approval, 'waiting-alice')).status).toBe(403)

    const accepted = await call(approval, 'PATCH', `/api/v1/users/${alice}`, { token: admin, body: { status: 'active' } })
    expect(accepted.status).toBe(200)
    expect(accepted.body.status).toBe('active')
    const token = (await login(approval, 'waiting-alice')).body.accessToken
    expect((await call(approval, 'GET', '/api/v1/users/me', { token })).body.username).toBe('waiting-alice')

    expect((await call(approval, 'DELETE', `/api/v1/users/${bob}`, { token: admin })).status).toBe(204)
    expect(approval.running.pod.accounts.get(bob)).toBeUndefined()
    expect((await login(approval, 'waiting-bob')).status).toBe(401)
    expect((await call(approval, 'GET', '/api/v1/users?status=pending', { token: admin })).body.data).toEqual([])
    // "pending" is not something an admin sets.
    expect((await call(approval, 'PATCH', `/api/v1/users/${alice}`, { token: admin, body: { status: 'pending' } })).status).toBe(400)
  })

  test('the pod document says approval, and so does the register page\'s boot data (it shows the form)', async () => {
    expect(((await (await fetch(`${approval.base}/api/v1/pod`)).json()) as { registrations: string }).registrations).toBe('approval')
    const html = await (await fetch(`${approval.base}/register`)).text()
    expect(html).toContain('"registrations":"approval"')
  })
})

describe('approval mode in the browser', () => {
  test('the register page says the account waits; the admin page accepts one and refuses another', async () => {
    valueOf(await approval.running.pod.accounts.create('page-boss', PASSWORD, 'admin'))
    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] })
    try {
      const page = await browser.newPage()
      for (const name of ['page-carol', 'page-dave']) {
        await page.goto(`${approval.base}/register`)
        await page.fill('#username', name)
        await page.fill('#password', PASSWORD)
        await page.click('button[type=submit]')
        await page.getByText('waits for an admin of this pod to accept it').waitFor()
      }
      await page.goto(`${approval.base}/login?next=%2Fadmin`)
      await page.fill('#username', 'page-boss')
      await page.fill('#password', PASSWORD)
      await page.click('button[type=submit]')
      await page.locator('.accounts.pending [data-account=page-carol]').getByRole('button', { name: 'Accept' }).click()
      await page.locator('.accounts.pending [data-account=page-dave]').getByRole('button', { name: 'Refuse' }).click()
      await page.locator('.accounts.pending').waitFor({ state: 'detached' })
      expect(statusOf(approval, 'page-carol')).toBe('active')
      expect(statusOf(approval, 'page-dave')).toBeUndefined()
      expect(await page.locator('.accounts [data-account=page-carol]').textContent()).toContain('Disable')
    } finally {
      await browser.close()
    }
  })
})
