/**
 * Accounts: users with roles, argon2id password hashes (Bun.password), short-lived login
 * tokens (HS256 JWTs signed with a secret kept in the data folder), and a limit on login
 * attempts per client address and per user name.
 */
import type { Database } from 'bun:sqlite'
import { jwtVerify, SignJWT } from 'jose'
import type { Config } from '../shared/config'

export type Role = 'user' | 'admin'

/** A user as the API shows it. */
export interface User {
  id: number
  username: string
  role: Role
  createdAt: string
}

interface UserRow {
  id: number
  username: string
  password_hash: string
  role: Role
  created_at: number
}

const toUser = (r: UserRow): User => ({ id: r.id, username: r.username, role: r.role, createdAt: new Date(r.created_at).toISOString() })

/** Why an account could not be made. */
export type AccountProblem = { code: 'invalid_username' | 'weak_password' | 'username_taken'; message: string }

const USERNAME = /^[a-z0-9][a-z0-9_.-]{1,30}[a-z0-9]$/i
const COMMON = new Set(['password', 'password1', 'password123', '1234567890', '12345678', 'qwertyuiop', 'iloveyou', 'letmein123', 'seedpod123', 'administrator'])

/** Checks a user name: 3 to 32 letters, digits, `_`, `.` or `-`, starting and ending with a letter or digit. */
function checkUsername(username: string): AccountProblem | undefined {
  if (!USERNAME.test(username))
    return { code: 'invalid_username', message: 'a user name has 3 to 32 characters: letters, digits, "_", "." or "-", starting and ending with a letter or digit' }
}

/** Checks a password: at least 10 characters, not the user name, not a well-known password. */
function checkPassword(password: string, username: string): AccountProblem | undefined {
  if (password.length < 10) return { code: 'weak_password', message: 'the password must have at least 10 characters' }
  if (password.length > 1024) return { code: 'weak_password', message: 'the password must have at most 1024 characters' }
  if (password.toLowerCase().includes(username.toLowerCase()) || COMMON.has(password.toLowerCase()))
    return { code: 'weak_password', message: 'the password is too easy to guess: avoid the user name and common passwords' }
}

/** Account storage and login over one database. */
export class Accounts {
  constructor(
    private readonly db: Database,
    private readonly config: Config,
    private readonly tokenSecret: Uint8Array,
    private readonly now: () => number = Date.now,
  ) {}

  /** Creates a user; returns the user or what is wrong with the request. Changes nothing on error. */
  async create(username: string, password: string, role: Role = 'user'): Promise<User | AccountProblem> {
    const problem = checkUsername(username) ?? checkPassword(password, username)
    if (problem) return problem
    if (this.byName(username)) return { code: 'username_taken', message: `the user name ${username} is taken` }
    const hash = await Bun.password.hash(password, { algorithm: 'argon2id' })
    try {
      const row = this.db
        .query('INSERT INTO users (username, password_hash, role, created_at) VALUES (?, ?, ?, ?) RETURNING *')
        .get(username, hash, role, this.now()) as UserRow
      return toUser(row)
    } catch (e) {
      // Two registrations of one name racing: the UNIQUE constraint decides.
      if (String(e).includes('UNIQUE')) return { code: 'username_taken', message: `the user name ${username} is taken` }
      throw e
    }
  }

  private byName(username: string): UserRow | null {
    return this.db.query('SELECT * FROM users WHERE username = ?').get(username) as UserRow | null
  }

  /** A user by id, or undefined. */
  get(id: number): User | undefined {
    const row = this.db.query('SELECT * FROM users WHERE id = ?').get(id) as UserRow | null
    return row ? toUser(row) : undefined
  }

  /** Every account, oldest first. */
  list(): User[] {
    return (this.db.query('SELECT * FROM users ORDER BY id').all() as UserRow[]).map(toUser)
  }

  /** Number of accounts (the first one made through `seedpod user add` is usually the admin). */
  count(): number {
    return (this.db.query('SELECT count(*) AS n FROM users').get() as { n: number }).n
  }

  /** Checks credentials; returns the user or undefined. Takes the same time for unknown names. */
  async verify(username: string, password: string): Promise<User | undefined> {
    const row = this.byName(username)
    // Hash even for an unknown name so that timing does not tell which names exist.
    const ok = await Bun.password.verify(password, row?.password_hash ?? DUMMY_HASH)
    return row && ok ? toUser(row) : undefined
  }

  /** Issues a login token for a user. */
  async issueToken(user: User): Promise<{ accessToken: string; expiresIn: number; tokenType: 'Bearer' }> {
    const ttl = this.config.auth.tokenTtlSeconds
    const iat = Math.floor(this.now() / 1000)
    const accessToken = await new SignJWT({ role: user.role, name: user.username })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(String(user.id))
      .setIssuer(this.config.url)
      .setIssuedAt(iat)
      .setExpirationTime(iat + ttl)
      .sign(this.tokenSecret)
    return { accessToken, expiresIn: ttl, tokenType: 'Bearer' }
  }

  /** The user a token belongs to, or undefined if it is invalid, expired, or the user is gone. */
  async userOfToken(token: string): Promise<User | undefined> {
    try {
      const { payload } = await jwtVerify(token, this.tokenSecret, {
        algorithms: ['HS256'],
        issuer: this.config.url,
        currentDate: new Date(this.now()),
      })
      return this.get(Number(payload.sub))
    } catch {
      return undefined
    }
  }
}

/**
 * An argon2id hash with Bun's default cost (the cost every stored hash has), verified
 * against when the name is unknown. A constant rather than computed at start: hashing takes
 * a fifth of a second and 64 MiB, which every start of the pod (and of each CLI command)
 * would pay.
 */
const DUMMY_HASH = '$argon2id$v=19$m=65536,t=2,p=1$grZZK9SbP+NzPZ56xS2JdGygWQOn6ugic2nFWvUQsYA$aWJM/4aDndpxoBjipHc6dP7yxQgthoNKv22ZaBVVors'

/**
 * Counts attempts per key in a sliding window (login failures per client address and per
 * user name). In memory: a restart forgets counts, which only helps an attacker as much
 * as a pod restart allows.
 */
export class AttemptLimiter {
  private readonly hits = new Map<string, number[]>()
  constructor(
    private readonly max: number,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  private recent(key: string): number[] {
    const cutoff = this.now() - this.windowMs
    const list = (this.hits.get(key) ?? []).filter((t) => t > cutoff)
    if (list.length) this.hits.set(key, list)
    else this.hits.delete(key)
    return list
  }

  /** Seconds until `key` may try again, or 0 if it may now. */
  retryAfter(key: string): number {
    const list = this.recent(key)
    if (list.length < this.max) return 0
    return Math.max(1, Math.ceil((list[0]! + this.windowMs - this.now()) / 1000))
  }

  /** Records one attempt for `key`. */
  hit(key: string): void {
    const list = this.recent(key)
    list.push(this.now())
    this.hits.set(key, list)
    // Bound memory under a flood of distinct keys: forget the oldest.
    if (this.hits.size > 100_000) this.hits.delete(this.hits.keys().next().value!)
  }

  /** Forgets `key` (after a successful login). */
  clear(key: string): void {
    this.hits.delete(key)
  }
}
