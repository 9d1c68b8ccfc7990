/**
 * The client's address, for rate limits and for the tracker's peer lists: one rule for both.
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
