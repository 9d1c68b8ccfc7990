/**
 * Inbox throughput with admission and rate limits on (the friends.* and inbox.* defaults)
 * against the same pod with those limits raised out of reach (at their maxima), in one run,
 * interleaved. (Every body's header is read for its sender either way: what that costs shows
 * against an earlier release, run the same way.)
 *
 * Three pods in this process: B, the sender, and two receivers, A_on (defaults) and A_off
 * (messagesPerMinute, messagesPerMinutePerAddress, requestsPerHour, maxFriends and
 * maxVideosPerFriend at their maxima), both friends of B. B delivers to each with its own
 * Transport, as its friend actor delivers a batch: seal (PS256 JWS in an RSA-OAEP/A256GCM
 * JWE), POST /api/v1/pod/inbox over loopback, and open the sealed reply; the receiver runs
 * its whole inbox (address and friend rate limits, decryption, verification, the registry's
 * checks, the apply transaction with the video-count bound of each new video.add, the sealed
 * reply). One payload at a time, as one friend's actor sends them. Each payload is fresh
 * `video.add`s of realistic sizes (name 50, description 250 characters), in two batch sizes:
 * 1 message (one change, the everyday delivery) and 50 (a friend catching up). The two
 * receivers are interleaved payload by payload (the first of each pair alternating). The
 * number compared is payloads per second on one core, as in the friends bench: the three
 * pods share this process's one JavaScript thread, so a payload's CPU time (process.cpuUsage
 * around it: seal, both inboxes' work, reply) is what it costs, and other work on a shared
 * machine does not move it as it moves wall times. A round's rate is 1000 / its median
 * payload CPU ms; printed is the median of ROUNDS rounds, and beside it the same from wall
 * times (the median payload, and payloads over their summed times).
 *
 * Staying within the limits: A_on takes 600 payloads per friend per minute (and 1200 per
 * address); a faster sender is throttled by design (429 with Retry-After, which its outbox
 * waits out). The bench sends A_on fewer than 600 payloads in all (it runs in well under a
 * minute), so none is throttled (a 429 is counted and printed: it would void the comparison).
 * The ratio thus shows what the limits cost a friend that stays within them: the checks
 * themselves on the path of a payload that passes them. They are the same code whatever the
 * numbers (counters in memory, a count of the friend's videos), so the goal is that they cost
 * nothing measurable: on/off >= 0.9. A last line times those checks alone (the inbox gate,
 * Admission.fromAddress + admit, per payload) against the time of a whole payload. (What the
 * defaults do bound is a friend's sustained rate: 600 payloads a minute, 10 a second, i.e. at
 * most 5,000 messages a second in batches of delivery.batchMessages = 500; printed beside.)
 *
 * `bun test/bench/inbox.ts` or `bun test/bench/run.ts inbox`; about 10 s.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { availableParallelism, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { startPod, type RunningPod } from '../../src/app/server'
import type { Message } from '../../src/federation/envelope'
import { Admission } from '../../src/friends/admission'
import { resolveConfig } from '../../src/shared/config'
import { createLogger } from '../../src/shared/log'
import type { Video } from '../../src/videos/model'
import { videoOf } from '../helpers/network'
import { freePort } from '../helpers/ports'

const ROUNDS = 11
/** Payloads per batch size per receiver per round: 11 x 2 x 18 + warm-up 2 x 10 = 416 to A_on, under its 600 a minute. */
const PAYLOADS = 18
const BATCHES = [1, 50] as const
const WARMUP = 10
const GOAL = 0.9
/** Admission checks timed alone, over this many fake friends and addresses (each well under its limit). */
const GATE_ITERATIONS = 300_000
const GATE_KEYS = 5_000

const LIMITS_OFF = {
  friends: { messagesPerMinute: 1_000_000, messagesPerMinutePerAddress: 1_000_000, requestsPerHour: 1_000_000, maxFriends: 1_000_000, maxVideosPerFriend: Number.MAX_SAFE_INTEGER },
  inbox: { strangerMessageBytes: 1024 ** 3, bodyTimeoutMs: 600_000, bytesInFlightPerAddress: Number.MAX_SAFE_INTEGER, bytesInFlight: Number.MAX_SAFE_INTEGER },
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

async function pod(dir: string, name: string, limits: Record<string, unknown> = {}): Promise<RunningPod> {
  const port = await freePort()
  const values = { host: '127.0.0.1', port, url: `http://127.0.0.1:${port}`, dataDir: join(dir, name), name, network: { allowPrivateAddresses: true }, transcoding: { enabled: false }, ...limits }
  return startPod(resolveConfig([{ source: 'bench', values }]), createLogger({ level: 'error', format: 'json' }))
}

let seq = 0
function video(sender: RunningPod): Video {
  const n = seq++
  return videoOf(
    { url: sender.pod.config.url, fingerprint: sender.pod.identity.fingerprint },
    { id: `${sender.pod.identity.fingerprint.slice(0, 16)}b${n.toString(36)}`, name: `bench video ${n} `.padEnd(50, 'x'), description: 'd'.repeat(250), uploader: 'u'.repeat(50) },
  )
}

export async function run(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'seedpod-bench-inbox-'))
  const pods: RunningPod[] = []
  try {
    const b = await pod(dir, 'sender')
    const on = await pod(dir, 'limits-on')
    const off = await pod(dir, 'limits-off', LIMITS_OFF)
    pods.push(b, on, off)
    const made = await b.pod.making.makeFriends([on.pod.config.url, off.pod.config.url])
    if (made.some((m) => m.status !== 'added')) throw new Error(`friend making failed: ${JSON.stringify(made)}`)
    const transport = b.pod.friends.transport
    const peerOf = (receiver: RunningPod) => b.pod.friends.store.get(receiver.pod.identity.fingerprint)!
    const throttled = new Map<RunningPod, number>([
      [on, 0],
      [off, 0],
    ])
    const sent = new Map<RunningPod, number>([
      [on, 0],
      [off, 0],
    ])

    /** B delivers one payload of `size` fresh video.adds to `receiver`; returns its wall and CPU time in ms. */
    const deliverOne = async (receiver: RunningPod, size: number): Promise<{ ms: number; cpu: number }> => {
      const peer = peerOf(receiver)
      // The messages are made before the clock starts: only the delivery is timed.
      const messages: Message[] = Array.from({ length: size }, () => ({ type: 'video.add', data: video(b) }))
      const c0 = process.cpuUsage()
      const t0 = performance.now()
      const r = await transport.post(peer, transport.payload(peer.fingerprint, crypto.randomUUID(), messages))
      const ms = performance.now() - t0
      const c = process.cpuUsage(c0)
      sent.set(receiver, sent.get(receiver)! + 1)
      if (!r.ok) {
        if (r.error.throttledMs !== undefined) throttled.set(receiver, throttled.get(receiver)! + 1)
        else throw new Error(`delivery to ${receiver.pod.config.name} failed: ${r.error.message}`)
      } else if (!r.value.reply || r.value.reply.results.length !== size || r.value.reply.results.some((x) => (x as { ok?: unknown }).ok !== true)) {
        throw new Error(`delivery to ${receiver.pod.config.name}: unexpected results ${JSON.stringify(r.value.reply?.results).slice(0, 200)}`)
      }
      return { ms, cpu: (c.user + c.system) / 1000 }
    }

    for (const size of BATCHES) {
      for (let i = 0; i < WARMUP; i++) {
        await deliverOne(on, size)
        await deliverOne(off, size)
      }
    }
    const key = (receiver: RunningPod, size: number) => `${receiver === on ? 'on' : 'off'}:${size}`
    /** Per receiver and batch size, each round's payloads/s: on one core (from its median CPU time), from its median wall time, and by the wall clock. */
    const cores = new Map<string, number[]>()
    const rates = new Map<string, number[]>()
    const walls = new Map<string, number[]>()
    const push = (m: Map<string, number[]>, k: string, v: number) => m.set(k, [...(m.get(k) ?? []), v])
    const load = loadavg()[0]!
    for (let round = 0; round < ROUNDS; round++) {
      for (const size of BATCHES) {
        Bun.gc(true)
        const times = new Map<RunningPod, { ms: number; cpu: number }[]>([
          [on, []],
          [off, []],
        ])
        // Interleaved payload by payload, the first of each pair alternating: both receivers
        // see the same machine, the same garbage and the same growing index.
        for (let i = 0; i < PAYLOADS; i++) {
          for (const receiver of (i + round) % 2 ? [off, on] : [on, off]) times.get(receiver)!.push(await deliverOne(receiver, size))
        }
        for (const receiver of [on, off]) {
          const ts = times.get(receiver)!
          push(cores, key(receiver, size), 1000 / median(ts.map((t) => t.cpu)))
          push(rates, key(receiver, size), 1000 / median(ts.map((t) => t.ms)))
          push(walls, key(receiver, size), ts.length / (ts.reduce((x, t) => x + t.ms, 0) / 1000))
        }
      }
    }

    console.log(
      `inbox: B delivers to A_on (friends.* and inbox.* defaults: ${on.pod.config.friends.messagesPerMinute} payloads/min per friend, ${on.pod.config.friends.messagesPerMinutePerAddress} per address, ${on.pod.config.inbox.bytesInFlightPerAddress / 1024 / 1024} MiB in flight per address) ` +
        `and A_off (limits at their maxima); ${ROUNDS} rounds of ${PAYLOADS} payloads per batch size, interleaved; A_on took ${sent.get(on)} payloads in all; ` +
        `load average ${load.toFixed(1)} on ${availableParallelism()} cores`,
    )
    let msPerPayload = 0
    for (const size of BATCHES) {
      const m = (map: Map<string, number[]>, receiver: RunningPod) => median(map.get(key(receiver, size))!)
      const [pOn, pOff] = [m(cores, on), m(cores, off)]
      const [rOn, rOff] = [m(rates, on), m(rates, off)]
      const [wOn, wOff] = [m(walls, on), m(walls, off)]
      if (size === 1) msPerPayload = 1000 / pOn
      const raw = (receiver: RunningPod) => cores.get(key(receiver, size))!.map((x) => x.toFixed(0)).join(', ')
      console.log(
        `inbox throughput on one core, ${size} message${size === 1 ? '' : 's'} per payload: limits on ${pOn.toFixed(1)} payloads/s (${(pOn * size).toFixed(0)} messages/s), ` +
          `limits off ${pOff.toFixed(1)} payloads/s (${(pOff * size).toFixed(0)} messages/s), ratio ${(pOn / pOff).toFixed(2)} (goal >= ${GOAL})` +
          `\n  rounds (payloads/s): on [${raw(on)}], off [${raw(off)}]` +
          `\n  wall time: on ${rOn.toFixed(1)}, off ${rOff.toFixed(1)} payloads/s from the median payload (ratio ${(rOn / rOff).toFixed(2)}), ` +
          `${wOn.toFixed(1)} and ${wOff.toFixed(1)} by the clock (ratio ${(wOn / wOff).toFixed(2)})`,
      )
    }
    const f = on.pod.config.friends
    const cap = f.messagesPerMinute / 60
    console.log(
      `inbox: sustained, the defaults let one friend deliver ${cap.toFixed(0)} payloads/s (${f.messagesPerMinute} a minute), ` +
        `${(cap * on.pod.config.delivery.batchMessages).toFixed(0)} messages/s in full batches of ${on.pod.config.delivery.batchMessages}: the cap by design, beyond which it gets 429 and waits`,
    )
    const t = [...throttled.values()].reduce((x, y) => x + y, 0)
    console.log(t ? `inbox: ${throttled.get(on)} payloads to A_on and ${throttled.get(off)} to A_off were throttled (429): the comparison is void` : 'inbox: no payload was throttled (429)')

    // The checks alone: what the inbox gate does for a payload of a friend that passes it.
    const gate = (friends: RunningPod) => {
      const admission = new Admission(friends.pod.config.friends, friends.pod.friends.store)
      const peer = friends.pod.friends.store.get(b.pod.identity.fingerprint)!
      const messages: Message[] = [{ type: 'video.add', data: {} }]
      const senders = Array.from({ length: GATE_KEYS }, (_, i) => `friend-${i}`)
      const addresses = Array.from({ length: GATE_KEYS }, (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`)
      let refused = 0
      const t0 = performance.now()
      for (let i = 0; i < GATE_ITERATIONS; i++) {
        const k = i % GATE_KEYS
        if (admission.fromAddress(addresses[k]!) || admission.admit(senders[k]!, peer, messages, addresses[k]!)) refused++
      }
      const ns = ((performance.now() - t0) * 1e6) / GATE_ITERATIONS
      if (refused) throw new Error(`the gate refused ${refused} of its own checks`)
      return ns
    }
    gate(on)
    gate(off)
    const nsOn = median([gate(on), gate(on), gate(on)])
    const nsOff = median([gate(off), gate(off), gate(off)])
    console.log(
      `inbox admission checks alone (per payload: address and friend rate limits): limits on ${nsOn.toFixed(0)} ns, off ${nsOff.toFixed(0)} ns; ` +
        `${((nsOn / 1e6 / msPerPayload) * 100).toFixed(4)}% of a 1-message payload's ${msPerPayload.toFixed(1)} ms`,
    )
  } finally {
    await Promise.all(pods.map((p) => p.stop()))
    rmSync(dir, { recursive: true, force: true })
  }
}

if (import.meta.main) await run()
