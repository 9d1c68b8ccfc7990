/**
 * The media playlist a copy keeps of a friend's stream (src/media/hls.ts, normalizedPlaylist):
 * whatever the origin named its file by (itself, or its bucket's presigned URLs), the copy
 * serves the playlist the origin stored, byte for byte; anything but byte ranges of the file
 * is refused. No processes, no network.
 */
import { describe, expect, test } from 'bun:test'
import { normalizedPlaylist } from '../../src/media/hls'
import { failure } from '../../src/shared/errors'

const FILE = '../../webseed/abc.480.mp4'

/** A playlist as ffmpeg writes it for a single-file fMP4 stream (the origin stores it naming its file `uri`). */
const playlist = (uri: string) =>
  [
    '#EXTM3U',
    '#EXT-X-VERSION:7',
    '#EXT-X-TARGETDURATION:2',
    '#EXT-X-MEDIA-SEQUENCE:0',
    '#EXT-X-PLAYLIST-TYPE:VOD',
    `#EXT-X-MAP:URI="${uri}",BYTERANGE="1353@0"`,
    '#EXTINF:2.000000,',
    '#EXT-X-BYTERANGE:124817@1353',
    uri,
    '#EXTINF:1.040000,',
    '#EXT-X-BYTERANGE:60000@126170',
    uri,
    '#EXT-X-ENDLIST',
    '',
  ].join('\n')

describe("a copy's media playlist", () => {
  test('is the one the origin stored, byte for byte, whether the origin named its own file or its bucket', () => {
    const stored = playlist(FILE)
    expect(normalizedPlaylist(stored, FILE, 186170)).toEqual({ ok: true, value: stored })
    const presigned = 'https://bucket.example/pods/a/videos/abc.480.mp4?X-Amz-Signature=0123&X-Amz-Expires=3600'
    expect(normalizedPlaylist(playlist(presigned), FILE, 186170)).toEqual({ ok: true, value: stored })
  })

  test('is refused when it names bytes beyond the file, another URL in a tag, nothing at all, or is not a playlist', () => {
    const refused = (message: string) => failure('upstream_failed', 'bad_playlist', message)
    expect(normalizedPlaylist(playlist(FILE), FILE, 186169)).toEqual(refused("the playlist names bytes 126170+60000, beyond the file's 186169"))
    const withKey = playlist(FILE).replace('#EXTINF:2.000000,', '#EXT-X-KEY:METHOD=AES-128,URI="https://collector.example/k"\n#EXTINF:2.000000,')
    expect(normalizedPlaylist(withKey, FILE, 186170)).toEqual(refused('the playlist has a line this pod does not serve (line 7)'))
    const noSegment = playlist(FILE).split('\n').filter((l) => !l.startsWith('#EXT-X-BYTERANGE')).join('\n')
    expect(normalizedPlaylist(noSegment, FILE, 186170)).toEqual(refused('the playlist names no segment'))
    expect(normalizedPlaylist('<html>not found</html>', FILE, 186170)).toEqual(refused('the playlist is not a whole HLS media playlist'))
  })
})
