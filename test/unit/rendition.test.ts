/**
 * The player's choice of rendition (public/player/buffer/rendition.ts) and the levels it
 * reads from a video's JSON (public/player/video.ts), with no browser: the levels Auto may
 * use (not one whose keyframes are off the grid), the level it starts with for a screen, the
 * Quality menu's order, and every pod that serves each stream.
 */
import { describe, expect, test } from 'bun:test'
import { autoBounds, menuOrder, startLevel, type Choosable } from '../../public/player/buffer/rendition'
import { levelsOf } from '../../public/player/video'
import type { Video } from '../../src/videos/model'

/** Levels in hls.js's order (by bit rate): heights, `!` for one not aligned. */
const levels = (...spec: (number | `${number}!`)[]): Choosable[] => spec.map((h) => ({ height: Number(String(h).replace('!', '')), aligned: !String(h).endsWith('!') }))

describe('the levels Auto may use', () => {
  test('every level when all are aligned', () => {
    expect(autoBounds(levels(144, 240, 480, 720))).toEqual({ min: 0, max: 3 })
  })

  test('an original off the grid, on top: Auto stays below it', () => {
    expect(autoBounds(levels(144, 240, 480, '720!'))).toEqual({ min: 0, max: 2 })
  })

  test('one off the grid at the bottom: Auto stays above it', () => {
    expect(autoBounds(levels('720!', 144, 240))).toEqual({ min: 1, max: 2 })
  })

  test('one off the grid in the middle: Auto keeps to the levels below it (hls.js switches within one range)', () => {
    expect(autoBounds(levels(144, '720!', 480))).toEqual({ min: 0, max: 0 })
  })

  test('none aligned (nothing to keep in step with): every level', () => {
    expect(autoBounds(levels('480!', '720!'))).toEqual({ min: 0, max: 1 })
  })
})

describe('the level playback starts with', () => {
  test('the lowest at least 240 lines high, on a large screen as on a phone', () => {
    expect(startLevel(levels(144, 240, 480, 720), 1080)).toBe(1)
    expect(startLevel(levels(144, 240, 480, 720), 400)).toBe(1)
  })

  test('a player smaller than 240 device pixels starts with the level that fills it', () => {
    expect(startLevel(levels(144, 240, 480), 140)).toBe(0)
    expect(startLevel(levels(144, 240, 480), 200)).toBe(1)
  })

  test('a player not laid out yet (0 px) starts as a large one', () => {
    expect(startLevel(levels(144, 240, 480), 0)).toBe(1)
  })

  test('with only smaller levels, the highest of them', () => {
    expect(startLevel(levels(144, 180), 1080)).toBe(1)
  })

  test("the quick start's level (its segments are in the browser's cache), unless Auto may not use it", () => {
    expect(startLevel(levels(144, 240, 480, 720), 1080, 2)).toBe(2)
    expect(startLevel(levels(144, 240, '480!'), 1080, 2)).toBe(1)
  })

  test('never a level off the grid: a 240-line original that is not aligned gives way to an aligned one', () => {
    expect(startLevel(levels(144, '240!', 360), 1080)).toBe(0)
  })
})

test('the Quality menu lists the levels highest first', () => {
  expect(menuOrder(levels(144, 480, 240, 720))).toEqual([3, 1, 2, 0])
})

describe("a video's streams as levels", () => {
  const base = {
    id: 'v1',
    infoHash: 'a'.repeat(40),
    magnetUri: `magnet:?xt=urn:btih:${'a'.repeat(40)}&tr=${encodeURIComponent('ws://origin/tracker/socket')}&xs=${encodeURIComponent('http://copy/static/torrents/a.torrent')}&tr=${encodeURIComponent('ws://copy/tracker/socket')}`,
    torrentUrl: 'http://origin/static/torrents/a.torrent',
    webseedUrls: ['http://origin/static/webseed/v1.mp4', 'http://copy/static/webseed/v1.mp4'],
  }
  const stream = { infoHash: 'b'.repeat(40), size: 1000, width: 426, height: 240, bandwidth: 400_000, rendition: 240 }

  test('every pod that serves a stream, its origin first, from the plural fields', () => {
    const video = {
      ...base,
      streams: [
        {
          ...stream,
          playlistUrls: ['http://origin/static/hls/v1/240.m3u8', 'http://copy/static/hls/v1/240.m3u8'],
          webseedUrls: ['http://origin/static/webseed/v1.240.mp4', 'http://copy/static/webseed/v1.240.mp4'],
          torrentUrls: ['http://origin/static/torrents/b.torrent', 'http://copy/static/torrents/b.torrent'],
          // The singular fields are the origin's: no repeats.
          playlistUrl: 'http://origin/static/hls/v1/240.m3u8',
        },
      ],
    } as unknown as Video
    const [level] = levelsOf(video)
    expect(level).toMatchObject({
      label: '240p',
      aligned: true,
      playlistUrls: ['http://origin/static/hls/v1/240.m3u8', 'http://copy/static/hls/v1/240.m3u8'],
      webseedUrls: ['http://origin/static/webseed/v1.240.mp4', 'http://copy/static/webseed/v1.240.mp4'],
      torrentUrls: ['http://origin/static/torrents/b.torrent', 'http://copy/static/torrents/b.torrent'],
      trackers: ['ws://origin/tracker/socket', 'ws://copy/tracker/socket'],
    })
  })

  test("a pod of an earlier release: the singular fields; the original's stream is served by the original's copies too", () => {
    const video = {
      ...base,
      streams: [
        { ...stream, playlistUrl: 'http://origin/static/hls/v1/240.m3u8', webseedUrl: 'http://origin/static/webseed/v1.240.mp4', torrentUrl: 'http://origin/static/torrents/b.torrent' },
        { ...stream, rendition: 0, height: 720, width: 1280, infoHash: 'a'.repeat(40), aligned: false, playlistUrl: 'http://origin/static/hls/v1/original.m3u8', webseedUrl: 'http://origin/static/webseed/v1.mp4', torrentUrl: 'http://origin/static/torrents/a.torrent' },
        // A stream without a playlist cannot be played by hls.js: left out.
        { ...stream, rendition: 144, height: 144 },
      ],
    } as unknown as Video
    const [low, original, ...rest] = levelsOf(video)
    expect(rest).toEqual([])
    expect(low).toMatchObject({ playlistUrls: ['http://origin/static/hls/v1/240.m3u8'], webseedUrls: ['http://origin/static/webseed/v1.240.mp4'], torrentUrls: ['http://origin/static/torrents/b.torrent'] })
    expect(original).toMatchObject({
      label: 'Original (720p)',
      aligned: false,
      webseedUrls: ['http://origin/static/webseed/v1.mp4', 'http://copy/static/webseed/v1.mp4'],
      torrentUrls: ['http://origin/static/torrents/a.torrent', 'http://copy/static/torrents/a.torrent'],
    })
  })

  test('a video without streams has no levels', () => {
    expect(levelsOf(base as unknown as Video)).toEqual([])
  })
})
