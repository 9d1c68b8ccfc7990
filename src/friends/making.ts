/**
 * Making friends (docs/protocol.md, "Friend making"): asks pods for their friend lists,
 * befriends every asked pod that answered and every pod named in at least half of the lists,
 * and presents this pod to each with `friend.request`. Also what a pod does at start: make
 * friends from the config the first time, and tell friends when its URL changed.
 */
import type { Database } from 'bun:sqlite'
import type { PodInfo } from '../federation/inbox'
import type { Identity } from '../identity/keys'
import { fingerprintOf } from '../identity/keys'
import type { Config } from '../shared/config'
import type { Logger } from '../shared/log'
import { isVideo, movePod, upsertVideo, type Video } from '../videos/model'
import { saveRenditions } from '../videos/renditions'
import { chooseFriends, type ListedPod } from './choose'
import type { Friends } from './service'

/** What friend making did for one pod. */
export interface FriendingResult {
  url: string
  fingerprint?: string
  status: 'added' | 'refreshed' | 'failed' | 'skipped'
  videos?: number
  error?: string
}

const FETCH_TIMEOUT_MS = 10_000

/** Fetches and checks `GET {url}/api/v1/pod`: the key's thumbprint must be the fingerprint. */
export async function fetchPodInfo(url: string): Promise<PodInfo> {
  // A pod URL comes from other pods: only plain http(s) origins are fetched (no file:, no credentials).
  const parsed = URL.parse(url)
  if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') || parsed.username || parsed.password || parsed.search || parsed.hash)
    throw new Error(`${url} is not an http(s) pod URL`)
  const res = await fetch(`${url.replace(/\/+$/, '')}/api/v1/pod`, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS), redirect: 'error' })
  if (!res.ok) throw new Error(`GET ${url}/api/v1/pod answered ${res.status}`)
  const body = (await res.json()) as Partial<PodInfo>
  if (typeof body.fingerprint !== 'string' || !body.publicKey || typeof body.url !== 'string') throw new Error(`${url} is not a seedpod`)
  if ((await fingerprintOf(body.publicKey)) !== body.fingerprint) throw new Error(`${url} announces a fingerprint that is not its key's`)
  return { url: body.url.replace(/\/+$/, ''), name: typeof body.name === 'string' ? body.name : '', fingerprint: body.fingerprint, publicKey: body.publicKey }
}

async function fetchFriendList(url: string): Promise<ListedPod[]> {
  const res = await fetch(`${url}/api/v1/pod/friends`, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS), redirect: 'error' })
  if (!res.ok) throw new Error(`GET ${url}/api/v1/pod/friends answered ${res.status}`)
  const body = (await res.json()) as { friends?: unknown }
  if (!Array.isArray(body.friends)) throw new Error(`${url} gave no friend list`)
  return body.friends.filter((f): f is ListedPod => typeof f?.url === 'string' && typeof f?.fingerprint === 'string')
}

/** Friend making for one pod. */
export class FriendMaking {
  constructor(
    private readonly db: Database,
    private readonly config: Config,
    private readonly identity: Identity,
    private readonly friends: Friends,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Asks each pod for its friends, then befriends every asked pod that answered and every
   * pod named in at least half of the lists, never itself.
   */
  async makeFriends(urls: readonly string[]): Promise<FriendingResult[]> {
    const asked = [...new Set(urls.map((u) => u.replace(/\/+$/, '')))]
    const answers = await Promise.all(
      asked.map(async (url) => {
        try {
          const [info, list] = await Promise.all([fetchPodInfo(url), fetchFriendList(url)])
          return { url, info, list }
        } catch (e) {
          return { url, error: (e as Error).message }
        }
      }),
    )
    const results: FriendingResult[] = []
    const answered: { info: PodInfo; list: ListedPod[] }[] = []
    for (const a of answers) {
      if ('info' in a && a.info && a.list) answered.push({ info: a.info, list: a.list })
      else results.push({ url: a.url, status: 'failed', error: a.error })
    }
    const chosen = chooseFriends(
      answered.map((a) => ({ url: a.info.url, fingerprint: a.info.fingerprint })),
      answered.map((a) => a.list),
      this.identity.fingerprint,
    )
    const known = new Map(answered.map((a) => [a.info.fingerprint, a.info]))
    results.push(...(await Promise.all(chosen.map((c) => this.befriend(c, known.get(c.fingerprint))))))
    this.log.info('friends.made', { asked: asked.length, added: results.filter((r) => r.status === 'added').length, failed: results.filter((r) => r.status === 'failed').length })
    return results
  }

  /** Presents this pod to one pod with `friend.request` and stores the videos it returns. */
  private async befriend(target: ListedPod, known?: PodInfo): Promise<FriendingResult> {
    const store = this.friends.store
    if (store.blacklisted(target.fingerprint)) return { url: target.url, fingerprint: target.fingerprint, status: 'skipped', error: 'blacklisted' }
    try {
      const info = known ?? (await fetchPodInfo(target.url))
      if (info.fingerprint !== target.fingerprint) throw new Error(`${target.url} now has another key than its friends list says`)
      const { transport } = this.friends
      const request = { type: 'friend.request', data: { url: this.config.url, publicKey: this.identity.publicJwk, name: this.config.name } }
      const r = await transport.post(info, transport.payload(info.fingerprint, crypto.randomUUID(), [request]))
      if (!r.ok) throw new Error(r.error)
      const videos = ((r.reply?.results[0] as { videos?: unknown[] } | undefined)?.videos ?? []).filter(isVideo).filter((v: Video) => v.podFingerprint === info.fingerprint)
      const existed = store.get(info.fingerprint) !== undefined
      const now = this.now()
      this.db.transaction(() => {
        store.upsert(info, this.config.score.initial, now)
        for (const v of videos) if (upsertVideo(this.db, v, info.url, now) && v.files) saveRenditions(this.db, v.id, v.files)
      }).immediate()
      this.friends.befriended(store.get(info.fingerprint)!, !existed)
      this.log.info('friend.added', { friend: info.url, fingerprint: info.fingerprint, videos: videos.length, by: 'making' })
      return { url: info.url, fingerprint: info.fingerprint, status: existed ? 'refreshed' : 'added', videos: videos.length }
    } catch (e) {
      this.log.warn('friend.request.failed', { friend: target.url, error: (e as Error).message })
      return { url: target.url, fingerprint: target.fingerprint, status: 'failed', error: (e as Error).message }
    }
  }

  /**
   * At start: makes friends from the config the first time, and tells friends when this
   * pod's URL changed since the last start (`pod.moved`, delivered through the outbox).
   */
  async onStart(): Promise<void> {
    const store = this.friends.store
    const lastUrl = store.setting('url')
    if (lastUrl && lastUrl !== this.config.url) {
      this.log.info('pod.moved', { from: lastUrl, to: this.config.url })
      movePod(this.db, this.identity.fingerprint, this.config.url)
      this.friends.broadcast([{ type: 'pod.moved', data: { url: this.config.url } }])
    }
    store.setSetting('url', this.config.url)
    if (this.config.friends.length && !store.setting('friendsMadeAt')) {
      const results = await this.makeFriends(this.config.friends)
      // Pods that were all down are asked again at the next start.
      if (results.some((r) => r.status === 'added' || r.status === 'refreshed')) store.setSetting('friendsMadeAt', new Date(this.now()).toISOString())
    }
  }
}
