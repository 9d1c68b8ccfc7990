/**
 * Configuration: defaults, the file < environment < flags order, validation and freezing.
 * (What `seedpod serve` does with a bad configuration is test/config.test.ts.)
 */
import { afterAll, describe, expect, test } from 'bun:test'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ConfigError, configKeys, envName, fileLayer, loadConfig, resolveConfig } from '../../src/shared/config'
import { sampleConfig } from '../../src/app/sample-config'
import { removeTempDirs, tempDir } from '../helpers/temp'

afterAll(removeTempDirs)

/** The problems a ConfigError lists, or fails the test if the config is accepted. */
function problemsOf(fn: () => unknown): string[] {
  try {
    fn()
  } catch (e) {
    if (e instanceof ConfigError) return e.problems
    throw e
  }
  throw new Error('the configuration was accepted')
}

function writeToml(text: string): string {
  const file = join(tempDir(), 'seedpod.toml')
  writeFileSync(file, text)
  return file
}

describe('defaults', () => {
  test('an empty configuration serves on port 9000 with its data in ./data', () => {
    const c = resolveConfig([])
    expect(c.port).toBe(9000)
    expect(c.dataDir).toBe('./data')
    expect(c.url).toBe('http://localhost:9000')
    expect(c.registrations).toBe('closed')
    expect(c.log).toEqual({ level: 'info', format: 'auto' })
  })

  test('the public URL follows the port unless set, without a trailing slash', () => {
    expect(resolveConfig([{ source: 't', values: { port: 9100 } }]).url).toBe('http://localhost:9100')
    expect(resolveConfig([{ source: 't', values: { url: 'https://videos.example.org/' } }]).url).toBe('https://videos.example.org')
  })

  test('the sample config that `seedpod init` writes holds every key at its default', () => {
    const file = writeToml(sampleConfig())
    expect(resolveConfig([fileLayer(file)])).toEqual(resolveConfig([]))
    const text = sampleConfig()
    for (const { key } of configKeys()) {
      const leaf = key.split('.').at(-1)!
      expect(text).toMatch(new RegExp(`^#? ?${leaf} = `, 'm'))
    }
  })
})

describe('layers', () => {
  test('flags win over the environment, which wins over the file', () => {
    const file = writeToml('port = 9001\nname = "from file"\n[retry]\nretries = 4\n')
    const env = { SEEDPOD_PORT: '9002', SEEDPOD_RETRY_RETRIES: '5', HOME: '/root' }
    expect(loadConfig({ file, env: {} }).port).toBe(9001)
    const fromEnv = loadConfig({ file, env })
    expect([fromEnv.port, fromEnv.name, fromEnv.retry.retries]).toEqual([9002, 'from file', 5])
    const fromFlags = loadConfig({ file, env, flags: { port: '9003' } })
    expect([fromFlags.port, fromFlags.retry.retries]).toEqual([9003, 5])
  })

  test('environment variables are named SEEDPOD_ + the key in upper snake case', () => {
    expect(envName('retry.baseMs')).toBe('SEEDPOD_RETRY_BASE_MS')
    const c = loadConfig({
      env: {
        SEEDPOD_RETRY_BASE_MS: '500',
        SEEDPOD_TRUST_PROXY: 'true',
        SEEDPOD_FRIENDS: 'https://a.example, https://b.example/',
        SEEDPOD_LOG_LEVEL: 'debug',
        SEEDPOD_DATA_DIR: '/srv/pod',
      },
    })
    expect(c.retry.baseMs).toBe(500)
    expect(c.trustProxy).toBe(true)
    // SEEDPOD_FRIENDS is the name of earlier releases for friends.pods: still read.
    expect(c.friends.pods).toEqual(['https://a.example', 'https://b.example'])
    expect(c.log.level).toBe('debug')
    expect(c.dataDir).toBe('/srv/pod')
  })

  test('a config file of the previous release (friends = [...]) still works; friends is now a table', () => {
    const old = resolveConfig([{ source: 'old.toml', values: Bun.TOML.parse('friends = ["https://a.example/"]\n') as Record<string, unknown> }])
    expect(old.friends.pods).toEqual(['https://a.example'])
    expect(old.friends.admission).toBe('open')
    const now = resolveConfig([{ source: 'new.toml', values: Bun.TOML.parse('[friends]\npods = ["https://b.example"]\nadmission = "approval"\n') as Record<string, unknown> }])
    expect(now.friends).toMatchObject({ pods: ['https://b.example'], admission: 'approval' })
    expect(loadConfig({ env: { SEEDPOD_FRIENDS_ADMISSION: 'closed' } }).friends.admission).toBe('closed')
    expect(() => loadConfig({ env: { SEEDPOD_FRIENDS_ADMISSION: 'sometimes' } })).toThrow('one of "open", "approval", "closed"')
  })

  test('every configKeys() entry can be set through its environment variable', () => {
    const defaults = resolveConfig([])
    for (const { key, env, dflt } of configKeys()) {
      if (dflt === undefined || Array.isArray(dflt)) continue
      // Setting each key to its own default through the environment must be accepted.
      const c = loadConfig({ env: { [env]: String(dflt) } })
      expect(key.split('.').reduce((o: any, k) => o[k], c)).toEqual(key.split('.').reduce((o: any, k) => o[k], defaults))
    }
  })

  test('the configuration is frozen, sections included', () => {
    const c = resolveConfig([])
    expect(Object.isFrozen(c)).toBe(true)
    expect(Object.isFrozen(c.auth)).toBe(true)
    expect(Object.isFrozen(c.friends)).toBe(true)
    expect(() => ((c as { port: number }).port = 1)).toThrow(TypeError)
    expect(() => ((c.log as { level: string }).level = 'debug')).toThrow(TypeError)
  })
})

describe('validation', () => {
  test('a bad port names the key, the value and the expected range', () => {
    const [p] = problemsOf(() => loadConfig({ env: { SEEDPOD_PORT: '70000' } }))
    expect(p).toContain('environment: port = "70000"')
    expect(p).toContain('expected an integer from 1 to 65535')
    expect(problemsOf(() => loadConfig({ env: {}, flags: { port: '12.5' } }))[0]).toContain('command line: port = "12.5"')
  })

  test('a wrong type in the file is refused, even if the text would parse', () => {
    const file = writeToml('port = "9000"\nblacklistRevoked = "yes"\nfriends = "https://a.example"\n')
    const problems = problemsOf(() => loadConfig({ file, env: {} }))
    expect(problems).toHaveLength(3)
    expect(problems[0]).toBe(`${file}: port = "9000" is not valid: expected an integer from 1 to 65535`)
    expect(problems[1]).toContain('blacklistRevoked = "yes" is not valid: expected true or false')
    expect(problems[2]).toContain('friends.pods = "https://a.example" is not valid: expected a list of http(s) URLs')
  })

  test('a section given as a plain value, or a value given as a table, is a wrong type', () => {
    const file = writeToml('log = "debug"\n[port]\nvalue = 1\n')
    const problems = problemsOf(() => loadConfig({ file, env: {} }))
    expect(problems.some((p) => p.includes('log = "debug" is not valid: expected a table [log] of log.level, log.format'))).toBe(true)
    expect(problems.some((p) => p.includes('port = {"value":1} is not valid: expected an integer'))).toBe(true)
  })

  test('unknown keys are errors, with the closest known key suggested', () => {
    const file = writeToml('data_dir = "/srv"\n[retry]\nbase = 1\n')
    const problems = problemsOf(() => loadConfig({ file, env: { SEEDPOD_LOGLEVEL: 'debug' } }))
    expect(problems[0]).toContain('unknown key data_dir = "/srv"')
    expect(problems[0]).toContain('did you mean dataDir?')
    expect(problems[1]).toContain('unknown key retry.base = 1')
    expect(problems[2]).toContain('environment: unknown key SEEDPOD_LOGLEVEL = "debug"')
    expect(problems[2]).toContain('did you mean SEEDPOD_LOG_LEVEL?')
  })

  test('bad URLs are refused: other schemes, relative, with a query', () => {
    for (const url of ['ftp://example.org', 'example.org', 'https://example.org/?a=1', 'https://user:pw@example.org']) {
      const [p] = problemsOf(() => loadConfig({ env: {}, flags: { url } }))
      expect(p).toBe(`command line: url = ${JSON.stringify(url)} is not valid: expected an absolute http:// or https:// URL without query or fragment`)
    }
    const [p] = problemsOf(() => loadConfig({ env: { SEEDPOD_FRIENDS: 'https://ok.example,not a url' } }))
    expect(p).toContain('friends.pods = "https://ok.example,not a url" is not valid')
  })

  test('ICE servers: none by default; STUN and TURN URLs from the file or the environment; anything else refused', () => {
    expect(resolveConfig([]).webrtc.iceServers).toEqual([])
    const file = writeToml('[webrtc]\niceServers = ["stun:stun.example.org:3478", "turn:[2001:db8::1]:3478?transport=tcp", "turns:turn.example.org"]\n')
    expect(loadConfig({ file, env: {} }).webrtc.iceServers).toEqual(['stun:stun.example.org:3478', 'turn:[2001:db8::1]:3478?transport=tcp', 'turns:turn.example.org'])
    expect(loadConfig({ env: { SEEDPOD_WEBRTC_ICE_SERVERS: 'stun:192.0.2.1, stun:stun.example.org' } }).webrtc.iceServers).toEqual(['stun:192.0.2.1', 'stun:stun.example.org'])
    for (const bad of ['https://stun.example.org', 'stun://stun.example.org', 'stun:', 'stun:host:0', 'stun:host:70000', 'stun:host?transport=udp', 'turn:host?transport=sctp', 'stun:bad host']) {
      const [p] = problemsOf(() => loadConfig({ env: { SEEDPOD_WEBRTC_ICE_SERVERS: bad } }))
      expect(p).toBe(`environment: webrtc.iceServers = ${JSON.stringify(bad)} is not valid: expected a list of STUN/TURN server URLs (stun:host[:port], turn:host[:port][?transport=udp|tcp], turns:...)`)
    }
    expect(problemsOf(() => loadConfig({ file: writeToml('[webrtc]\niceServers = "stun:stun.example.org"\n'), env: {} }))[0]).toContain('webrtc.iceServers = "stun:stun.example.org" is not valid')
  })

  test('enumerations list their allowed values', () => {
    const [p] = problemsOf(() => loadConfig({ env: { SEEDPOD_REGISTRATIONS: 'maybe' } }))
    expect(p).toBe('environment: registrations = "maybe" is not valid: expected one of "open", "approval", "closed"')
  })

  test('every problem is reported at once, and settings that contradict each other too', () => {
    expect(problemsOf(() => loadConfig({ env: { SEEDPOD_PORT: 'x', SEEDPOD_NAME: ' ', SEEDPOD_AUTH_LOGIN_ATTEMPTS: '0' } }))).toHaveLength(3)
    const [p] = problemsOf(() => loadConfig({ env: { SEEDPOD_SCORE_INITIAL: '50', SEEDPOD_SCORE_MAX: '10' } }))
    expect(p).toContain('score.initial = 50 is not valid: expected at most score.max (10)')
  })

  test('an unreadable or malformed file is a configuration error naming the file', () => {
    const dir = tempDir()
    expect(problemsOf(() => loadConfig({ file: join(dir, 'missing.toml'), env: {} }))[0]).toBe(
      `config file = "${join(dir, 'missing.toml')}" cannot be read (ENOENT: no such file): expected a readable TOML file`,
    )
    expect(problemsOf(() => loadConfig({ file: dir, env: {} }))[0]).toContain('(EISDIR: it is a directory)')
    const bad = writeToml('port = \n')
    expect(problemsOf(() => loadConfig({ file: bad, env: {} }))[0]).toContain(`config file = "${bad}" is not valid TOML`)
  })
})

describe('storage', () => {
  const s3 = { kind: 's3', bucket: 'videos', accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'very-secret-key' }

  test('credentials come from the file, SEEDPOD_STORAGE_* or AWS_* (the AWS ones lose to both), and never show in JSON', () => {
    const file = writeToml('[storage]\nkind = "s3"\nbucket = "videos"\naccessKeyId = "FROMFILE"\n')
    const c = loadConfig({ file, env: { AWS_ACCESS_KEY_ID: 'FROMAWS', AWS_SECRET_ACCESS_KEY: 'aws-secret', AWS_REGION: 'eu-west-3', AWS_ENDPOINT_URL: 'http://127.0.0.1:7480' } })
    expect([c.storage.accessKeyId, c.storage.secretAccessKey, c.storage.region, c.storage.endpoint]).toEqual(['FROMFILE', 'aws-secret', 'eu-west-3', 'http://127.0.0.1:7480'])
    const env = loadConfig({ file, env: { AWS_SECRET_ACCESS_KEY: 'aws-secret', SEEDPOD_STORAGE_SECRET_ACCESS_KEY: 'pod-secret' } })
    expect(env.storage.secretAccessKey).toBe('pod-secret')
    expect(JSON.stringify(env)).not.toContain('pod-secret')
    expect(JSON.stringify(env)).not.toContain('FROMFILE')
    expect({ ...env.storage }).not.toHaveProperty('secretAccessKey')
  })

  test('an S3 storage needs a bucket and both keys; a bad value of a key is not repeated in the error', () => {
    expect(() => resolveConfig([{ source: 't', values: { storage: { kind: 's3' } } }])).toThrow(/storage\.bucket is not set[\s\S]*storage\.accessKeyId is not set[\s\S]*storage\.secretAccessKey is not set/)
    try {
      resolveConfig([{ source: 't', values: { storage: { ...s3, secretAccessKey: 12345678 } } }])
      throw new Error('accepted')
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError)
      expect(String(e)).toContain('storage.secretAccessKey = (hidden) is not valid')
      expect(String(e)).not.toContain('12345678')
    }
    // A local pod needs none of them.
    expect(resolveConfig([]).storage.kind).toBe('local')
  })

  test('the prefix gets its trailing slash; one with other characters or a .. segment is refused', () => {
    expect(resolveConfig([{ source: 't', values: { storage: { ...s3, prefix: 'pods/mine' } } }]).storage.prefix).toBe('pods/mine/')
    expect(() => resolveConfig([{ source: 't', values: { storage: { ...s3, prefix: '../up' } } }])).toThrow(/storage\.prefix = "\.\.\/up" is not valid/)
    expect(() => resolveConfig([{ source: 't', values: { storage: { ...s3, prefix: 'a b/' } } }])).toThrow(/storage\.prefix = "a b\/" is not valid/)
    expect(() => resolveConfig([{ source: 't', values: { storage: { ...s3, presignSeconds: 8 * 24 * 3600 } } }])).toThrow(/presignSeconds/)
  })
})
