/**
 * Torrents for published videos: a single-file .torrent with the pod's tracker(s) and web
 * seed URL(s), its info hash, and a magnet link that carries everything a client needs to
 * start without the .torrent (xs), without peers (ws) and to find peers (tr).
 */
import { statSync } from 'node:fs'
import { lazyImport } from '../app/lazy'
import { DomainError, failure, ok, type Result } from '../shared/errors'
// parse-torrent and create-torrent (src/app/lazy/create-torrent.ts) ship no TypeScript types;
// the small part of their API we use is typed below.
// @ts-ignore -- untyped module (kept as ts-ignore, not expect-error, in case types appear)
import parseTorrentUntyped from 'parse-torrent'
// @ts-ignore -- untyped module, as above
import { toTorrentFile as toTorrentFileUntyped } from 'parse-torrent'

interface CreateTorrentOptions {
  name: string
  announceList: string[][]
  urlList: string[]
  pieceLength: number
  createdBy?: string
  creationDate?: Date
  comment?: string
  onProgress?: (hashed: number, total: number) => void
}
type CreateTorrent = (input: string, opts: CreateTorrentOptions, cb: (err: Error | null, torrent?: Uint8Array) => void) => void
interface ParsedTorrent {
  infoHash: string
  name?: string
  files?: unknown[]
  length?: number
  announce?: string[]
  urlList?: string[]
  pieceLength?: number
  /** SHA-1 of each piece, hex. */
  pieces?: string[]
}

const parseTorrent = parseTorrentUntyped as (torrentId: Uint8Array) => Promise<ParsedTorrent>
const toTorrentFile = toTorrentFileUntyped as (parsed: ParsedTorrent) => Uint8Array

/** What `makeTorrent` needs. */
export interface MakeTorrentOptions {
  /** Path of the (single) file to hash; it is streamed, never read whole into memory. */
  file: string
  /** The torrent's name (`info.name`, and `dn` in the magnet): the file name clients save as. */
  name: string
  /** Tracker URLs (`announce-list`, one tier each, and `tr` in the magnet). May be empty. */
  announce: string[]
  /**
   * Web seed URLs (BEP 19 `url-list`, and `ws` in the magnet). Give the full URL of the file:
   * BEP 19 says a URL ending in `/` gets the name appended, but WebTorrent 3 does not do
   * that for single-file torrents and would request the directory URL itself.
   */
  urlList: string[]
  /** Override the piece length (a power of two, at least 16 KiB). Default: `choosePieceLength`. */
  pieceLength?: number
  /** Creation date written in the .torrent (does not change the info hash). Default: now. */
  creationDate?: Date
  /** Progress while hashing: bytes hashed so far and the total. */
  onProgress?: (hashed: number, total: number) => void
}

/** What `makeTorrent` produced. */
export interface MadeTorrent {
  /** The v1 info hash, 40 lowercase hex digits. */
  infoHash: string
  /** The bencoded .torrent file. */
  torrent: Uint8Array
  pieceLength: number
  /** Size of the file in bytes. */
  length: number
}

const KiB = 1024
const MiB = 1024 * KiB

/**
 * The piece length for a file of `size` bytes, tuned for streaming video:
 * - A player can only show bytes of a piece once the whole piece has arrived and its hash
 *   checks out, so small pieces mean a fast first frame and fast seeks: 256 KiB arrives in
 *   well under a second even on a slow link. (libtorrent-based clients also ask a web seed
 *   for whole pieces per HTTP request; WebTorrent asks per 16 KiB block either way.)
 * - Each piece costs 20 bytes in the .torrent (which every viewer downloads first), one bit
 *   in every peer's bitfield messages and one request on the wire; so bigger files get bigger
 *   pieces to keep the count around a thousand to a few thousand.
 * We never go past 1 MiB: beyond that, startup and seek latency suffer for little gain
 * (a 4 GiB file still has only 4096 pieces, an 80 KiB .torrent).
 */
export function choosePieceLength(size: number): number {
  if (size <= 128 * MiB) return 256 * KiB // up to 512 pieces
  if (size <= 512 * MiB) return 512 * KiB // up to 1024 pieces
  return 1 * MiB
}

/**
 * Hashes `file` into a single-file torrent with the given trackers and web seeds, and
 * returns its info hash and the .torrent bytes (magnet links are src/shared/urls.ts's). The info hash depends only on the
 * name, the piece length and the bytes, so the same file gives the same hash every time.
 */
export async function makeTorrent(opts: MakeTorrentOptions): Promise<MadeTorrent> {
  const st = statSync(opts.file) // throws ENOENT with the path: clearer than create-torrent's
  if (!st.isFile()) throw new DomainError('internal', 'not_a_file', `makeTorrent: not a file: ${opts.file}`)
  if (!opts.name || /[/\\]/.test(opts.name)) throw new DomainError('internal', 'bad_name', `makeTorrent: bad name ${JSON.stringify(opts.name)}`)
  const pieceLength = opts.pieceLength ?? choosePieceLength(st.size)
  if (!Number.isInteger(pieceLength) || pieceLength < 16 * KiB || (pieceLength & (pieceLength - 1)) !== 0) {
    throw new DomainError('internal', 'bad_piece_length', `makeTorrent: piece length must be a power of two >= 16 KiB, got ${pieceLength}`)
  }

  // create-torrent streams the path through fs.createReadStream, a piece at a time.
  // announceList is always passed (even empty): without it create-torrent adds public
  // default trackers, which would leak every pod's videos to third parties.
  const createTorrent = (await lazyImport('createTorrent')).default as CreateTorrent
  const torrent = await new Promise<Uint8Array>((resolve, reject) => {
    createTorrent(
      opts.file,
      {
        name: opts.name,
        announceList: opts.announce.map((url) => [url]),
        urlList: opts.urlList,
        pieceLength,
        createdBy: 'seedpod',
        creationDate: opts.creationDate ?? new Date(),
        ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
      },
      (err, buf) => (err || !buf ? reject(err ?? new Error('create-torrent gave nothing')) : resolve(new Uint8Array(buf))),
    )
  })
  const parsed = await parseTorrent(torrent)
  return { infoHash: parsed.infoHash, torrent, pieceLength, length: parsed.length ?? st.size }
}

/**
 * Reads a .torrent someone else made, keeping only what its info hash vouches for: its info
 * hash, length, name and number of files are checked by the caller, and its trackers and
 * web seeds are replaced by `sources` (the URLs of a pod this one trusts to reach), so a
 * hostile file cannot send this pod's BitTorrent client anywhere else. Throws on a file that
 * is not a torrent.
 */
export async function retargetTorrent(
  file: Uint8Array,
  sources: { announce: string[]; urlList: string[] },
): Promise<{ torrent: object; infoHash: string; length: number; name: string; files: number }> {
  const parsed = await parseTorrent(file)
  if (typeof parsed.length !== 'number') throw new DomainError('invalid', 'not_a_torrent', 'the torrent has no length')
  const torrent = { ...parsed, announce: sources.announce, urlList: sources.urlList }
  return { torrent, infoHash: parsed.infoHash, length: parsed.length, name: parsed.name ?? '', files: parsed.files?.length ?? 0 }
}

/**
 * A .torrent with other web seeds (`url-list`); its info dictionary, and so its info hash,
 * is kept byte for byte.
 */
export async function withUrlList(file: Uint8Array, urlList: string[]): Promise<Uint8Array> {
  return new Uint8Array(toTorrentFile({ ...(await parseTorrent(file)), urlList }))
}

/** What a .torrent's info hash vouches for about its (single) file: its length and each piece's SHA-1. */
export interface PieceHashes {
  infoHash: string
  length: number
  pieceLength: number
  /** SHA-1 of each piece, hex; piece i is bytes `i * pieceLength` up to the next or the end. */
  pieces: string[]
}

/**
 * The piece hashes of a .torrent someone else served (`not_a_torrent`: not a torrent, or one
 * whose pieces do not cover its length), to check a file's bytes against.
 */
export async function pieceHashesOf(file: Uint8Array): Promise<Result<PieceHashes>> {
  const refused = (message: string) => failure('upstream_failed', 'not_a_torrent', message)
  let parsed: ParsedTorrent
  try {
    parsed = await parseTorrent(file)
  } catch (e) {
    return refused(`not a torrent: ${(e as Error).message}`)
  }
  const { infoHash, length, pieceLength, pieces } = parsed
  if (typeof length !== 'number' || !Number.isSafeInteger(pieceLength) || pieceLength! <= 0 || !Array.isArray(pieces)) return refused('the torrent has no length or pieces')
  if (pieces.length !== Math.ceil(length / pieceLength!)) return refused(`the torrent has ${pieces.length} pieces for ${length} bytes of ${pieceLength}`)
  return ok({ infoHash, length, pieceLength: pieceLength!, pieces })
}
