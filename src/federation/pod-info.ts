/**
 * Reading other pods' public documents (docs/protocol.md, "The pod document"): the URL proof
 * of `friend.request` and `pod.moved`, and friend lists for friend making. Everything goes
 * through the pod's outbound client (src/shared/outbound.ts); what a hostile pod answers is
 * checked, and an error here never quotes its answer.
 */
import { fingerprintOf } from '../identity/keys'
import { fail, ok, type Result } from '../shared/errors'
import { checkPodUrl, parseJson, type Outbound } from '../shared/outbound'
import type { PodInfo } from './inbox'

/** A pod document is small; a larger answer is not one. */
const DOCUMENT_MAX_BYTES = 64 * 1024
/** Friend lists: up to about 4,000 friends. */
const FRIEND_LIST_MAX_BYTES = 1024 * 1024
/** Entries of a friend list that are read. */
const FRIEND_LIST_MAX = 4000

/**
 * Fetches and checks `GET {url}/api/v1/pod`: the key's thumbprint is the fingerprint, the
 * document names the very URL it was fetched from (normalised: a pod cannot prove one URL and
 * be stored under another), and it is not this pod. Fails with a message saying what failed.
 */
export async function fetchPodInfo(outbound: Outbound, url: string): Promise<Result<PodInfo, string>> {
  const checked = checkPodUrl(url)
  if (!checked.ok) return fail(`${url} is not a pod URL: ${checked.error}`)
  const base = checked.value
  const res = await outbound.get(`${base}/api/v1/pod`, { maxBytes: DOCUMENT_MAX_BYTES, accept: 'application/json' })
  if (!res.ok) return fail(`GET ${base}/api/v1/pod failed: ${res.error.message}`)
  if (res.value.status !== 200) return fail(`GET ${base}/api/v1/pod answered ${res.value.status}`)
  const body = parseJson(res.value.body) as Partial<PodInfo> | undefined
  if (!body || typeof body.fingerprint !== 'string' || !body.publicKey || typeof body.publicKey !== 'object' || typeof body.url !== 'string')
    return fail(`${base} is not a seedpod`)
  const named = checkPodUrl(body.url)
  if (!named.ok || named.value !== base) return fail(`${base} names another URL in its document`)
  if (outbound.isSelf(body.fingerprint)) return fail(`${base} is this pod`)
  const thumbprint = await fingerprintOf(body.publicKey).catch(() => undefined)
  if (thumbprint === undefined) return fail(`${base} announces an unusable key`)
  if (thumbprint !== body.fingerprint) return fail(`${base} announces a fingerprint that is not its key's`)
  return ok({ url: base, name: typeof body.name === 'string' ? body.name.slice(0, 200) : '', fingerprint: body.fingerprint, publicKey: body.publicKey })
}

/** A pod as friend lists name it. */
export interface ListedPod {
  url: string
  fingerprint: string
}

/** Fetches `GET {url}/api/v1/pod/friends`: the entries that look like pods, at most FRIEND_LIST_MAX. */
export async function fetchFriendList(outbound: Outbound, url: string): Promise<Result<ListedPod[], string>> {
  const res = await outbound.get(`${url}/api/v1/pod/friends`, { maxBytes: FRIEND_LIST_MAX_BYTES, accept: 'application/json' })
  if (!res.ok) return fail(`GET ${url}/api/v1/pod/friends failed: ${res.error.message}`)
  if (res.value.status !== 200) return fail(`GET ${url}/api/v1/pod/friends answered ${res.value.status}`)
  const body = parseJson(res.value.body) as { friends?: unknown } | undefined
  if (!Array.isArray(body?.friends)) return fail(`${url} gave no friend list`)
  const listed: ListedPod[] = []
  for (const f of body.friends.slice(0, FRIEND_LIST_MAX)) {
    const checked = typeof f?.url === 'string' && typeof f?.fingerprint === 'string' && f.fingerprint.length <= 100 ? checkPodUrl(f.url) : undefined
    if (checked?.ok) listed.push({ url: checked.value, fingerprint: f.fingerprint })
  }
  return ok(listed)
}
