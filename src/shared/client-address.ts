/**
 * The client's address, for rate limits and for the tracker's peer lists: one rule for both;
 * and the block of addresses limits count it in.
 */
import { isIP } from 'node:net'

/** An IPv4 address in its IPv4-mapped IPv6 form (`::ffff:1.2.3.4`) as the plain one. */
function plainAddress(address: string): string {
  return address.startsWith('::ffff:') ? address.slice(7) : address
}

/**
 * The address of whoever sent a request. Without `trustProxy`, the TCP peer. With it, the
 * last valid `X-Forwarded-For` entry: the one our own reverse proxy appended (entries to its
 * left are whatever the client sent, so taking the first would let any client choose its
 * address: a fresh one per login guess, or anyone's in a swarm). Only real IP literals are
 * taken: a header such as `X-Forwarded-For: abc` must not become an address.
 */
export function clientAddress(trustProxy: boolean, forwardedFor: string | null | undefined, remoteAddress: string | undefined): string {
  if (trustProxy && forwardedFor) {
    const entries = forwardedFor.split(',')
    for (let i = entries.length - 1; i >= 0; i--) {
      const ip = entries[i]!.trim()
      if (isIP(ip)) return plainAddress(ip)
    }
  }
  return plainAddress(remoteAddress ?? '')
}

/**
 * What an address is limited as: an IPv4 address itself, an IPv6 address its /64, the block
 * one machine or home is given. Otherwise one host would have 2^64 addresses, each with its
 * own limit (logins, registrations, inbox bodies, a swarm's share) and each "fresh" for a
 * name over its limit.
 */
export function addressBlock(address: string): string {
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
