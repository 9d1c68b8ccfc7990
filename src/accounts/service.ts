/**
 * Accounts: users with roles, argon2id password hashes (Bun.password), short-lived login
 * tokens (HS256 JWTs signed with a secret kept in the data folder) that name a subject no
 * other account will ever have and are checked against the account on every request,
 * registrations limited per address (and, in approval mode, waiting for an admin), and a
 * limit on login attempts per client address and per user name.
 */
import type { Database } from 'bun:sqlite'
import { jwtVerify, SignJWT } from 'jose'
import type { Chore } from '../../actors/housekeeper'
import { loadOrCreateSecret } from '../identity/keys'
import { addressBlock } from '../shared/client-address'
import type { Config } from '../shared/config'
import { fail, failure, ok, type Failure, type Result } from '../shared/errors'
import { AccountStore, type Role, type UserRow, type UserStatus } from './store'

/** A user as the API shows it. */
export interface User {
  id: number
  username: string
  role: Role
  status: UserStatus
  createdAt: string
}

const toUser = (r: UserRow): User => ({ id: r.id, username: r.username, role: r.role, status: r.status, createdAt: new Date(r.created_at).toISOString() })

/** Why an account could not be made. */
export type AccountProblem = { code: 'invalid_username' | 'weak_password' | 'username_taken'; message: string }

/** Why a registration was not even tried: its address made its share of accounts; `retryAfter` in seconds. */
export type RegistrationLimit = { code: 'too_many_registrations'; message: string; retryAfter: number }

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
  /** Registrations being made (their password hashed) per address block: they count toward its limit. */
  private readonly registering = new Map<string, number>()

  constructor(
    private readonly store: AccountStore,
    private readonly config: Config,
    private readonly tokenSecret: Uint8Array,
    private readonly now: () => number = Date.now,
  ) {}

  /** Creates an active user (`seedpod user add`, tests); returns the user or what is wrong with the request. Changes nothing on error. */
  create(username: string, password: string, role: Role = 'user'): Promise<Result<User, AccountProblem>> {
    return this.make(username, password, role, 'active', null)
  }

  /**
   * Registers a user from `address` (`POST /api/v1/users`): at most
   * `auth.registrationsPerAddress` accounts per address block (an IPv6 address counts as
   * its /64) in `auth.registrationWindowSeconds`, counted before the (slow, memory-hungry)
   * password hash so that a flood costs no hashing; with `registrations = "approval"` the
   * account waits for an admin.
   */
  async register(username: string, password: string, address: string): Promise<Result<User, AccountProblem | RegistrationLimit>> {
    const block = addressBlock(address)
    const wait = this.registrationWait(block)
    if (wait !== undefined) return fail({ code: 'too_many_registrations', message: `too many accounts were made from this address; try again in ${wait} s`, retryAfter: wait })
    // Counted at once, in the same step as the check: parallel requests see each other.
    this.registering.set(block, (this.registering.get(block) ?? 0) + 1)
    try {
      return await this.make(username, password, 'user', this.config.registrations === 'approval' ? 'pending' : 'active', block)
    } finally {
      const n = this.registering.get(block)! - 1
      if (n) this.registering.set(block, n)
      else this.registering.delete(block)
    }
  }

  /** Seconds until `block` may register again, or undefined if it may now. */
  private registrationWait(block: string): number | undefined {
    const { registrationsPerAddress: max, registrationWindowSeconds } = this.config.auth
    const windowMs = registrationWindowSeconds * 1000
    const t = this.now()
    const { count, oldest } = this.store.registeredFrom(block, t - windowMs)
    if (count + (this.registering.get(block) ?? 0) < max) return undefined
    // Only registrations under way: they end in a moment, one way or the other.
    if (oldest === null || count < max) return 1
    return Math.max(1, Math.ceil((oldest + windowMs - t) / 1000))
  }

  /** The housekeeper's chores: where accounts registered from is kept only as long as the registration limit needs it. */
  chores(): Chore[] {
    return [{ name: 'registration-addresses', everyMs: 3_600_000, run: () => void this.store.forgetAddresses(this.now() - this.config.auth.registrationWindowSeconds * 1000) }]
  }

  private async make(username: string, password: string, role: Role, status: UserStatus, registeredFrom: string | null): Promise<Result<User, AccountProblem>> {
    const problem = checkUsername(username) ?? checkPassword(password, username)
    if (problem) return fail(problem)
    if (this.store.byName(username)) return fail({ code: 'username_taken', message: `the user name ${username} is taken` })
    const passwordHash = await Bun.password.hash(password, { algorithm: 'argon2id' })
    try {
      return ok(toUser(this.store.add({ username, passwordHash, role, status, registeredFrom, createdAt: this.now() })))
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

  /** Every account (or those of one status), oldest first. */
  list(status?: UserStatus): User[] {
    return this.store.all(status).map(toUser)
  }

  /** Number of accounts (the first one made through `seedpod user add` is usually the admin). */
  count(): number {
    return this.store.count()
  }

  /**
   * An admin accepts a pending account or disables or enables one (`active` / `disabled`).
   * A disabled account's tokens stop working at their next request, and stay so once it is
   * enabled again (it gets a new subject). Admins do not change their own.
   */
  setStatus(id: number, status: 'active' | 'disabled', by: User): Result<User, Failure> {
    const row = this.other(id, by)
    if (!row.ok) return row
    return ok(toUser(row.value.status === status ? row.value : this.store.setStatus(id, status)!))
  }

  /**
   * Deletes an account (an admin refusing a pending one, or removing any): its tokens stop
   * working at once, and its id and subject are never given again. One that uploaded videos
   * is kept (they name it as their owner): disable it instead.
   */
  remove(id: number, by: User): Result<User, Failure> {
    const row = this.other(id, by)
    if (!row.ok) return row
    try {
      this.store.remove(id)
    } catch (e) {
      // The videos it uploaded name it as their owner: the foreign key decides.
      if (String(e).includes('FOREIGN KEY')) return failure('conflict', 'owns_videos', 'this account uploaded videos: disable it instead, or delete its videos first')
      throw e
    }
    return ok(toUser(row.value))
  }

  /** Another account than the admin's own. */
  private other(id: number, by: User): Result<UserRow, Failure> {
    const row = this.store.byId(id)
    if (!row) return failure('not_found', 'not_found', `no account ${id}`)
    if (row.id === by.id) return failure('conflict', 'own_account', 'admins do not change or delete their own account here')
    return ok(row)
  }

  /** Checks credentials; returns the user (of any status) or undefined. Takes the same time for unknown names. */
  async verify(username: string, password: string): Promise<User | undefined> {
    const row = this.store.byName(username)
    // Hash even for an unknown name so that timing does not tell which names exist.
    const ok = await Bun.password.verify(password, row?.password_hash ?? DUMMY_HASH)
    return row && ok ? toUser(row) : undefined
  }

  /** Issues a login token for a user: it names the user's subject, never given to another account. */
  async issueToken(user: User): Promise<{ accessToken: string; expiresIn: number; tokenType: 'Bearer' }> {
    const subject = this.store.byId(user.id)?.subject
    // A caller holding a User of an account deleted meanwhile: a token that names no one.
    const ttl = this.config.auth.tokenTtlSeconds
    const iat = Math.floor(this.now() / 1000)
    const accessToken = await new SignJWT({ role: user.role, name: user.username })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(subject ?? crypto.randomUUID())
      .setIssuer(this.config.url)
      .setIssuedAt(iat)
      .setExpirationTime(iat + ttl)
      .sign(this.tokenSecret)
    return { accessToken, expiresIn: ttl, tokenType: 'Bearer' }
  }

  /**
   * The user a token belongs to, or undefined if it is invalid or expired, or its account is
   * gone, not active (pending, disabled), or was never its subject's (a token of an earlier
   * release named a bare id). Read on every request: deleting or disabling ends it at once.
   */
  async userOfToken(token: string): Promise<User | undefined> {
    try {
      const { payload } = await jwtVerify(token, this.tokenSecret, {
        algorithms: ['HS256'],
        issuer: this.config.url,
        currentDate: new Date(this.now()),
      })
      const row = typeof payload.sub === 'string' ? this.store.bySubject(payload.sub) : undefined
      return row?.status === 'active' ? toUser(row) : undefined
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

/** A refusal to wait `ms`, in whole seconds as Retry-After says it. */
const refusal = (ms: number) => fail<LoginRefusal>({ retryAfter: Math.max(1, Math.ceil(ms / 1000)) })
