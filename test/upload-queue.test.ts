/**
 * Ingest as a bounded queue (issue 18), against a real pod and the real ffmpeg: one user's
 * 20 parallel uploads never run more than `uploads.concurrency` uploads' worth of ffprobe and
 * ffmpeg processes at once (counted among the pod's children in /proc), each gets a clear
 * answer (stored, or 429 with Retry-After before a byte is read), and many users at once get
 * 503 with Retry-After beyond the queue; admitted uploads wait their turn and are stored.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { makeClip } from './helpers/clips'
import { removeTempDirs, startTestPod, tempDir, type TestPod } from './helpers/pods'
import { watchTools } from './helpers/processes'
import { uploadVideo, userToken } from './helpers/videos'

afterAll(removeTempDirs)

/** Uploads prepared at once; each runs at most two tools at a time (the thumbnail while the file is remuxed). */
const CONCURRENCY = 2
const TOOLS_PER_UPLOAD = 2

let pod: TestPod
let clip: string

beforeAll(async () => {
  clip = await makeClip(tempDir(), { seconds: 2 })
  pod = await startTestPod({ uploads: { concurrency: CONCURRENCY, perUser: 3, queueLength: 2 }, transcoding: { enabled: false } })
})

afterAll(() => pod.stop())

/** Sends `count` uploads of the clip with `token` at once; each answer's status, code and Retry-After. */
async function burst(token: string, count: number) {
  return Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const res = await uploadVideo(pod.base, token, { file: Bun.file(clip), name: `Clip ${i}` })
      const body = (await res.json()) as { id?: string; error?: { code: string; message: string; retryAfter?: number } }
      return { status: res.status, code: body.error?.code, message: body.error?.message, retryAfter: res.headers.get('retry-after') }
    }),
  )
}

const count = (answers: { status: number }[], status: number) => answers.filter((a) => a.status === status).length

/** Every answer is a clear one: stored, or refused with `status` and `code` and when to try again; at least `least` of each. */
function expectClear(answers: Awaited<ReturnType<typeof burst>>, status: number, code: string, least: { stored: number; refused: number }) {
  expect(answers.every((a) => a.status === 201 || a.status === status)).toBe(true)
  expect(count(answers, 201)).toBeGreaterThanOrEqual(least.stored)
  expect(count(answers, status)).toBeGreaterThanOrEqual(least.refused)
  for (const a of answers.filter((x) => x.status === status)) {
    expect(a.code).toBe(code)
    expect(Number(a.retryAfter)).toBeGreaterThanOrEqual(1)
  }
}

describe('uploads as a bounded queue', () => {
  test("one user's 20 parallel uploads: their share is stored, the rest get 429 with Retry-After, and never more than the queue's tools run at once", async () => {
    const token = await userToken(pod, 'eager')
    const tools = watchTools()
    const answers = await burst(token, 20)
    tools.stop()
    // Refused for the user's share, saying so.
    expectClear(answers, 429, 'too_many_uploads', { stored: 3, refused: 10 })
    expect(answers.find((a) => a.status === 429)!.message).toContain('at most 3 at once')
    expect(tools.seen).toBeGreaterThanOrEqual(3 * 2)
    expect(tools.maxAtOnce).toBeLessThanOrEqual(CONCURRENCY * TOOLS_PER_UPLOAD)
    expect(pod.running.pod.videos.uploads.load()).toEqual({ preparing: 0, waiting: 0 })
    console.log(`20 parallel uploads of one user: ${count(answers, 201)} stored, ${count(answers, 429)} x 429; ${tools.seen} tool runs, at most ${tools.maxAtOnce} at once (bound ${CONCURRENCY * TOOLS_PER_UPLOAD})`)
  })

  test('many users at once: the pod takes concurrency + queueLength, the others get 503 with Retry-After; those admitted wait their turn and are stored', async () => {
    const tokens = await Promise.all(['ann', 'bob', 'cyd', 'dee', 'eve', 'fay'].map((n) => userToken(pod, n)))
    const tools = watchTools()
    const answers = (await Promise.all(tokens.map((t) => burst(t, 2)))).flat()
    tools.stop()
    // Four in flight at most (two prepared, two waiting), of twelve sent at once.
    expectClear(answers, 503, 'uploads_busy', { stored: 4, refused: 4 })
    expect(tools.maxAtOnce).toBeLessThanOrEqual(CONCURRENCY * TOOLS_PER_UPLOAD)
    // Once they are done, the pod takes uploads again.
    const again = await uploadVideo(pod.base, tokens[0], { file: Bun.file(clip), name: 'After the rush' })
    expect(again.status).toBe(201)
    console.log(`12 uploads of 6 users at once: ${count(answers, 201)} stored, ${count(answers, 503)} x 503; at most ${tools.maxAtOnce} tools at once`)
  })
})
