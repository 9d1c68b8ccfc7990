/**
 * One check of a mirror (checks.ts): a few pieces of its file, chosen at random, fetched from
 * its web seed as byte ranges, each exactly one piece long, and compared with the SHA-1 that
 * the torrent this pod trusts gives for that piece. The trusted torrent is this pod's own for
 * its own videos and the copies it keeps, else its origin's, fetched once, checked against the
 * info hash the index has from the origin, and kept (known-store.ts) while mirrors of the
 * file are known: re-checks need no origin, and this pod serves it to viewers.
 */
import { createHash, randomInt } from 'node:crypto'
import type { Outbound } from '../shared/outbound'
import { torrentUrl, webseedUrl } from '../shared/urls'
import { originalFile, streamFile, torrentKey } from '../storage/keys'
import { pieceHashesOf, type PieceHashes } from '../torrents/torrent-file'
import type { VideoStore } from '../videos/store'
import type { CheckOutcome } from './checks'
import type { DueMirror, KnownMirrors } from './known-store'

/** A .torrent is small; a larger answer is not one (as for a copy's, origin.ts). */
const TORRENT_MAX_BYTES = 4 * 1024 * 1024
/**
 * Pieces larger than this are not fetched (a check's memory is a piece at a time, a few
 * checks at once): this pod's torrents have pieces of 1 MiB at most (src/torrents/torrent-file.ts).
 */
const MAX_PIECE_BYTES = 16 * 1024 * 1024
/** Parsed trusted torrents kept in memory (each file's mirrors are checked one after the other). */
const PARSED_KEPT = 32

/** What a check runs on. */
export interface ProofDeps {
  videoRows: VideoStore
  known: KnownMirrors
  outbound: Outbound
  selfFingerprint: string
  /** Whether this pod keeps a ready copy of the file with this info hash. */
  keepsCopy(infoHash: string): boolean
  /** A small object of this pod's store (an own file's or a copy's .torrent). */
  readStored(key: string): Promise<Uint8Array | undefined>
  /** Pieces per check, and bytes a pod may cost in an hour (config `redundancy.*`). */
  pieces: number
  bytesPerHour: number
  /** A random integer in [0, n): unpredictable, so that a mirror cannot keep just the pieces it will be asked for. */
  random?: (n: number) => number
}

/** The file of the video a mirror says it keeps, as the index has it; undefined when it is no longer the video's. */
function fileOf(videoRows: VideoStore, m: DueMirror): { name: string; size: number | null; origin: { url: string; fingerprint: string } } | undefined {
  const row = videoRows.row(m.video)
  if (!row) return undefined
  const origin = { url: row.pod_url, fingerprint: row.pod_fingerprint }
  if (m.rendition === null) return Buffer.from(row.info_hash).toString('hex') === m.infoHash ? { name: originalFile(m.video, row.ext), size: row.size, origin } : undefined
  const stream = videoRows.streams(m.video).find((s) => s.rendition === m.rendition && s.infoHash === m.infoHash)
  return stream && { name: streamFile(m.video, stream.rendition), size: stream.size, origin }
}

/** The byte range of piece `i`. */
const pieceRange = (t: PieceHashes, i: number) => ({ start: i * t.pieceLength, end: Math.min(t.length, (i + 1) * t.pieceLength) - 1 })

/** `count` distinct piece indexes of `n`, at random. */
function pickPieces(n: number, count: number, random: (n: number) => number): number[] {
  const picked = new Set<number>()
  while (picked.size < Math.min(n, count)) picked.add(random(n))
  return [...picked].sort((a, b) => a - b)
}

/** The checks of mirrors' files against trusted torrents. */
export class MirrorProofs {
  private readonly parsed = new Map<string, PieceHashes>()

  constructor(private readonly deps: ProofDeps) {}

  /** Checks one mirror's file, fetching at most `allowance` bytes from it. */
  async check(m: DueMirror, allowance: number): Promise<CheckOutcome> {
    const { deps } = this
    if (m.fingerprint === deps.selfFingerprint) return deps.keepsCopy(m.infoHash) ? { kind: 'own' } : { kind: 'gone', reason: 'this pod keeps no copy of the file' }
    const file = fileOf(deps.videoRows, m)
    if (!file) return { kind: 'gone', reason: 'the file is no longer one of the video' }
    const trusted = await this.trusted(m.infoHash, file.origin)
    if (typeof trusted === 'string') return { kind: 'later', reason: trusted }
    if (file.size !== null && trusted.length !== file.size) return { kind: 'later', reason: `the trusted torrent has ${trusted.length} bytes, the index ${file.size}` }
    if (trusted.pieceLength > MAX_PIECE_BYTES) return { kind: 'failed', bytes: 0, reason: `its pieces of ${trusted.pieceLength} bytes are more than a check fetches (${MAX_PIECE_BYTES})` }
    const pieces = pickPieces(trusted.pieces.length, deps.pieces, deps.random ?? randomInt)
    const cost = pieces.reduce((n, i) => n + pieceRange(trusted, i).end - pieceRange(trusted, i).start + 1, 0)
    if (cost > deps.bytesPerHour) return { kind: 'failed', bytes: 0, reason: `its pieces (${cost} bytes) are more than a pod's checks may fetch in an hour` }
    if (cost > allowance) return { kind: 'over_budget', cost }
    return this.fetchPieces(webseedUrl(m.podUrl, file.name), trusted, pieces)
  }

  /**
   * The torrent trusted for a file, parsed; a string says why there is none now. Read from this
   * pod's store or table, else fetched from the origin and kept only if its info hash is the file's.
   */
  private async trusted(infoHash: string, origin: { url: string; fingerprint: string }): Promise<PieceHashes | string> {
    const known = this.parsed.get(infoHash)
    if (known) return known
    const { deps } = this
    const local = origin.fingerprint === deps.selfFingerprint || deps.keepsCopy(infoHash)
    let bytes = local ? await deps.readStored(torrentKey(infoHash)) : deps.known.trustedTorrent(infoHash)
    if (!bytes && local) return "this pod's .torrent of the file cannot be read now"
    const fetched = !bytes
    if (!bytes) {
      const res = await deps.outbound.get(torrentUrl(origin.url, infoHash), { maxBytes: TORRENT_MAX_BYTES, accept: 'application/x-bittorrent' })
      if (!res.ok) return `the origin's .torrent could not be fetched: ${res.error.message}`
      if (res.value.status !== 200) return `the origin answered ${res.value.status} for the .torrent`
      bytes = res.value.body
    }
    const hashes = await pieceHashesOf(bytes)
    if (!hashes.ok) return hashes.error.message
    if (hashes.value.infoHash !== infoHash) return 'the .torrent is of another info hash'
    if (fetched) deps.known.keepTrustedTorrent(infoHash, bytes)
    this.parsed.set(infoHash, hashes.value)
    if (this.parsed.size > PARSED_KEPT) this.parsed.delete(this.parsed.keys().next().value!)
    return hashes.value
  }

  /** Fetches each piece from the web seed and checks its hash; the first that fails fails the check. */
  private async fetchPieces(url: string, t: PieceHashes, pieces: number[]): Promise<CheckOutcome> {
    let bytes = 0
    for (const i of pieces) {
      const range = pieceRange(t, i)
      const size = range.end - range.start + 1
      bytes += size
      const body = await this.fetchRange(url, range, size, range.start === 0 && size === t.length)
      if (typeof body === 'string') return { kind: 'failed', bytes, reason: `piece ${i}: ${body}` }
      if (createHash('sha1').update(body).digest('hex') !== t.pieces[i]) return { kind: 'failed', bytes, reason: `piece ${i} is not the torrent's` }
    }
    return { kind: 'proven', bytes }
  }

  /**
   * The bytes of a range of a web seed; a string says why there are none. A redirect (a mirror
   * whose files are in a bucket) is followed once, to where a viewer's browser would go.
   */
  private async fetchRange(url: string, range: { start: number; end: number }, size: number, whole: boolean, hops = 1): Promise<Uint8Array | string> {
    const res = await this.deps.outbound.get(url, { range, maxBytes: size, accept: '*/*' })
    if (!res.ok) {
      if (res.error.reason === 'redirect' && res.error.location && hops > 0) return this.fetchRange(res.error.location, range, size, whole, hops - 1)
      return res.error.message
    }
    // A 200 is the whole file: one only when the range is the whole file.
    if (res.value.status !== 206 && !(whole && res.value.status === 200)) return `answered ${res.value.status}`
    if (res.value.body.length !== size) return `${res.value.body.length} bytes for a piece of ${size}`
    return res.value.body
  }
}
