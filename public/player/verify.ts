/**
 * Checking a .torrent before it is used: its info hash (SHA-1 of its bencoded `info`
 * dictionary, BEP 3) must be the one the video names. A .torrent comes from whichever pod
 * answers first (the origin, or a pod that keeps a copy); one that names other pieces, other
 * web seeds or another file would otherwise be trusted as the video. With the right info hash,
 * every piece WebTorrent accepts, from peers or web seeds, is checked against its hashes.
 */

/** The end (exclusive) of the bencoded value that starts at `i`. */
function skip(b: Uint8Array, i: number): number {
  const c = b[i]
  if (c === 0x69) return b.indexOf(0x65, i) + 1 // i<digits>e
  if (c === 0x6c || c === 0x64) {
    // l<values>e, d<key value ...>e
    i++
    while (b[i] !== 0x65) {
      if (i >= b.length) throw new Error('truncated')
      i = skip(b, i)
    }
    return i + 1
  }
  // <length>:<bytes>
  const colon = b.indexOf(0x3a, i)
  if (colon < 0) throw new Error('not bencoded')
  const n = Number(new TextDecoder().decode(b.subarray(i, colon)))
  if (!Number.isInteger(n) || n < 0) throw new Error('not bencoded')
  return colon + 1 + n
}

/** The info hash (hex, lower case) of a .torrent file; undefined if it is not one. */
export async function infoHashOf(torrent: Uint8Array): Promise<string | undefined> {
  try {
    if (torrent[0] !== 0x64) return undefined
    let i = 1
    while (i < torrent.length && torrent[i] !== 0x65) {
      const keyEnd = skip(torrent, i)
      const key = new TextDecoder().decode(torrent.subarray(torrent.indexOf(0x3a, i) + 1, keyEnd))
      const valueEnd = skip(torrent, keyEnd)
      if (key === 'info') {
        const digest = await crypto.subtle.digest('SHA-1', torrent.slice(keyEnd, valueEnd))
        return [...new Uint8Array(digest)].map((x) => x.toString(16).padStart(2, '0')).join('')
      }
      i = valueEnd
    }
    return undefined
  } catch {
    return undefined
  }
}
