/**
 * The pod's identity: made on first start, kept across restarts, and never silently
 * replaced when the key on disk is damaged. (A key written by another tool is
 * test/unit/identity.test.ts.)
 */
import { afterAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { generateKeyPairSync } from 'node:crypto'
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { childEnv, listTree, removeTempDirs, runCli, spawnCli, tempDir, waitForPod } from './helpers/pods'
import { freePort } from './helpers/ports'
import { thumbprint } from './helpers/thumbprint'

afterAll(removeTempDirs)
// Real processes on a shared machine: far more than they need, never a timing assertion.
setDefaultTimeout(60_000)

/** Starts `seedpod serve` in `dir`, returns what /api/v1/pod says, and stops it with SIGTERM. */
async function serveOnce(dir: string): Promise<{ info: Record<string, any>; code: number; stderr: string }> {
  const port = await freePort()
  const child = spawnCli(['serve', '--host', '127.0.0.1', '--port', String(port), '--log-format', 'json'], { cwd: dir })
  try {
    const info = await waitForPod(`http://127.0.0.1:${port}`, child)
    child.proc.kill('SIGTERM')
    const code = await child.exit()
    return { info, code, stderr: child.stderr }
  } finally {
    child.kill()
  }
}

describe('identity', () => {
  test('first start in an empty folder makes a key (mode 0600) that later starts reuse', async () => {
    const dir = tempDir()
    const first = await serveOnce(dir)
    expect(first.code).toBe(0)
    const keyFile = join(dir, 'data', 'keys', 'pod.key')
    expect(statSync(keyFile).mode & 0o777).toBe(0o600)
    expect(readFileSync(keyFile, 'utf8')).toStartWith('-----BEGIN PRIVATE KEY-----')
    expect(first.stderr).toContain('"event":"identity.created"')

    const { publicKey, fingerprint, protocol, software } = first.info
    expect(publicKey.kty).toBe('RSA')
    expect(Buffer.from(publicKey.n, 'base64url').length * 8).toBeGreaterThanOrEqual(2048)
    expect(fingerprint).toBe(thumbprint(publicKey))
    expect(protocol).toEqual({ current: 1, supported: [1] })
    expect(software.name).toBe('seedpod')

    const keyBefore = readFileSync(keyFile)
    const second = await serveOnce(dir)
    expect(second.code).toBe(0)
    expect(second.info.fingerprint).toBe(fingerprint)
    expect(second.info.publicKey).toEqual(publicKey)
    expect(second.stderr).not.toContain('identity.created')
    expect(readFileSync(keyFile)).toEqual(keyBefore)
  })

  test('two pods in two folders have different fingerprints', async () => {
    const [a, b] = await Promise.all([serveOnce(tempDir()), serveOnce(tempDir())])
    expect(a.info.fingerprint).not.toBe(b.info.fingerprint)
  })

  /** Sets up a damaged key, then checks that `serve` refuses to start and leaves the key alone. */
  async function refusesToStart(damage: (keyFile: string) => Promise<void> | void, says: string[]) {
    const dir = tempDir()
    const keyFile = join(dir, 'data', 'keys', 'pod.key')
    mkdirSync(join(dir, 'data', 'keys'), { recursive: true })
    await damage(keyFile)
    const before = listTree(dir)
    const port = await freePort()
    const { code, stderr } = await runCli(['serve', '--host', '127.0.0.1', '--port', String(port)], { cwd: dir, env: childEnv() })
    for (const s of says) expect(stderr).toContain(s)
    expect(code).toBe(1)
    // No new identity in its place, and nothing listening.
    expect(listTree(dir).filter((f) => f.startsWith('data/keys/'))).toEqual(before.filter((f) => f.startsWith('data/keys/')))
    await expect(fetch(`http://127.0.0.1:${port}/api/v1/pod`)).rejects.toThrow()
    return keyFile
  }

  test('a corrupt key stops the start with a clear message and is left as it was', async () => {
    const keyFile = await refusesToStart(
      (f) => writeFileSync(f, '-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n', { mode: 0o600 }),
      ['is corrupt', 'Restore it from a backup', 'data/keys/pod.key'],
    )
    expect(readFileSync(keyFile, 'utf8')).toContain('not a key')
  })

  test('an unreadable key stops the start with a clear message', async () => {
    // A folder where the key file should be: unreadable as a file, for root too.
    await refusesToStart((f) => mkdirSync(f), ["cannot read the pod's key", 'EISDIR', 'data/keys/pod.key'])
  })

  test('a key shorter than 2048 bits is refused', async () => {
    await refusesToStart((f) => {
      const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024 })
      writeFileSync(f, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 })
    }, ['data/keys/pod.key', 'shorter than 2048 bits'])
  })
})
