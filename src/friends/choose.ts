/** The friend-choosing rule (docs/protocol.md, "Friend making"), as a pure function. */
import type { ListedPod } from '../federation/pod-info'

/**
 * Which pods to befriend: every asked pod that answered, plus every pod named in at least
 * half of their friend lists, never this pod itself. Pods are counted by fingerprint (a pod
 * that moved is still one pod); the URL kept is the one an asked pod reported, else the first
 * list's. With asked pods 1, 2, 3 listing [2,3,4,5], [3,5], [5]: 1, 2, 3 and 5, not 4.
 */
export function chooseFriends(answered: ListedPod[], lists: ListedPod[][], self: string): ListedPod[] {
  const chosen = new Map<string, ListedPod>()
  for (const p of answered) if (p.fingerprint !== self) chosen.set(p.fingerprint, p)
  const counts = new Map<string, { pod: ListedPod; n: number }>()
  for (const list of lists) {
    // A list naming a pod twice still counts once.
    for (const pod of new Map(list.map((p) => [p.fingerprint, p])).values()) {
      const c = counts.get(pod.fingerprint) ?? { pod, n: 0 }
      c.n++
      counts.set(pod.fingerprint, c)
    }
  }
  for (const { pod, n } of counts.values())
    if (n * 2 >= lists.length && pod.fingerprint !== self && !chosen.has(pod.fingerprint)) chosen.set(pod.fingerprint, pod)
  return [...chosen.values()]
}
