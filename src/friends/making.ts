/**
 * Making friends (docs/protocol.md, "Friend making"): asks pods for their friend lists,
 * befriends every asked pod that answered and every pod named in at least half of the lists,
 * and presents this pod to each with `friend.request`. Also what a pod does at start: make
 * friends from the config the first time, and tell friends when its URL changed.
 */
import type { Database } from 'bun:sqlite'
import type { PodInfo } from '../federation/inbox'
import { fetchFriendList, fetchPodInfo, type ListedPod } from '../federation/pod-info'
import type { Identity } from '../identity/keys'
import { checkPodUrl, type Outbound } from '../shared/outbound'
import type { Config } from '../shared/config'
import { ok } from '../shared/errors'
import type { Logger } from '../shared/log'
import { isVideo, type Video } from '../videos/model'
import type { VideoStore } from '../videos/store'
import { chooseFriends } from './choose'
import type { Friends } from './service'

/** What friend making did for one pod. */
export interface FriendingResult {
  url: string
  fingerprint?: string
  /** `pending`: the pod takes friends on its admin's approval, and the request waits for it. */
  status: 'added' | 'refreshed' | 'pending' | 'failed' | 'skipped'
  videos?: number
  error?: string
}

/** What friend making is built from. */
export interface FriendMakingDeps {
  db: Database
  /** The videos' tables: a new friend's videos go in. */
  videoRows: VideoStore
  config: Config
  identity: Identity
  friends: Friends
  outbound: Outbound
  log: Logger
  now?: () => number
}

/** Friend making for one pod. */
export class FriendMaking {
  private readonly db: Database
  private readonly videoRows: VideoStore
  private readonly config: Config
  private readonly identity: Identity
  private readonly friends: Friends
  private readonly outbound: Outbound
  private readonly log: Logger
  private readonly now: () => number

  constructor(deps: FriendMakingDeps) {
    ;({
      db: this.db, videoRows: this.videoRows, config: this.config, identity: this.identity, friends: this.friends, outbound: this.outbound,
      log: this.log, now: this.now = Date.now,
    } = deps)
  }

  /**
   * Asks each pod for its friends, then befriends every asked pod that answered and every
   * pod named in at least half of the lists, never itself.
   */
  async makeFriends(urls: readonly string[]): Promise<FriendingResult[]> {
    const asked = [...new Set(urls.map((u) => { const c = checkPodUrl(u); return c.ok ? c.value : u }))]
    const answers = await Promise.all(
      asked.map(async (url) => {
        const [info, list] = await Promise.all([fetchPodInfo(this.outbound, url), fetchFriendList(this.outbound, url)])
        if (!info.ok) return { url, error: info.error }
        if (!list.ok) return { url, error: list.error }
        return { url, info: info.value, list: list.value }
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
    // The same cap as for requests made to this pod (src/friends/admission.ts).
    if (!store.get(target.fingerprint) && store.count() >= this.config.friends.maxFriends)
      return { url: target.url, fingerprint: target.fingerprint, status: 'skipped', error: 'too_many_friends' }
    const failed = (error: string): FriendingResult => {
      this.log.warn('friend.request.failed', { friend: target.url, error })
      return { url: target.url, fingerprint: target.fingerprint, status: 'failed', error }
    }
    try {
      const proved = known ? ok(known) : await fetchPodInfo(this.outbound, target.url)
      if (!proved.ok) return failed(proved.error)
      const info = proved.value
      if (info.fingerprint !== target.fingerprint) return failed(`${target.url} now has another key than its friends list says`)
      const { transport } = this.friends
      const request = { type: 'friend.request', data: { url: this.config.url, publicKey: this.identity.publicJwk, name: this.config.name } }
      const r = await transport.post(info, transport.payload(info.fingerprint, crypto.randomUUID(), [request]))
      if (!r.ok) return failed(r.error.message)
      const answer = r.value.reply?.results[0] as { ok?: unknown; error?: unknown; videos?: unknown[] } | undefined
      if (answer?.ok === false && answer.error === 'pending') {
        // When its admin accepts, it presents itself here: that request is then expected.
        store.setSetting(`asked:${info.fingerprint}`, new Date(this.now()).toISOString())
        this.log.info('friend.request.waiting', { friend: info.url, fingerprint: info.fingerprint })
        return { url: info.url, fingerprint: info.fingerprint, status: 'pending' }
      }
      const videos = ((r.value.reply?.results[0] as { videos?: unknown[] } | undefined)?.videos ?? []).filter(isVideo).filter((v: Video) => v.podFingerprint === info.fingerprint)
      const existed = store.get(info.fingerprint) !== undefined
      const now = this.now()
      this.db.transaction(() => {
        store.upsert(info, this.config.score.initial, now)
        for (const v of videos) this.videoRows.index(v, info.url, now)
      }).immediate()
      this.friends.befriended(store.get(info.fingerprint)!, !existed)
      this.log.info('friend.added', { friend: info.url, fingerprint: info.fingerprint, videos: videos.length, by: 'making' })
      return { url: info.url, fingerprint: info.fingerprint, status: existed ? 'refreshed' : 'added', videos: videos.length }
    } catch (e) {
      return failed((e as Error).message)
    }
  }

  /** Accepts a waiting friend request: this pod presents itself to the requester, which makes them friends. */
  async accept(fingerprint: string): Promise<FriendingResult | undefined> {
    const request = this.friends.store.request(fingerprint)
    if (!request) return undefined
    const result = await this.befriend({ url: request.url, fingerprint })
    if (result.status === 'added' || result.status === 'refreshed') this.friends.store.removeRequest(fingerprint)
    return result
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
      this.videoRows.movePod(this.identity.fingerprint, this.config.url)
      this.friends.broadcast([{ type: 'pod.moved', data: { url: this.config.url } }])
    }
    store.setSetting('url', this.config.url)
    if (this.config.friends.pods.length && !store.setting('friendsMadeAt')) {
      const results = await this.makeFriends(this.config.friends.pods)
      // Pods that were all down are asked again at the next start.
      if (results.some((r) => r.status === 'added' || r.status === 'refreshed')) store.setSetting('friendsMadeAt', new Date(this.now()).toISOString())
    }
  }
}
