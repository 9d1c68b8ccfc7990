/**
 * Crash anywhere: a pod is killed with SIGKILL at moments drawn from a seeded PRNG, more than
 * fifty times, in the middle of a mixed workload: the re-packaging of the videos of an earlier
 * release (its data folder is made by that release), uploads (probing, remuxing, storing),
 * transcoding, deletions and edits fanned out to a friend, views queued both ways, copies of
 * the friend's videos downloading (redundancy), files moving to an S3 bucket (radosgw) and
 * `seedpod storage migrate` running beside it; some rounds kill the friend or the migration
 * too, some kill the pod again while it starts. After each restart: tmp/ is emptied, every
 * row's file is there at its size (data folder or bucket), no file lacks its row once the
 * start's sweep has run. Once deliveries settle: each pod's index holds the other's videos as
 * they are, every view was counted exactly once at its origin (a message applied twice would
 * count twice), both outboxes are empty and every copy is known to its video's origin.
 *
 * The seed is printed; `CRASH_SEED=<seed> bun test test/crash.test.ts` replays the schedule.
 */
import { afterAll, expect, test } from 'bun:test'
import type { RepackProgress } from '../src/transcoding/queue'
import { makeClip, makeWebmClip } from './helpers/clips'
import { folderFiles, storeProblems, type Store } from './helpers/crash/files'
import { failedJobs, settle } from './helpers/crash/network'
import { CrashPod, Migration } from './helpers/crash/pod-process'
import { crashSeed, Workload } from './helpers/crash/workload'
import { Rng } from './helpers/fuzz'
import { makeOldData } from './helpers/old-release'
import { removeTempDirs, tempDir } from './helpers/pods'
import { startRadosgw, type Radosgw } from './helpers/radosgw'

const BUCKET = 'seedpod-crash'
/** Kill rounds of the pod on its data folder alone, then on the bucket. */
const ROUNDS = { local: 27, bucket: 27 }
/** Rounds between two checks of the settled network (the last round of each phase is one). */
const SETTLE_EVERY = 9
/** Longest run of the workload before a kill (ms). */
const MAX_RUN_MS = 2500
const SETTLE_MS = 120_000
/**
 * Moments half the kills aim at: within `ms` after the victim logs `event`, the work that
 * follows it is under way (a file's removal after its rows', the next move to the bucket, a
 * rendition being stored, the next batch to a friend, a copy being kept).
 */
const AIMS = [
  { event: 'video.uploaded', ms: 60 },
  { event: 'video.deleted', ms: 80 },
  { event: 'transcoder.job.started', ms: 1500 },
  { event: 'transcoder.job.done', ms: 40 },
  { event: 'storage.moved', ms: 40 },
  { event: 'mirror.downloading', ms: 400 },
  { event: 'mirror.ready', ms: 40 },
  { event: 'friend.delivery.succeeded', ms: 20 },
] as const

const seed = crashSeed()
const rng = new Rng(seed)
console.log(`crash test: seed ${seed} (CRASH_SEED=${seed} bun test test/crash.test.ts replays this schedule)`)

let gw: Radosgw | undefined
const pods: CrashPod[] = []
let migration: Migration | undefined
/** Set once the test ran to its end: otherwise the pods' last words are printed. */
let passed = false

afterAll(async () => {
  if (!passed) for (const pod of pods) console.error(`crash test (seed ${seed}): ${pod.name}'s last log lines:\n${pod.recentLog()}`)
  await migration?.kill()
  await Promise.all(pods.map((p) => p.kill()))
  await gw?.stop()
  removeTempDirs()
})

/** The bucket's objects, by key, with their sizes. */
async function bucketObjects(): Promise<Map<string, number>> {
  const out = new Map<string, number>()
  let token: string | undefined
  do {
    const page = await gw!.client().list({ maxKeys: 1000, ...(token ? { continuationToken: token } : {}) })
    for (const o of page.contents ?? []) out.set(o.key, o.size ?? -1)
    token = page.isTruncated ? page.nextContinuationToken : undefined
  } while (token)
  return out
}

test(
  'SIGKILL at random moments of re-packaging, uploads, transcoding, fan-out, copies and moves to S3: files match rows after every restart, messages apply once, indexes converge',
  async () => {
    const started = Date.now()
    const work = tempDir()
    const [mp4, webm, older, unaligned, oldWebm] = await Promise.all([
      makeClip(work, { seconds: 2 }),
      makeWebmClip(work, { seconds: 2, kbps: 100 }),
      makeClip(work, { seconds: 4 }),
      makeClip(work, { seconds: 4, keyframeSeconds: 3 }),
      makeWebmClip(work, { seconds: 4, kbps: 100 }),
    ])
    // The victim starts on a data folder of the release before streams: its first start
    // re-packages those videos (a package job each, renditions made again) under the kills.
    const [radosgw, old] = await Promise.all([
      startRadosgw({ bucket: BUCKET }),
      makeOldData(
        [older, unaligned, oldWebm, older, unaligned, oldWebm, older, older].map((file, i) => ({ file, name: `keep old ${i}` })),
        [144],
      ),
    ])
    gw = radosgw
    const storageEnv = { SEEDPOD_STORAGE_KIND: 's3', ...gw.env(BUCKET) }
    const victim = new CrashPod('victim', old.dataDir, old.port, { SEEDPOD_REDUNDANCY_ENABLED: 'true', SEEDPOD_NAME: 'victim', SEEDPOD_LOG_LEVEL: 'debug' })
    const friend = await CrashPod.create('friend', tempDir(), { SEEDPOD_TRANSCODING_ENABLED: 'false', SEEDPOD_NAME: 'friend' })
    pods.push(victim, friend)
    const stores = new Map<CrashPod, Store>([
      [victim, { dataDir: victim.dataDir }],
      [friend, { dataDir: friend.dataDir }],
    ])
    const setUp = Date.now() - started
    const users = new Workload(rng, { mp4, webm })
    users.keepers.set(victim, [...old.ids])
    /** How many aimed kills found their event. */
    const aimed = new Map<string, number>()
    /** Time spent waiting for the network to settle (ms). */
    let settling = 0
    /** The round by whose start the re-packaging was done. */
    let repackedBy: string | undefined

    // Friends, and a few videos of the friend's, before the first kill (the victim re-packages meanwhile).
    await Promise.all([victim.addAdmin(), friend.addAdmin()])
    await Promise.all([victim.start(), friend.start()])
    await Promise.all([victim.login(), friend.login()])
    const made = await victim.api('/api/v1/friends/make', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ pods: [friend.base] }) })
    expect(((await made.json()) as { results: { status: string }[] }).results[0]!.status).toBe('added')
    for (let i = 0; i < 2; i++) await users.upload(friend, true)

    /** Starts what is stopped (killing the victim again while it starts, now and then); checks each restarted pod's files. */
    const restart = async (round: string, migrateFirst = false) => {
      for (const pod of [victim, friend]) {
        if (pod.running) continue
        const tmpBefore = pod.tmpNames()
        // Its start's sweep while files move to the bucket.
        if (pod === victim && migrateFirst && !migration?.running) migration = new Migration(victim, storageEnv)
        pod.spawn()
        if (pod === victim && rng.chance(0.15)) {
          // Killed again during its start: while it sweeps, migrates, resumes.
          await Bun.sleep(rng.range(0, 400))
          await pod.kill()
          pod.spawn()
        }
        await pod.ready()
        const left = pod.tmpNames().filter((n) => tmpBefore.includes(n))
        expect(left, `${round}: ${pod.name}'s tmp/ after the restart`).toEqual([])
        expect(await storeProblems(pod, stores.get(pod)!), `${round}: ${pod.name}'s files after the restart`).toEqual([])
        expect(pod.alarmsNow(), `${round}: what ${pod.name} logged`).toEqual([])
      }
    }

    /**
     * One round: views (answered), then operations in flight, then the kill: at a drawn moment,
     * or aimed a drawn few ms after the victim logs a drawn event. Everything is drawn first, so
     * a seed replays the same plan whatever the timings.
     */
    const round = async (name: string, onBucket: boolean) => {
      const plan = {
        views: [rng.range(0, 3), rng.range(0, 3)],
        uploads: [rng.chance(0.5), ...(rng.chance(0.4) ? [rng.chance(0.5)] : [])],
        remove: rng.chance(0.35),
        rename: rng.chance(0.3),
        friendUpload: rng.chance(0.25),
        migrate: onBucket && rng.chance(0.6),
        migrateFirst: onBucket && rng.chance(0.3),
        aim: rng.chance(0.5) ? rng.pick(AIMS) : undefined,
        afterMs: rng.range(0, MAX_RUN_MS),
        killFriend: rng.chance(0.15),
        killMigration: rng.chance(0.4),
      }
      await restart(name, plan.migrateFirst)
      if (repackedBy === undefined && (await victim.json<RepackProgress>('/api/v1/videos/repackaging')).progress === 1) repackedBy = name
      await users.views(victim, friend, plan.views[0]!)
      await users.views(friend, victim, plan.views[1]!)
      const from = victim.outputLength()
      const ops = plan.uploads.map((keep) => users.upload(victim, keep))
      if (plan.remove) ops.push(users.deleteOne(victim))
      if (plan.rename) ops.push(users.renameOne(victim))
      if (plan.friendUpload) ops.push(users.upload(friend, true))
      if (plan.migrate && !migration?.running) migration = new Migration(victim, storageEnv)
      if (plan.aim) {
        if (await victim.logged(plan.aim.event, from, MAX_RUN_MS)) aimed.set(plan.aim.event, (aimed.get(plan.aim.event) ?? 0) + 1)
        await Bun.sleep(plan.afterMs % (plan.aim.ms + 1))
      } else await Bun.sleep(plan.afterMs)
      await victim.kill()
      if (plan.killFriend) await friend.kill()
      if (plan.killMigration && migration?.running) await migration.kill()
      await Promise.allSettled(ops)
      // A migration that ran to its end (not killed) must have succeeded.
      if (migration && !migration.running && migration.child.proc.signalCode === null) {
        expect(await migration.child.exit(), `${name}: storage migrate:\n${migration.child.stderr}`).toBe(0)
        migration = undefined
      }
    }

    /** Both pods up, deliveries settled, every file where its row says. */
    const settled = async (phase: string) => {
      const t0 = Date.now()
      await restart(`${phase}, settling`)
      // One left running finishes beside the settling pod, and must succeed.
      if (migration?.running) expect(await migration.child.exit(60_000), `${phase}: storage migrate:\n${migration.child.stderr}`).toBe(0)
      migration = undefined
      expect(await settle(victim, friend, users, SETTLE_MS), `${phase}: the network did not settle`).toEqual([])
      expect(await failedJobs(victim), `${phase}: failed jobs`).toEqual([])
      expect(await victim.json<RepackProgress>('/api/v1/videos/repackaging'), `${phase}: the re-packaging`).toMatchObject({ videos: old.ids.length, videosDone: old.ids.length, failed: 0, progress: 1 })
      for (const pod of [victim, friend]) expect(await storeProblems(pod, stores.get(pod)!), `${phase}: ${pod.name}'s files`).toEqual([])
      settling += Date.now() - t0
    }

    for (let r = 1; r <= ROUNDS.local; r++) {
      await round(`local round ${r}`, false)
      if (r % SETTLE_EVERY === 0) await settled(`local round ${r}`)
    }

    // On the bucket: new files go there after their rows, `storage migrate` moves the rest.
    victim.env = { ...victim.env, ...storageEnv }
    stores.set(victim, { dataDir: victim.dataDir, objects: bucketObjects })
    await victim.kill()
    for (let r = 1; r <= ROUNDS.bucket; r++) {
      await round(`bucket round ${r}`, true)
      if (r % SETTLE_EVERY === 0) await settled(`bucket round ${r}`)
    }

    // A last migration, to its end: nothing of the victim's is left in its data folder.
    const last = new Migration(victim, storageEnv)
    expect(await last.child.exit(60_000), last.child.stderr).toBe(0)
    expect([...folderFiles(victim.dataDir).keys()]).toEqual([])
    expect(await storeProblems(victim, stores.get(victim)!)).toEqual([])

    const copies = (await victim.json<{ mirrors: unknown[] }>('/api/v1/videos/mirrors')).mirrors.length
    console.log(
      `crash test: seed ${seed}, ${victim.kills} kills of the victim, ${friend.kills} of its friend; ${users.counts.uploadsAnswered} of ${users.counts.uploads} uploads answered, ` +
        `${users.counts.deletes} deletions, ${users.counts.renames} renames, ${users.counts.views} views, ${copies} copies kept; ${((Date.now() - started) / 1000).toFixed(0)} s, ${(settling / 1000).toFixed(0)} s of them settling, ${(setUp / 1000).toFixed(0)} s setting up`,
    )
    console.log(`crash test: aimed kills that found their event: ${JSON.stringify(Object.fromEntries(aimed))}; the re-packaging was done by ${repackedBy}`)
    for (const pod of pods) expect(pod.alarmsNow(), `what ${pod.name} logged`).toEqual([])
    expect(victim.kills).toBeGreaterThanOrEqual(50)
    expect(copies).toBeGreaterThan(0)
    await Promise.all(pods.map((p) => p.stop()))
    passed = true
  },
  900_000,
)
