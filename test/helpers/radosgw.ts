/**
 * A real S3 server for tests: Ceph's radosgw (Debian's `radosgw`, `ceph-mon`, `ceph-osd`,
 * `ceph-common`) on a throwaway single-node cluster on loopback, started and stopped by the
 * test itself, without systemd.
 *
 * startRadosgw() makes a temp folder, writes a ceph.conf into it, and starts in the
 * foreground, as children of the test process:
 *   1. one monitor (`ceph-mon --mkfs`, then `ceph-mon -f`), waited for until it leads;
 *   2. one OSD whose object store is memstore (objects in its memory, nothing on disk):
 *      `ceph osd new`, `ceph-osd --mkfs`, then `ceph-osd -f`, waited for until active;
 *   3. radosgw with its beast frontend on a free loopback port (`radosgw -f`), waited for
 *      until it answers HTTP;
 * then makes an S3 user with random keys (`radosgw-admin user create`), checks that a signed
 * request with them answers 200, and creates the bucket asked for, if any.
 *
 * stop() SIGKILLs every process it started and removes the folder; so does a failed start,
 * before it throws an error naming the daemon that failed with the end of its log. The
 * daemons also get SIGKILL from the kernel if the test process dies first (`setpriv
 * --pdeathsig`), so a crashed or killed test run leaves no cluster behind.
 *
 * Every address is 127.0.0.1 and every port the monitor (msgr2 and msgr1) and radosgw listen
 * on is a free one picked at start (the OSD binds the first 8 free ones of 6800-7300, Ceph's
 * own range), so clusters can run side by side. About 2 s to start (1.3 to 2.5 s here), and
 * 140 MB resident for the three daemons, plus what is stored: memstore keeps it in memory.
 */
import { randomBytes, randomUUID } from 'node:crypto'
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { signedFetch } from '../../src/storage/sigv4'
import { freePorts } from './ports'

export interface Radosgw {
  /** `http://127.0.0.1:PORT`: path-style S3 (no virtual-hosted buckets: no DNS name is set). */
  endpoint: string
  /** The region to sign with. radosgw checks signatures with the region the client names. */
  region: string
  /** The bucket startRadosgw was asked to create, if any. */
  bucket?: string
  accessKeyId: string
  secretAccessKey: string
  /** The cluster's folder (conf, logs, admin sockets, monitor store). Gone after stop(). */
  dir: string
  /** Process ids of the running daemons: monitor, OSD, radosgw. */
  pids(): number[]
  /** The daemons' resident memory together, in bytes (VmRSS from /proc). */
  rss(): number
  /** A Bun.S3Client for this server and the given (or created) bucket. */
  client(bucket?: string): Bun.S3Client
  /** A pod's `storage` settings for a bucket of this server (`extra`: prefix, part size, ...). */
  settings(bucket?: string, extra?: Record<string, unknown>): Record<string, unknown>
  /** The same as `SEEDPOD_STORAGE_*` variables, for a child process of the CLI (`storage migrate`). */
  env(bucket?: string, prefix?: string): Record<string, string>
  /**
   * A SigV4-signed S3 request, for what Bun.S3Client does not do (CreateBucket,
   * PutBucketCors, ACLs). `path` is `/bucket` or `/bucket/key`, already URL-safe.
   */
  request(method: string, path: string, init?: { query?: Record<string, string>; headers?: Record<string, string>; body?: string | Uint8Array }): Promise<Response>
  /** Kills radosgw only (the S3 endpoint stops answering; the cluster and its objects stay). */
  stopGateway(): Promise<void>
  /** Starts radosgw again on the same port, once stopGateway() stopped it; resolves when it answers. */
  startGateway(): Promise<void>
  stop(): Promise<void>
}

export interface RadosgwOptions {
  /** Create this bucket once the user exists. */
  bucket?: string
  /** Longest wait for each daemon, in ms (default 30 s: a loaded 2-core CI machine). */
  timeoutMs?: number
  /** radosgw's port on 127.0.0.1 (default: a free one). */
  port?: number
  /**
   * More settings (or other values) for radosgw's section of ceph.conf, e.g.
   * `{ 'rgw dns name': 'localhost' }` for virtual-hosted-style buckets.
   */
  rgwConf?: Record<string, string>
}

/** Binaries the cluster needs -> the Debian package that has them (also in .ci/run). */
const BINARIES: Record<string, string> = {
  'ceph-mon': 'ceph-mon',
  monmaptool: 'ceph-base',
  'ceph-osd': 'ceph-osd',
  ceph: 'ceph-common',
  'radosgw-admin': 'ceph-common',
  radosgw: 'radosgw',
}

/** A daemon of the cluster, started by spawnDaemon and killed by stop(). */
interface Daemon {
  name: string
  proc: Bun.Subprocess
  /** Ceph's own log of the daemon, and the file its stdout and stderr go to. */
  log: string
  out: string
}

export async function startRadosgw(options: RadosgwOptions = {}): Promise<Radosgw> {
  const missing = Object.entries(BINARIES).filter(([bin]) => !Bun.which(bin))
  if (missing.length > 0) {
    const packages = [...new Set(missing.map(([, p]) => p).concat('ceph-common'))].sort()
    throw new Error(`radosgw test cluster: ${missing.map(([b]) => b).join(', ')} not found: apt-get install ${packages.join(' ')} (.ci/run does)`)
  }
  if (options.rgwConf?.['rgw frontends'] !== undefined) throw new Error('radosgw test cluster: rgw frontends is set by startRadosgw (use the port option)')
  const timeoutMs = options.timeoutMs ?? 30_000
  const dir = mkdtempSync(join(tmpdir(), 'seedpod-radosgw-'))
  const daemons: Daemon[] = []
  const helpers = new Set<Bun.Subprocess>()
  let stopped: Promise<void> | undefined
  const stop = () =>
    (stopped ??= (async () => {
      const procs = [...daemons.map((d) => d.proc), ...helpers]
      for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL')
      await Promise.all(procs.map((p) => p.exited))
      rmSync(dir, { recursive: true, force: true })
    })())

  try {
    const [monV2, monV1, freeRgwPort] = (await freePorts(3)) as [number, number, number]
    const rgwPort = options.port ?? freeRgwPort
    const fsid = randomUUID()
    const conf = join(dir, 'ceph.conf')
    for (const sub of ['run', 'log', 'mon', 'osd/ceph-0', 'crash', 'rgw']) mkdirSync(join(dir, sub), { recursive: true })
    writeFileSync(conf, cephConf({ dir, fsid, monV2, monV1, rgwPort, rgwConf: options.rgwConf ?? {} }))
    const env = { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', HOME: dir, LANG: 'C.UTF-8' }

    /** Runs a one-shot command to its end (bounded), failing with its output. */
    const run = async (what: string, cmd: string[]): Promise<string> => {
      const proc = Bun.spawn(cmd, { cwd: dir, env, stdin: 'ignore', stdout: 'pipe', stderr: 'pipe' })
      helpers.add(proc)
      const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs)
      const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited])
      clearTimeout(timer)
      helpers.delete(proc)
      if (code !== 0) {
        const how = proc.signalCode === 'SIGKILL' ? `did not finish within ${timeoutMs} ms` : `exited with ${code}`
        throw new Error(`radosgw test cluster: ${what} (${cmd.join(' ')}) ${how}:\n${tail(stdout + stderr)}`)
      }
      return stdout
    }

    /** Starts a daemon in the foreground (`-f`: no fork, logs to its log file, errors also to stderr). */
    const spawnDaemon = (name: string, logName: string, args: string[]): Daemon => {
      const out = join(dir, 'log', `${name}.out`)
      // pdeathsig: the kernel kills the daemon if the test process dies before stop().
      const pdeath = Bun.which('setpriv') ? ['setpriv', '--pdeathsig', 'KILL', '--'] : []
      const fd = openSync(out, 'a')
      const proc = Bun.spawn([...pdeath, ...args], { cwd: dir, env, stdin: 'ignore', stdout: fd, stderr: fd })
      closeSync(fd)
      const d: Daemon = { name, proc, log: join(dir, 'log', `${logName}.log`), out }
      daemons.push(d)
      return d
    }

    /** Polls `ready` until it is true; fails if the daemon exits or time runs out. */
    const waitFor = async (d: Daemon, what: string, ready: () => Promise<boolean>): Promise<void> => {
      const deadline = Date.now() + timeoutMs
      for (;;) {
        if (d.proc.exitCode !== null || d.proc.signalCode !== null) {
          // Exit codes are errno values; 98 is the one a taken port gives, which the daemon does not always log before it exits.
          const code = d.proc.exitCode === 98 ? '98, EADDRINUSE: an address it listens on is taken' : (d.proc.exitCode ?? d.proc.signalCode)
          throw new Error(`radosgw test cluster: ${d.name} exited (${code}) before ${what}:\n${daemonLog(d)}`)
        }
        if (await ready().catch(() => false)) return
        if (Date.now() > deadline) throw new Error(`radosgw test cluster: ${d.name} did not get to ${what} within ${timeoutMs} ms:\n${daemonLog(d)}`)
        await Bun.sleep(50)
      }
    }

    // 1. The monitor: a monmap with just itself at our two ports, its store, then the daemon.
    const monAddr = `[v2:127.0.0.1:${monV2},v1:127.0.0.1:${monV1}]`
    await run('monmaptool', ['monmaptool', '--create', '--fsid', fsid, '--addv', 'a', monAddr, join(dir, 'monmap')])
    await run('ceph-mon --mkfs', ['ceph-mon', '-c', conf, '--mkfs', '-i', 'a', '--monmap', join(dir, 'monmap')])
    const mon = spawnDaemon('ceph-mon', 'mon.a', ['ceph-mon', '-c', conf, '-f', '-i', 'a'])
    await waitFor(mon, 'quorum (state leader)', async () => (await adminSocket(join(dir, 'run', 'mon.a.asok'), 'mon_status')).state === 'leader')

    // 2. The OSD: register it with the monitor (id 0), make its (memory) store, start it.
    const osdUuid = randomUUID()
    const id = (await run('ceph osd new', ['ceph', '-c', conf, '--connect-timeout', String(Math.ceil(timeoutMs / 1000)), 'osd', 'new', osdUuid])).trim()
    if (id !== '0') throw new Error(`radosgw test cluster: ceph osd new gave id ${JSON.stringify(id)}, expected 0`)
    await run('ceph-osd --mkfs', ['ceph-osd', '-c', conf, '-i', '0', '--mkfs', '--osd-uuid', osdUuid])
    const osd = spawnDaemon('ceph-osd', 'osd.0', ['ceph-osd', '-c', conf, '-f', '-i', '0'])
    await waitFor(osd, 'state active (booted into the osdmap)', async () => (await adminSocket(join(dir, 'run', 'osd.0.asok'), 'status')).state === 'active')

    // 3. radosgw: it creates its pools, then its frontend listens; any HTTP answer means up.
    const endpoint = `http://127.0.0.1:${rgwPort}`
    const startGateway = async () => {
      const d = spawnDaemon('radosgw', 'client.rgw', ['radosgw', '-c', conf, '-f', '-n', 'client.rgw'])
      await waitFor(d, `answering HTTP on ${endpoint}`, async () => {
        const res = await fetch(endpoint, { signal: AbortSignal.timeout(2000) })
        await res.arrayBuffer()
        return true
      })
      return d
    }
    let rgw = await startGateway()

    // 4. An S3 user with random keys (20 and 40 characters, like AWS's).
    const accessKeyId = randomBytes(15).toString('base64').replace(/[^A-Za-z0-9]/g, 'A').toUpperCase().slice(0, 20)
    const secretAccessKey = randomBytes(30).toString('base64').replace(/[^A-Za-z0-9]/g, 'x').slice(0, 40)
    // (As client.admin: as client.rgw it would take radosgw's admin socket path.)
    await run('radosgw-admin user create', ['radosgw-admin', '-c', conf, 'user', 'create', '--uid', 'seedpod-test', '--display-name', 'seedpod tests', '--access-key', accessKeyId, '--secret-key', secretAccessKey])

    const region = 'us-east-1'
    const request: Radosgw['request'] = (method, path, init = {}) => signedFetch({ endpoint, region, accessKeyId, secretAccessKey }, method, path, init)
    // Check that the keys work before handing them out (radosgw reads users from its meta pool).
    await waitFor(rgw, 'accepting the new user (ListBuckets 200)', async () => {
      const res = await request('GET', '/')
      await res.arrayBuffer()
      return res.status === 200
    })
    if (options.bucket !== undefined) {
      const res = await request('PUT', `/${options.bucket}`)
      if (res.status !== 200) throw new Error(`radosgw test cluster: CreateBucket ${options.bucket} answered ${res.status}: ${await res.text()}`)
      await res.arrayBuffer()
    }

    return {
      endpoint,
      region,
      bucket: options.bucket,
      accessKeyId,
      secretAccessKey,
      dir,
      pids: () => daemons.filter((d) => d.proc.exitCode === null && d.proc.signalCode === null).map((d) => d.proc.pid),
      rss: () => daemons.reduce((sum, d) => sum + vmRss(d.proc.pid), 0),
      client: (bucket = options.bucket) => new Bun.S3Client({ endpoint, region, bucket, accessKeyId, secretAccessKey }),
      settings: (bucket = options.bucket, extra = {}) => ({ kind: 's3', endpoint, region, bucket, accessKeyId, secretAccessKey, ...extra }),
      env: (bucket = options.bucket, prefix = '') => ({
        SEEDPOD_STORAGE_KIND: 's3',
        SEEDPOD_STORAGE_ENDPOINT: endpoint,
        SEEDPOD_STORAGE_BUCKET: bucket ?? '',
        SEEDPOD_STORAGE_PREFIX: prefix,
        SEEDPOD_STORAGE_ACCESS_KEY_ID: accessKeyId,
        SEEDPOD_STORAGE_SECRET_ACCESS_KEY: secretAccessKey,
      }),
      request,
      stopGateway: async () => {
        rgw.proc.kill('SIGKILL')
        await rgw.proc.exited
      },
      startGateway: async () => {
        if (rgw.proc.exitCode === null && rgw.proc.signalCode === null) throw new Error('radosgw test cluster: radosgw is running; stopGateway() first')
        rgw = await startGateway()
      },
      stop,
    }
  } catch (e) {
    await stop()
    throw e
  }
}

/**
 * ceph.conf of the test cluster. Only what differs from Ceph's defaults, each for a reason.
 * `$name` is expanded by Ceph (mon.a, osd.0, client.rgw, client.admin).
 */
function cephConf(c: { dir: string; fsid: string; monV2: number; monV1: number; rgwPort: number; rgwConf: Record<string, string> }): string {
  const d = c.dir
  const rgw: Record<string, string> = {
    // The S3 frontend on our port, loopback only. tcp_nodelay: beast writes a response's
    // headers and its body separately; with Nagle's algorithm and the client's delayed ACK,
    // each small GET then waits ~40 ms for its body (45 ms a GET instead of 1 ms).
    'rgw frontends': `beast endpoint=127.0.0.1:${c.rgwPort} tcp_nodelay=1`,
    'rgw data': `${d}/rgw`,
    // 512 threads by default; a test makes a few requests at a time.
    'rgw thread pool size': '32',
    ...c.rgwConf,
  }
  return `[global]
fsid = ${c.fsid}
# The one monitor, on our own ports: msgr2 (what daemons speak) and msgr1 (legacy clients).
mon host = [v2:127.0.0.1:${c.monV2},v1:127.0.0.1:${c.monV1}]
# The OSD binds its public and cluster messengers (and heartbeats) here: loopback only.
public addr = 127.0.0.1
cluster addr = 127.0.0.1

# No cephx: no keyrings to make. radosgw, unlike the other daemons and clients, asks the
# monitor for the "secure" connection mode only (its default ms_mon_client_mode), which needs
# cephx session keys: with auth none it never connects (-13, EACCES, in its log, forever).
# "crc" (checksummed, not encrypted) needs no keys.
auth cluster required = none
auth service required = none
auth client required = none
ms mon client mode = crc secure

# Everything a daemon or client writes stays in this folder, not in /var/lib/ceph,
# /var/log/ceph, /var/run/ceph or /etc/ceph.
run dir = ${d}/run
admin socket = ${d}/run/$name.asok
pid file = ${d}/run/$name.pid
log file = ${d}/log/$name.log
# The monitor's cluster and audit logs (default /var/log/ceph/ceph.log, ceph.audit.log).
mon cluster log file = ${d}/log/cluster.log
crash dir = ${d}/crash
keyring = ${d}/keyring
mon data = ${d}/mon/$cluster-$id
osd data = ${d}/osd/$cluster-$id

# The monitor stops itself when its disk has less than 5% free: a throwaway cluster should
# not fail because a developer's disk is nearly full.
mon data avail crit = 0
# The monitor batches map changes for 1 s per proposal by default; each step of the start
# (osd new, boot, pool creations) waits for one or more: 0.05 s makes the start ~2 s, not ~17 s.
paxos propose interval = 0.05

# One OSD: one copy of each object (the default, 3, would never be active).
osd pool default size = 1
osd pool default min size = 1
# radosgw creates its pools itself: 4 at start, then the bucket index, data and (multipart)
# non-ec pools by the first multipart upload: 7. At the default 32 placement groups each,
# that is 224 PGs on the one OSD, close to mon max pg per osd = 250 (past it the monitor
# refuses a pool, and radosgw waits forever), and every PG costs the OSD memory and a
# peering at start. 8 each is plenty here.
osd pool default pg num = 8
osd pool default pgp num = 8

[osd]
# Objects live in the OSD's memory: fast, nothing to clean up, gone with the process.
# memstore device bytes (1 GiB by default) is the capacity it reports; near it (the 95% full
# ratio) writes are refused: keep what a test stores well below.
osd objectstore = memstore

[client.rgw]
${Object.entries(rgw)
  .map(([k, v]) => `${k} = ${v}\n`)
  .join('')}`
}

/**
 * For an error message: the lines of a daemon's own log and of its stdout/stderr that say
 * something failed (a daemon that gives up can log many lines of shutdown after the reason),
 * then the end of each.
 */
function daemonLog(d: Daemon): string {
  const read = (f: string) => (existsSync(f) ? readFileSync(f, 'utf8') : '')
  const [log, out] = [read(d.log), read(d.out)]
  const failures = `${log}\n${out}`.split('\n').filter((l) => /fail|error|unable/i.test(l)).slice(-10).join('\n')
  return `--- what failed ---\n${failures}\n--- ${d.log} (last lines) ---\n${tail(log)}\n--- stdout/stderr (last lines) ---\n${tail(out)}`
}

function tail(text: string, lines = 25): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n')
}

function vmRss(pid: number): number {
  try {
    const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+) kB/m)
    return m ? Number(m[1]) * 1024 : 0
  } catch {
    return 0
  }
}

/**
 * One command on a Ceph daemon's admin socket (what `ceph daemon NAME CMD` does, without
 * starting Python): the JSON command and a NUL; the answer is a 4-byte big-endian length and
 * that much JSON.
 */
async function adminSocket(path: string, prefix: string): Promise<Record<string, unknown>> {
  if (!existsSync(path)) throw new Error(`${path}: no such socket yet`)
  const chunks: Buffer[] = []
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${path}: no answer to ${prefix}`)), 2000)
    Bun.connect({
      unix: path,
      socket: {
        open: (s) => void s.write(JSON.stringify({ prefix }) + '\0'),
        data: (_s, data) => void chunks.push(Buffer.from(data)),
        close: () => (clearTimeout(timer), resolve()),
        error: (_s, e) => (clearTimeout(timer), reject(e)),
      },
    }).catch((e) => (clearTimeout(timer), reject(e)))
  })
  const all = Buffer.concat(chunks)
  if (all.length < 4) throw new Error(`${path}: short answer to ${prefix}`)
  return JSON.parse(all.subarray(4, 4 + all.readUInt32BE(0)).toString('utf8'))
}
