/**
 * Reading other pods' public documents (docs/protocol.md, "The pod document"): the URL proof
 * of `friend.request` and `pod.moved`, and friend lists for friend making. Everything goes
 * through the pod's outbound client (src/shared/outbound.ts); what a hostile pod answers is
 * checked, and an error here never quotes its answer.
 */
import { fingerprintOf } from '../identity/keys'
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
 * be stored under another), and it is not this pod. Throws an Error saying what failed.
 */
export async function fetchPodInfo(outbound: Outbound, url: string): Promise<PodInfo> {
  const base = checkPodUrl(url)
  if (!base.ok) throw new Error(`${url} is not a pod URL: ${base.reason}`)
  const res = await outbound.get(`${base.url}/api/v1/pod`, { maxBytes: DOCUMENT_MAX_BYTES, accept: 'application/json' })
  if (!res.ok) throw new Error(`GET ${base.url}/api/v1/pod failed: ${res.message}`)
  if (res.status !== 200) throw new Error(`GET ${base.url}/api/v1/pod answered ${res.status}`)
  const body = parseJson(res.body) as Partial<PodInfo> | undefined
  if (!body || typeof body.fingerprint !== 'string' || !body.publicKey || typeof body.publicKey !== 'object' || typeof body.url !== 'string')
    throw new Error(`${base.url} is not a seedpod`)
  const named = checkPodUrl(body.url)
  if (!named.ok || named.url !== base.url) throw new Error(`${base.url} names another URL in its document`)
  if (outbound.isSelf(body.fingerprint)) throw new Error(`${base.url} is this pod`)
  let thumbprint: string
  try {
    thumbprint = await fingerprintOf(body.publicKey)
  } catch {
    throw new Error(`${base.url} announces an unusable key`)
  }
  if (thumbprint !== body.fingerprint) throw new Error(`${base.url} announces a fingerprint that is not its key's`)
  return { url: base.url, name: typeof body.name === 'string' ? body.name.slice(0, 200) : '', fingerprint: body.fingerprint, publicKey: body.publicKey }
}

/** A pod as friend lists name it. */
export interface ListedPod {
  url: string
  fingerprint: string
}

/** Fetches `GET {url}/api/v1/pod/friends`: the entries that look like pods, at most FRIEND_LIST_MAX. */
export async function fetchFriendList(outbound: Outbound, url: string): Promise<ListedPod[]> {
  const res = await outbound.get(`${url}/api/v1/pod/friends`, { maxBytes: FRIEND_LIST_MAX_BYTES, accept: 'application/json' })
  if (!res.ok) throw new Error(`GET ${url}/api/v1/pod/friends failed: ${res.message}`)
  if (res.status !== 200) throw new Error(`GET ${url}/api/v1/pod/friends answered ${res.status}`)
  const body = parseJson(res.body) as { friends?: unknown } | undefined
  if (!Array.isArray(body?.friends)) throw new Error(`${url} gave no friend list`)
  const listed: ListedPod[] = []
  for (const f of body.friends.slice(0, FRIEND_LIST_MAX)) {
    const checked = typeof f?.url === 'string' && typeof f?.fingerprint === 'string' && f.fingerprint.length <= 100 ? checkPodUrl(f.url) : undefined
    if (checked?.ok) listed.push({ url: checked.url, fingerprint: f.fingerprint })
  }
  return listed
}
