/**
 * Compact peer lists (BEP 23 for IPv4, BEP 7 `peers6` for IPv6) without ipaddr.js.
 *
 * bittorrent-tracker builds them with string2compact, which formats every peer as "ip:port",
 * splits it again and runs it through ipaddr.js's regular expressions: measured at about 60%
 * of an HTTP announce's CPU on a 50-peer swarm. This does the same job on the `ip` strings
 * the tracker stored, and skips (rather than throws on) an address it cannot encode: upstream
 * throws from a timer callback, which takes the whole process down.
 */

/** Which peers go in which list: exactly upstream's tests (lib/common-node.js IPV4_RE, IPV6_RE). */
const IPV4_RE = /^[\d.]+$/
const IPV6_RE = /^[\da-fA-F:]+$/

/** Writes a dotted-quad IPv4 address at `at`; false when it is not exactly four numbers 0..255. */
function writeIPv4(ip: string, out: Uint8Array, at: number): boolean {
  let part = 0
  let value = 0
  let digits = 0
  for (let i = 0; i <= ip.length; i++) {
    const c = i < ip.length ? ip.charCodeAt(i) : 46 // a final '.' closes the last part
    if (c === 46) {
      if (digits === 0 || part > 3) return false
      out[at + part++] = value
      value = 0
      digits = 0
    } else {
      value = value * 10 + (c - 48)
      if (++digits > 3 || value > 255) return false
    }
  }
  return part === 4
}

/** Writes a hex-and-colons IPv6 address (with at most one `::`) at `at`; false when malformed. */
function writeIPv6(ip: string, out: Uint8Array, at: number): boolean {
  const gap = ip.indexOf('::')
  if (gap !== -1 && ip.indexOf('::', gap + 1) !== -1) return false
  const head = gap === -1 ? ip : ip.slice(0, gap)
  const tail = gap === -1 ? '' : ip.slice(gap + 2)
  const a = head === '' ? [] : head.split(':')
  const b = tail === '' ? [] : tail.split(':')
  if (gap === -1 ? a.length !== 8 : a.length + b.length > 7) return false
  const groups = [...a, ...new Array<string>(8 - a.length - b.length).fill('0'), ...b]
  for (let g = 0; g < 8; g++) {
    const s = groups[g]!
    if (s.length === 0 || s.length > 4) return false
    const v = parseInt(s, 16)
    out[at + g * 2] = v >> 8
    out[at + g * 2 + 1] = v & 0xff
  }
  return true
}

/** The peers' IPv4 entries (6 bytes each) and IPv6 entries (18 bytes each), in the given order. */
export function compactPeers(peers: ReadonlyArray<{ ip: string; port: number }>): { peers: Uint8Array; peers6: Uint8Array } {
  const v4 = new Uint8Array(peers.length * 6)
  const v6 = new Uint8Array(peers.length * 18)
  let n4 = 0
  let n6 = 0
  for (const { ip, port } of peers) {
    if (!(port > 0 && port < 65536)) continue
    if (IPV4_RE.test(ip)) {
      if (!writeIPv4(ip, v4, n4)) continue
      v4[n4 + 4] = port >> 8
      v4[n4 + 5] = port & 0xff
      n4 += 6
    } else if (IPV6_RE.test(ip)) {
      if (!writeIPv6(ip, v6, n6)) continue
      v6[n6 + 16] = port >> 8
      v6[n6 + 17] = port & 0xff
      n6 += 18
    }
  }
  return { peers: v4.subarray(0, n4), peers6: v6.subarray(0, n6) }
}
