/**
 * The torrents' pure parts: .torrent files of a small file checked with the reference parser
 * (parse-torrent), piece lengths, Range parsing of the web seed and compact peer lists of the
 * tracker. (The web seed served over HTTP and real clients are test/webseed.test.ts and
 * test/tracker-http.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { randomBytes } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
// @ts-ignore -- untyped module
import parseTorrent from 'parse-torrent'
import { compactPeers } from '../../src/torrents/compact'
import { choosePieceLength, makeTorrent } from '../../src/torrents/torrent-file'
import { parseRange } from '../../src/torrents/webseed'
import { removeTempDirs, tempDir } from '../helpers/temp'

afterAll(removeTempDirs)

/** 1 MiB of random bytes. */
let blob: string
beforeAll(() => {
  blob = join(tempDir(), 'blob.bin')
  writeFileSync(blob, new Uint8Array(randomBytes(1024 * 1024)))
})

describe('makeTorrent', () => {
  test('no trackers means none (no public defaults), and a different name changes the hash', async () => {
    const a = await makeTorrent({ file: blob, name: 'blob.bin', announce: [], urlList: [], pieceLength: 32 * 1024 })
    const parsed = await parseTorrent(a.torrent)
    expect(parsed.announce).toEqual([])
    expect(parsed.pieceLength).toBe(32 * 1024)
    expect(parsed.pieces.length).toBe(32)
    const b = await makeTorrent({ file: blob, name: 'other.bin', announce: [], urlList: [], pieceLength: 32 * 1024 })
    expect(b.infoHash).not.toBe(a.infoHash)
    await expect(makeTorrent({ file: blob, name: 'x', announce: [], urlList: [], pieceLength: 1000 })).rejects.toThrow(/power of two/)
  })

  test('piece length grows with the file, from 256 KiB to 1 MiB', () => {
    expect(choosePieceLength(2_000_000)).toBe(256 * 1024)
    expect(choosePieceLength(300 * 1024 * 1024)).toBe(512 * 1024)
    expect(choosePieceLength(4 * 1024 ** 3)).toBe(1024 * 1024)
  })
})

describe('parseRange', () => {
  test('single ranges, suffixes, open ends and clamping', () => {
    expect(parseRange(null, 100)).toEqual({ kind: 'none' })
    expect(parseRange('bytes=0-0', 100)).toEqual({ kind: 'range', start: 0, end: 0 })
    expect(parseRange('bytes=10-', 100)).toEqual({ kind: 'range', start: 10, end: 99 })
    expect(parseRange('bytes=-10', 100)).toEqual({ kind: 'range', start: 90, end: 99 })
    expect(parseRange('bytes=-1000', 100)).toEqual({ kind: 'range', start: 0, end: 99 })
    expect(parseRange('bytes=50-1000', 100)).toEqual({ kind: 'range', start: 50, end: 99 })
    expect(parseRange('BYTES = 1-2', 100)).toEqual({ kind: 'range', start: 1, end: 2 })
  })

  test('unsatisfiable versus malformed', () => {
    expect(parseRange('bytes=100-', 100)).toEqual({ kind: 'unsatisfiable' })
    expect(parseRange('bytes=-0', 100)).toEqual({ kind: 'unsatisfiable' })
    expect(parseRange('bytes=0-', 0)).toEqual({ kind: 'unsatisfiable' })
    expect(parseRange('bytes=5-3', 100)).toEqual({ kind: 'none' })
    expect(parseRange('bytes=abc', 100)).toEqual({ kind: 'none' })
    expect(parseRange('bytes=-', 100)).toEqual({ kind: 'none' })
    expect(parseRange('items=0-1', 100)).toEqual({ kind: 'none' })
    expect(parseRange('bytes=0-1,x', 100)).toEqual({ kind: 'none' })
  })

  test('several ranges: the first satisfiable one', () => {
    expect(parseRange('bytes=0-9, 20-29', 100)).toEqual({ kind: 'range', start: 0, end: 9 })
    expect(parseRange('bytes=500-600,20-29', 100)).toEqual({ kind: 'range', start: 20, end: 29 })
  })
})

describe('compact peer lists', () => {
  test('match BEP 23 / BEP 7 and skip what cannot be encoded', () => {
    const { peers, peers6 } = compactPeers([
      { ip: '127.0.0.1', port: 6881 },
      { ip: '2001:db8::7', port: 443 },
      { ip: '::', port: 1 },
      { ip: '1:2:3:4:5:6:7:8', port: 65535 },
      { ip: '256.1.1.1', port: 80 },
      { ip: '1.2.3', port: 80 },
      { ip: '1::2::3', port: 80 },
      { ip: 'abc', port: 80 },
      { ip: '10.0.0.1', port: 0 },
    ])
    expect([...peers]).toEqual([127, 0, 0, 1, 0x1a, 0xe1])
    expect(Buffer.from(peers6).toString('hex')).toBe(
      '20010db8000000000000000000000007' + '01bb' + '00'.repeat(16) + '0001' + '00010002000300040005000600070008' + 'ffff',
    )
  })
})
