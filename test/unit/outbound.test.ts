/**
 * The outbound client's pure helpers: pod URLs normalised or refused, public addresses told
 * from every other kind, JSON bodies read. (The client against real servers is
 * test/outbound.test.ts.)
 */
import { describe, expect, test } from 'bun:test'
import { checkPodUrl, isPublicAddress, parseJson } from '../../src/shared/outbound'

describe('pod URLs', () => {
  test('are normalised: lowercase scheme and host, no default port, no trailing slash', () => {
    expect(checkPodUrl('HTTP://Pod.Example.ORG:80/')).toEqual({ ok: true, value: 'http://pod.example.org' })
    expect(checkPodUrl('https://pod.example.org:443/videos//')).toEqual({ ok: true, value: 'https://pod.example.org/videos' })
    expect(checkPodUrl('https://pod.example.org:8443')).toEqual({ ok: true, value: 'https://pod.example.org:8443' })
    expect(checkPodUrl('http://[::1]:9000/')).toEqual({ ok: true, value: 'http://[::1]:9000' })
  })

  test('with another scheme, user info, a query or a fragment are refused', () => {
    for (const url of ['ftp://pod.example.org', 'file:///etc/passwd', 'pod.example.org', 'http://u:p@pod.example.org', 'http://u@pod.example.org',
      'http://pod.example.org/?a=1', 'http://pod.example.org/?', 'http://pod.example.org/#top', 'http://pod.example.org#'])
      expect(checkPodUrl(url).ok, url).toBe(false)
  })
})

test('public addresses are told from loopback, private, link-local, special and mapped ones', () => {
  const blocked = ['127.0.0.1', '127.255.0.9', '10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', '100.64.0.1', '100.127.255.255',
    '169.254.169.254', '0.0.0.0', '192.0.2.7', '198.18.0.1', '224.0.0.1', '255.255.255.255', '::', '::1', 'fe80::1', 'fe80::1%eth0',
    'fc00::1', 'fd12:3456::1', 'fec0::1', 'ff02::1', '::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:10.0.0.1', '::ffff:192.168.0.1',
    '64:ff9b::a00:1', '2001:db8::1', '2002:7f00:1::1', 'pod.example.org', '']
  const allowed = ['8.8.8.8', '1.1.1.1', '172.32.0.1', '100.128.0.1', '192.169.0.1', '2606:4700::1111', '2a01:4f8::1', '::ffff:8.8.8.8', '64:ff9b::808:808']
  expect(blocked.filter(isPublicAddress)).toEqual([])
  expect(allowed.filter((ip) => !isPublicAddress(ip))).toEqual([])
})

test('parseJson reads a JSON body, and gives undefined for anything else', () => {
  expect(parseJson(new TextEncoder().encode('{"a":[1]}'))).toEqual({ a: [1] })
  expect(parseJson(new TextEncoder().encode('<html>'))).toBeUndefined()
  expect(parseJson(new Uint8Array([0x7b, 0xff]))).toBeUndefined()
})
