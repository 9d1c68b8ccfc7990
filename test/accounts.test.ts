/**
 * Accounts over HTTP, on real pods in this process: registration, login tokens, who am I,
 * wrong credentials, login rate limits, and routes for admins only.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, setSystemTime, spyOn, test } from 'bun:test'
import { join } from 'node:path'
import { Accounts } from '../src/accounts/service'
import { AccountStore } from '../src/accounts/store'
import { loadOrCreateSecret } from '../src/identity/keys'
import { openDatabase } from '../src/shared/db'
import { removeTempDirs, startTestPod, tempDir, testConfig, type TestPod } from './helpers/pods'
import { valueOf } from './helpers/results'

afterAll(removeTempDirs)
// Real processes on a shared machine: far more than they need, never a timing assertion.
setDefaultTimeout(60_000)

const PASSWORD = 'correct horse battery'

let pod: TestPod
let closedPod: TestPod

/** A JSON request to the open pod; `from` sets the client address (the pod trusts X-Forwarded-For). */
async function call(
  method: string,
  path: string,
  opts: { body?: unknown; token?: string; from?: string; base?: string } = {},
): Promise<{ status: number; body: any; headers: Headers }> {
  const headers: Record<string, string> = { 'x-forwarded-for': opts.from ?? '192.0.2.1' }
  if (opts.body !== undefined) headers['content-type'] = 'application/json'
  if (opts.token) headers.authorization = `Bearer ${opts.token}`
  const res = await fetch(`${opts.base ?? pod.base}${path}`, {
    method,
    headers,
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
  })
  const text = await res.text()
  return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers }
}

const register = (username: string, password = PASSWORD, base?: string) => call('POST', '/api/v1/users', { body: { username, password }, base })
const login = (username: string, password = PASSWORD, from?: string, base?: string) => call('POST', '/api/v1/auth/token', { body: { username, password }, from, base })

beforeAll(async () => {
  pod = await startTestPod({ registrations: 'open', trustProxy: true, auth: { loginAttempts: 3, loginWindowSeconds: 600, registrationsPerAddress: 1000 } })
  closedPod = await startTestPod()
  // Accounts the tests below log in to (argon2 takes a while: make them at once).
  const made = await Promise.all(['frank', 'grace', 'ivan', 'judy', 'kate', 'lena'].map((name) => register(name)))
  expect(made.map((m) => m.status)).toEqual(made.map(() => 201))
}, 60_000)
afterAll(async () => {
  await pod?.stop()
  await closedPod?.stop()
})

describe('registration', () => {
  test('anyone can register on an open pod and becomes a user', async () => {
    const { status, body } = await register('alice')
    expect(status).toBe(201)
    expect(body).toMatchObject({ username: 'alice', role: 'user' })
    expect(typeof body.id).toBe('number')
    expect(new Date(body.createdAt).getTime()).toBeGreaterThan(0)
    expect(JSON.stringify(body)).not.toContain('argon2')
  })

  test('a taken name is 409, whatever its case', async () => {
    await register('carol')
    for (const name of ['carol', 'CAROL', 'Carol']) {
      const { status, body } = await register(name, 'another long password')
      expect(status).toBe(409)
      expect(body.error.code).toBe('username_taken')
    }
  })

  test('a weak password is 400, and no account is made', async () => {
    for (const password of ['short', 'dave-the-best-1', 'password123', '1234567890']) {
      const { status, body } = await register('dave', password)
      expect(status).toBe(400)
      expect(body.error.code).toBe('weak_password')
    }
    expect((await register('dave')).status).toBe(201)
  })

  test('a bad user name is 400', async () => {
    for (const name of ['ab', 'has space', '-dash', 'dot.', 'é-accent', 'x'.repeat(33)]) {
      const { status, body } = await register(name)
      expect(status).toBe(400)
      expect(body.error.code).toBe('invalid_username')
    }
    // Missing fields are refused by the schema, also with 400.
    const missing = await call('POST', '/api/v1/users', { body: { username: 'erin' } })
    expect(missing.status).toBe(400)
    expect(missing.body.error.code).toBe('invalid_request')
  })

  test('a pod with closed registrations refuses with 403 and makes no account', async () => {
    const { status, body } = await register('mallory', PASSWORD, closedPod.base)
    expect(status).toBe(403)
    expect(body.error.code).toBe('registrations_closed')
    expect(closedPod.running.pod.accounts.count()).toBe(0)
  })
})

describe('login', () => {
  test('the right password gives a short-lived bearer token that /users/me accepts', async () => {
    const { status, body } = await login('frank', PASSWORD, '198.51.100.1')
    expect(status).toBe(200)
    expect(body.tokenType).toBe('Bearer')
    expect(body.expiresIn).toBe(pod.config.auth.tokenTtlSeconds)
    const me = await call('GET', '/api/v1/users/me', { token: body.accessToken })
    expect(me.status).toBe(200)
    expect(me.body).toMatchObject({ username: 'frank', role: 'user' })
  })

  test('user names are matched regardless of case at login too', async () => {
    const { status } = await login('FRANK', PASSWORD, '198.51.100.2')
    expect(status).toBe(200)
  })

  test('/users/me without a token, or with a bad one, is 401', async () => {
    const none = await call('GET', '/api/v1/users/me')
    expect(none.status).toBe(401)
    // Every 401 says how to authenticate (RFC 6750), and a bad token says that it was the token.
    expect(none.headers.get('www-authenticate')).toBe('Bearer realm="seedpod"')
    const bad = await call('GET', '/api/v1/users/me', { token: 'not.a.token' })
    expect(bad.status).toBe(401)
    expect(bad.body.error.code).toBe('invalid_token')
    expect(bad.headers.get('www-authenticate')).toBe('Bearer realm="seedpod", error="invalid_token"')
  })

  test('a wrong password and an unknown name both give the same 401', async () => {
    const [wrong, unknown] = await Promise.all([login('grace', 'not the password', '198.51.100.3'), login('nobody-here', PASSWORD, '198.51.100.4')])
    expect(wrong.status).toBe(401)
    expect(unknown.status).toBe(401)
    expect(wrong.body).toEqual(unknown.body)
    expect(wrong.body.error.code).toBe('invalid_credentials')
    expect(pod.logs.some((l) => l.event === 'user.login.failed' && l.username === 'grace')).toBe(true)
  })

  test('a token from another pod is refused', async () => {
    await closedPod.running.pod.accounts.create('frank', PASSWORD)
    const res = await fetch(`${closedPod.base}/api/v1/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'frank', password: PASSWORD }),
    })
    const { accessToken } = (await res.json()) as { accessToken: string }
    expect((await call('GET', '/api/v1/users/me', { token: accessToken, base: closedPod.base })).status).toBe(200)
    expect((await call('GET', '/api/v1/users/me', { token: accessToken })).status).toBe(401)
  })

  test('a token stops working once its lifetime is over', async () => {
    const dataDir = join(tempDir(), 'data')
    const config = testConfig({ dataDir, port: 1 })
    const { mkdirSync } = await import('node:fs')
    mkdirSync(dataDir, { recursive: true })
    const db = openDatabase(join(dataDir, 'seedpod.db'))
    try {
      let now = Date.parse('2030-01-01T00:00:00Z')
      const accounts = new Accounts(new AccountStore(db), config, loadOrCreateSecret(dataDir, 'token.secret'), () => now)
      const user = valueOf(await accounts.create('henry', PASSWORD))
      const { accessToken, expiresIn } = await accounts.issueToken(user)
      now += (expiresIn - 1) * 1000
      expect((await accounts.userOfToken(accessToken))?.username).toBe('henry')
      now += 2000
      expect(await accounts.userOfToken(accessToken)).toBeUndefined()
    } finally {
      db.close()
    }
  })
})

describe('login rate limits', () => {
  test('too many failures from one address give 429 with Retry-After, even for a right password', async () => {
    const from = '203.0.113.10'
    const failures = await Promise.all(['ivan', 'someone', 'else'].map((name) => login(name, 'wrong password!', from)))
    expect(failures.map((f) => f.status)).toEqual([401, 401, 401])
    const blocked = await login('ivan', PASSWORD, from)
    expect(blocked.status).toBe(429)
    expect(blocked.body.error.code).toBe('too_many_attempts')
    const retryAfter = Number(blocked.headers.get('retry-after'))
    expect(retryAfter).toBeGreaterThan(0)
    expect(retryAfter).toBeLessThanOrEqual(600)
    // Another address is not affected.
    expect((await login('ivan', PASSWORD, '203.0.113.11')).status).toBe(200)
  })

  test('beyond the failures allowed for one name, addresses that failed take turns, seconds apart', async () => {
    const addresses = [21, 22, 23].map((n) => `203.0.113.${n}`)
    const failures = await Promise.all(addresses.map((from) => login('judy', 'wrong password!', from)))
    expect(failures.map((f) => f.status)).toEqual([401, 401, 401])
    // One of them gets the turn, the others wait for the next, seconds away.
    const turns = await Promise.all(addresses.map((from) => login('judy', 'wrong password!', from)))
    expect(turns.map((f) => f.status).sort()).toEqual([401, 429, 429])
    for (const refused of turns.filter((f) => f.status === 429)) {
      expect(refused.body.error.code).toBe('too_many_attempts')
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0)
      expect(Number(refused.headers.get('retry-after'))).toBeLessThanOrEqual(5)
    }
    // Case does not get around it.
    expect((await login('JUDY', PASSWORD, addresses[0])).status).toBe(429)
    // Other names from those addresses still work.
    expect((await login('ivan', PASSWORD, addresses[1])).status).toBe(200)
    // And the owner, from an address that has not failed, logs in at once.
    expect((await login('judy', PASSWORD, '203.0.113.99')).status).toBe(200)
  })

  test('the addresses of one IPv6 /64 share one limit, however they are written', async () => {
    const block = ['2001:db8:5:6::a', '2001:0db8:0005:0006:0:0:0:b', '2001:DB8:5:6:ffff::c']
    const failures = await Promise.all(block.map((from, i) => login(`victim-6-${i}`, 'wrong password!', from)))
    expect(failures.map((f) => f.status)).toEqual([401, 401, 401])
    expect((await login('ivan', PASSWORD, '2001:db8:5:6:1::d')).status).toBe(429)
    // The next /64 is another network.
    expect((await login('ivan', PASSWORD, '2001:db8:5:7::a')).status).toBe(200)
  })

  test('logging in to your own account does not reset your failures against others', async () => {
    const from = '203.0.113.50'
    const failures = await Promise.all([login('victim-1', 'guess one!!', from), login('victim-2', 'guess two!!', from)])
    expect(failures.map((f) => f.status)).toEqual([401, 401])
    expect((await login('kate', PASSWORD, from)).status).toBe(200)
    expect((await login('victim-3', 'guess three!!', from)).status).toBe(401)
    expect((await login('victim-4', 'guess four!!', from)).status).toBe(429)
  })
})

describe('login limits under a flood', () => {
  let flood: TestPod

  beforeAll(async () => {
    flood = await startTestPod({ trustProxy: true, auth: { loginAttempts: 10, loginWindowSeconds: 600 } })
    valueOf(await flood.running.pod.accounts.create('root', PASSWORD, 'admin'))
  }, 60_000)
  afterAll(() => flood?.stop())

  /** Sends `n` logins to the flood pod at once: their answers, and how many passwords argon2 checked meanwhile. */
  async function burst(n: number, attempt: (i: number) => [username: string, password: string, from: string]) {
    const verify = spyOn(Bun.password, 'verify')
    try {
      const answers = await Promise.all(Array.from({ length: n }, (_, i) => login(...attempt(i), flood.base)))
      return { answers, checked: verify.mock.calls.length, status: (s: number) => answers.filter((a) => a.status === s) }
    } finally {
      verify.mockRestore()
    }
  }

  test('200 parallel wrong passwords for one name from one address: at most 10 are checked, the rest 429 with Retry-After', async () => {
    const { answers, checked, status } = await burst(200, () => ['alice', 'wrong password!', '192.0.2.50'])
    expect(checked).toBeLessThanOrEqual(10)
    expect(status(401).length).toBe(checked)
    expect(status(429).length).toBe(200 - checked)
    for (const a of status(429)) {
      expect(a.body.error.code).toBe('too_many_attempts')
      expect(Number(a.headers.get('retry-after'))).toBeGreaterThan(0)
      expect(Number(a.headers.get('retry-after'))).toBeLessThanOrEqual(600)
    }
    expect(answers.length).toBe(200)
  })

  test('with trustProxy, a new first X-Forwarded-For hop per guess does not escape the limit of the last one', async () => {
    // Other names each time, so that only the address limit applies.
    const { checked, status } = await burst(50, (i) => [`guess-${i}`, 'wrong password!', `10.9.${i}.1, 192.0.2.60`])
    expect(checked).toBeLessThanOrEqual(10)
    expect(status(429).length).toBe(50 - checked)
    expect((await login('guess-more', 'wrong password!', '10.9.200.1, 192.0.2.60', flood.base)).status).toBe(429)
  })

  test('an attacker failing for "root" from many addresses cannot keep the admin out, and guesses one at a time', async () => {
    const attackers = Array.from({ length: 30 }, (_, i) => `198.18.0.${i + 1}`)
    // The pod runs in this process: freezing the clock here freezes its limiter's, then the
    // test moves it by hand, a second per round of the attack and as Retry-After says.
    let clock = Date.now()
    const tick = (ms: number) => setSystemTime((clock += ms))
    // Guesses checked per attacking address, and the longest wait of one still within its own limit.
    const checked = new Map(attackers.map((from) => [from, 0]))
    let longestWait = 0
    const round = async () => {
      const answers = await Promise.all(attackers.map((from) => login('root', 'a guess at it', from, flood.base)))
      answers.forEach((a, i) => {
        const from = attackers[i]!
        if (a.status === 401) checked.set(from, checked.get(from)! + 1)
        else if (checked.get(from)! < 10) longestWait = Math.max(longestWait, Number(a.headers.get('retry-after')))
      })
    }
    tick(0)
    try {
      const seconds = 60
      for (let s = 0; s < seconds; s++, tick(1000)) await round()
      // The admin, from an address of its own, while the attack goes on (its guesses first),
      // gets in within a few tries, having waited seconds (of the pod's clock) at most.
      let answer = { status: 0, headers: new Headers() }
      let waited = 0
      for (let tries = 0; tries < 3 && answer.status !== 200; tries++) {
        answer = (await Promise.all([round(), login('root', PASSWORD, '198.51.100.9', flood.base)]))[1]
        const wait = answer.status === 429 ? Number(answer.headers.get('retry-after')) : 0
        waited += wait
        tick(wait * 1000)
      }
      expect(answer.status).toBe(200)
      expect(waited).toBeLessThanOrEqual(10)
      // The attacker: one guess per fresh address, then one every few seconds among them all.
      const guesses = [...checked.values()].reduce((a, b) => a + b)
      expect(guesses).toBeLessThanOrEqual(attackers.length + seconds / 5 + 3)
      expect(longestWait).toBeLessThanOrEqual(5)
    } finally {
      setSystemTime()
    }
  })
})

describe('admin-only routes', () => {
  let adminToken: string
  let userToken: string

  beforeAll(async () => {
    valueOf(await pod.running.pod.accounts.create('root', PASSWORD, 'admin'))
    adminToken = (await login('root', PASSWORD, '198.51.100.200')).body.accessToken
    userToken = (await login('lena', PASSWORD, '198.51.100.201')).body.accessToken
  }, 60_000)

  test('a user is refused with 403', async () => {
    const { status, body } = await call('GET', '/api/v1/users', { token: userToken })
    expect(status).toBe(403)
    expect(body.error.code).toBe('forbidden')
  })

  test('without a token it is 401', async () => {
    expect((await call('GET', '/api/v1/users')).status).toBe(401)
  })

  test('an admin gets the list of accounts, without password hashes', async () => {
    const { status, body } = await call('GET', '/api/v1/users', { token: adminToken })
    expect(status).toBe(200)
    const names = body.data.map((u: { username: string }) => u.username)
    expect(names).toContain('root')
    expect(names).toContain('lena')
    expect(body.total).toBe(names.length)
    expect(body.data.find((u: { username: string }) => u.username === 'root').role).toBe('admin')
    expect(JSON.stringify(body)).not.toContain('argon2')
  })
})
