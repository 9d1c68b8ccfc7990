/**
 * Accounts: users with roles, argon2id password hashes (Bun.password), short-lived login
 * tokens (HS256 JWTs signed with a secret kept in the data folder), and a limit on login
 * attempts per client address and per user name.
 */
import type { Database } from 'bun:sqlite'
import { jwtVerify, SignJWT } from 'jose'
import { loadOrCreateSecret } from '../identity/keys'
import type { Config } from '../shared/config'
import { fail, ok, type Result } from '../shared/errors'
import { AccountStore, type Role, type UserRow } from './store'

/** A user as the API shows it. */
export interface User {
  id: number
  username: string
  role: Role
  createdAt: string
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

/** Accounts and login. */
export class Accounts {
  constructor(
    private readonly store: AccountStore,
    private readonly config: Config,
    private readonly tokenSecret: Uint8Array,
    private readonly now: () => number = Date.now,
  ) {}

  /** Creates a user; returns the user or what is wrong with the request. Changes nothing on error. */
  async create(username: string, password: string, role: Role = 'user'): Promise<Result<User, AccountProblem>> {
    const problem = checkUsername(username) ?? checkPassword(password, username)
    if (problem) return fail(problem)
    if (this.store.byName(username)) return fail({ code: 'username_taken', message: `the user name ${username} is taken` })
    const hash = await Bun.password.hash(password, { algorithm: 'argon2id' })
    try {
      return ok(toUser(this.store.add(username, hash, role, this.now())))
    } catch (e) {
      // Two registrations of one name racing: the UNIQUE constraint decides.
      if (String(e).includes('UNIQUE')) return fail({ code: 'username_taken', message: `the user name ${username} is taken` })
      throw e
    }
  }

  /** A user by id, or undefined. */
  get(id: number): User | undefined {
    const row = this.store.byId(id)
    return row ? toUser(row) : undefined
  }

  /** Every account, oldest first. */
  list(): User[] {
    return this.store.all().map(toUser)
  }

  /** Number of accounts (the first one made through `seedpod user add` is usually the admin). */
  count(): number {
    return this.store.count()
  }

  /** Checks credentials; returns the user or undefined. Takes the same time for unknown names. */
  async verify(username: string, password: string): Promise<User | undefined> {
    const row = this.store.byName(username)
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

/** The accounts of a pod's database, their tokens signed with the secret kept in its data folder. */
export function accountsOf(db: Database, config: Config): Accounts {
  return new Accounts(new AccountStore(db), config, loadOrCreateSecret(config.dataDir, 'token.secret'))
}

/**
 * An argon2id hash with Bun's default cost (the cost every stored hash has), verified
 * against when the name is unknown. A constant rather than computed at start: hashing takes
 * a fifth of a second and 64 MiB, which every start of the pod (and of each CLI command)
 * would pay.
 */
const DUMMY_HASH = '$argon2id$v=19$m=65536,t=2,p=1$grZZK9SbP+NzPZ56xS2JdGygWQOn6ugic2nFWvUQsYA$aWJM/4aDndpxoBjipHc6dP7yxQgthoNKv22ZaBVVors'

/** A login attempt let through: counted as a failure already, since its password is checked after. */
export interface LoginAttempt {
  /** The password was right: the attempt is not a failure after all. */
  succeeded(): void
}

/** A login attempt refused: how long to wait, in seconds (`Retry-After`). */
export interface LoginRefusal {
  retryAfter: number
}

/**
 * How far apart the turns of a name over its limit are (see AttemptLimiter): short enough
 * that whoever waits for one waits seconds, long enough that guessing through them stays
 * slow (120 guesses in 10 minutes).
 */
const NAME_TURN_MS = 5_000

/** Most keys (addresses and names) remembered at once; beyond, the least recently asked about go. */
const MAX_KEYS = 100_000

/**
 * A map of at most `max` keys that forgets those least recently used first, in constant
 * time: two generations of up to `max / 2` keys each, the older dropped as a whole when the
 * newer fills, a key used meanwhile moved to the newer. (Evicting one key at a time from a
 * single Map by its first key costs a scan past every key deleted before it: tens of
 * microseconds per eviction once full.)
 */
class RecentMap<V> {
  private newer = new Map<string, V>()
  private older = new Map<string, V>()
  constructor(private readonly max: number) {}

  get(key: string): V | undefined {
    return this.newer.get(key) ?? this.older.get(key)
  }

  /** Sets `key` (also to mark it used). */
  set(key: string, value: V): void {
    this.older.delete(key)
    this.newer.set(key, value)
    if (this.newer.size >= this.max / 2) {
      this.older = this.newer
      this.newer = new Map()
    }
  }

  delete(key: string): void {
    this.newer.delete(key)
    this.older.delete(key)
  }
}

/** What the limiter knows of one address or name. */
interface Tries {
  /** Times of the attempts in the window, oldest first, at most `max`. */
  times: number[]
  /** For a name over its limit: when its last turn was taken. */
  turn: number
}

/**
 * The login limits, per client address and per user name, over a sliding window of
 * `windowMs`. An attempt is counted when it is let through, before its password is checked,
 * not once it has failed: argon2 takes a fifth of a second, and counting after it let any
 * number of parallel requests through before the first failure was recorded.
 *
 * - An address may make `max` attempts in the window; beyond, it is refused (429) until the
 *   oldest leaves the window. This also bounds the argon2 work one address can cause.
 * - A name may be tried `max` times in the window at full speed. Beyond, it is not locked:
 *   a lock would let anyone keep its owner (say the admin) out for good, from anywhere, by
 *   failing `max` times a window. Instead the name is slowed:
 *   - an address with no attempt on record in the window is let through. That is the owner,
 *     who is not the one guessing: they log in at once, mid-attack, after a restart, from any
 *     address that has not failed;
 *   - addresses that have failed take turns: one attempt at the name every NAME_TURN_MS among
 *     them all, the others refused with a Retry-After of at most that. One turn for them all,
 *     not one per address, so that more addresses do not buy more guesses this way.
 *   So a name over its limit gets at most `max` guesses per window at full speed, one per
 *   turn, and one per fresh address an attacker brings (which then waits for turns like the
 *   rest, within its own address limit). An owner who mistyped waits for a turn, which a
 *   flood may keep taking, but only until their own failure leaves the window: what keeps
 *   them out is their own failure, never someone else's alone.
 *
 * In memory: a restart forgets counts, which only helps an attacker as much as a pod restart
 * allows. Bounded under a flood: each key keeps at most `max` times (all that "are there
 * `max` in the window" needs), and at most MAX_KEYS keys, the least recently asked about
 * forgotten first (RecentMap), so that a name or address under attack is the last to go.
 */
export class AttemptLimiter {
  private readonly tries = new RecentMap<Tries>(MAX_KEYS)
  constructor(
    private readonly max: number,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Asks to check a password for `username` from `address`: an attempt, already counted for
   * both as a failure, or a refusal with how long to wait.
   */
  admit(address: string, username: string): Result<LoginAttempt, LoginRefusal> {
    const t = this.now()
    const addressKey = `address:${addressBlock(address)}`
    const nameKey = `name:${username.toLowerCase()}`
    const byAddress = this.live(addressKey, t)
    const byName = this.live(nameKey, t)
    const addressWait = this.untilFree(byAddress, t)
    if (addressWait > 0) return refusal(addressWait)
    const nameWait = this.untilFree(byName, t)
    // Over the name's limit, only an address with failures on record needs a turn.
    const needsTurn = nameWait > 0 && byAddress !== undefined
    if (needsTurn) {
      const wait = Math.min(nameWait, byName!.turn + NAME_TURN_MS - t)
      if (wait > 0) return refusal(wait)
    }
    const mine = this.add(addressKey, t)
    const named = this.add(nameKey, t)
    if (needsTurn) named.turn = t
    return ok({
      succeeded: () => {
        // Forget the failures for this name, and this attempt, but not the address's other
        // failures: clearing those would let someone with one account reset their count
        // between guesses at other people's passwords.
        const i = mine.times.indexOf(t)
        if (i >= 0) mine.times.splice(i, 1)
        this.tries.delete(nameKey)
      },
    })
  }

  /** What is on record for `key` in the window, or undefined for nothing; marks it used. */
  private live(key: string, t: number): Tries | undefined {
    const tries = this.tries.get(key)
    if (!tries) return undefined
    while (tries.times.length && tries.times[0]! <= t - this.windowMs) tries.times.shift()
    if (!tries.times.length) {
      this.tries.delete(key)
      return undefined
    }
    this.tries.set(key, tries)
    return tries
  }

  /** Milliseconds until `tries` leaves room for one more attempt in the window (0: it does). */
  private untilFree(tries: Tries | undefined, t: number): number {
    const times = tries?.times ?? []
    return times.length >= this.max ? times[times.length - this.max]! + this.windowMs - t : 0
  }

  /** Records an attempt at `t` for `key`; returns its record. */
  private add(key: string, t: number): Tries {
    const tries = this.live(key, t) ?? { times: [], turn: -Infinity }
    tries.times.push(t)
    if (tries.times.length > this.max) tries.times.shift()
    this.tries.set(key, tries)
    return tries
  }
}

/**
 * What an address is limited as: an IPv4 address itself, an IPv6 address its /64, the block
 * one machine or home is given. Otherwise one host would have 2^64 addresses, each with its
 * own limit and each "fresh" for a name over its limit.
 */
function addressBlock(address: string): string {
  if (!address.includes(':')) return address
  const bare = address.split('%')[0]! // without its zone (fe80::1%eth0)
  const [head = '', tail] = bare.split('::')
  const left = head ? head.split(':') : []
  const right = tail ? tail.split(':') : []
  // A dotted IPv4 tail (as in 64:ff9b::192.0.2.1) stands for two groups.
  const groups = left.length + right.length + (bare.includes('.') ? 1 : 0)
  const all = [...left, ...Array<string>(tail === undefined ? 0 : 8 - groups).fill('0'), ...right]
  return `${all.slice(0, 4).map((g) => parseInt(g, 16).toString(16)).join(':')}::/64`
}

/** A refusal to wait `ms`, in whole seconds as Retry-After says it. */
const refusal = (ms: number) => fail<LoginRefusal>({ retryAfter: Math.max(1, Math.ceil(ms / 1000)) })
