/**
 * Uploads of the route fuzzer (test/fuzz-routes.test.ts): a user's well-formed form whose file
 * is a media bomb, a good clip cut or flipped, or a claimed petabyte; and bursts of them sent at
 * once, past the upload queue's share of a user (429) and of the pod (503), while two uploads
 * of the first user are held open.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { randomString, type Rng } from './fuzz'
import type { FuzzFixture } from './fuzz-fixture'
import { answerProblems, describeInput, enc, send, type Input, type Outcome } from './fuzz-inputs'
import { listTree } from './pods'

/** An upload's body and what a user expects of it. */
export interface UploadForm {
  body: Uint8Array
  contentType: string
  expect?: number[]
  expectCode?: string
  /** The Content-Length claimed (only the body is sent). */
  claim?: number
}

const BOUNDARY = 'fuzzupload'

/** A multipart form of a name and `file`, closed or not. */
function form(r: Rng, file: Uint8Array, end = true): Uint8Array {
  // Any text a name may be (a name the pod refuses would hide what it says of the file).
  const name = `fuzz ${[...randomString(r, 40).replace(/[\r\n]/g, ' ')].slice(0, 50).join('')}`
  const head = `--${BOUNDARY}\r\nContent-Disposition: form-data; name="name"\r\n\r\n${name}\r\n--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="v.mp4"\r\n\r\n`
  return Buffer.concat([enc.encode(head), file, enc.encode(end ? `\r\n--${BOUNDARY}--\r\n` : '')])
}

/**
 * A user's upload with a well-formed form: a media bomb (415 with its code), a good clip cut
 * short or with bytes flipped (taken or refused), or a claim of a petabyte of which a few bytes
 * are sent (507: the disk's margin, before a byte is written).
 */
export function uploadForm(r: Rng, fx: Pick<FuzzFixture, 'bombs' | 'clip'>): UploadForm {
  const contentType = `multipart/form-data; boundary=${BOUNDARY}`
  const k = r.float()
  if (k < 0.5) {
    const bomb = r.pick(fx.bombs)
    return { body: form(r, new Uint8Array(readFileSync(bomb.path))), contentType, expect: [415], expectCode: bomb.code }
  }
  if (k < 0.85) {
    const clip = new Uint8Array(readFileSync(fx.clip))
    const bytes = r.chance(0.5) ? clip.slice(0, r.int(clip.length)) : clip.slice()
    for (let t = r.range(0, 20); t > 0; t--) bytes[r.int(bytes.length)] = r.int(256)
    return { body: form(r, bytes), contentType }
  }
  return { body: form(r, r.bytes(r.range(0, 4000)), false), contentType, expect: [507], expectCode: 'insufficient_storage', claim: 2 ** 50 }
}

/** A good clip's upload whose last bytes come `holdMs` after the rest: it holds its place in the queue. */
async function heldUpload(base: string, token: string, file: Uint8Array, r: Rng, holdMs: number): Promise<Outcome> {
  const body = form(r, file)
  const cut = body.length - 10
  const stream = new ReadableStream<Uint8Array>({
    async start(c) {
      c.enqueue(body.subarray(0, cut))
      await Bun.sleep(holdMs)
      c.enqueue(body.subarray(cut))
      c.close()
    },
  })
  try {
    const res = await fetch(`${base}/api/v1/videos`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': `multipart/form-data; boundary=${BOUNDARY}` }, body: stream })
    return { status: res.status, contentType: res.headers.get('content-type'), retryAfter: res.headers.get('retry-after'), body: await res.text(), more: [] }
  } catch (e) {
    return { more: [], note: `fetch failed: ${(e as Error).message}` }
  }
}

/** Video rows and the files of videos/ and tmp/ of pod A. */
function stored(fx: FuzzFixture): { rows: number; files: string[] } {
  const rows = (fx.a.running.pod.db.query('SELECT count(*) AS n FROM videos').get() as { n: number }).n
  const files = listTree(fx.a.config.dataDir).filter((f) => /^(videos|tmp)\/./.test(f))
  return { rows, files }
}

/**
 * `rounds` bursts: the owner holds two uploads open (a good clip and a bomb, their last bytes
 * late), then sends two more (429: their share is taken) while the other user sends two (503:
 * with `uploads.concurrency` 1 and `uploads.queueLength` 1 the pod is full); every answer is
 * checked as in the fuzz loop, and after each burst the pod holds a video (rows and files) for
 * each 201 and nothing in tmp/. Returns the problems found, and prints the answers' statuses.
 */
export async function uploadBursts(fx: FuzzFixture, r: Rng, rounds: number): Promise<string[]> {
  const problems: string[] = []
  const statuses = new Map<string, number>()
  const port = fx.a.running.port
  for (let round = 0; round < rounds; round++) {
    const before = stored(fx)
    const held = [heldUpload(fx.a.base, fx.tokens.owner, new Uint8Array(readFileSync(fx.clip)), r, 600), heldUpload(fx.a.base, fx.tokens.owner, new Uint8Array(readFileSync(r.pick(fx.bombs).path)), r, 600)]
    // Both admitted (admission comes before a byte is read) before the others knock.
    await Bun.sleep(200)
    const input = (user: 'owner' | 'other', n: number): Input => {
      const upload = uploadForm(r, fx)
      const expect = [user === 'owner' ? 429 : 503]
      return { part: 'upload-burst', n, kind: `POST /api/v1/videos by ${user} while the queue is full`, method: 'POST', path: '/api/v1/videos', headers: { authorization: `Bearer ${fx.tokens[user]}`, 'content-type': upload.contentType }, body: upload.body, transport: 'fetch', mayChange: false, json: true, expect }
    }
    const inputs = [input('owner', round * 4), input('owner', round * 4 + 1), input('other', round * 4 + 2), input('other', round * 4 + 3)]
    const outcomes = await Promise.all(inputs.map((i) => send(port, i)))
    const heldOutcomes = await Promise.all(held)
    let made = 0
    for (const [k, o] of [...outcomes, ...heldOutcomes].entries()) {
      const i = inputs[k] ?? { ...inputs[0]!, kind: 'a held upload', expect: k === 4 ? [201] : [415], headers: {}, body: undefined }
      statuses.set(String(o.status ?? o.note), (statuses.get(String(o.status ?? o.note)) ?? 0) + 1)
      if (o.status === 201) made++
      const found = answerProblems(i, o)
      if (found.length) problems.push(`round ${round}: ${describeInput(i)}\n    got: ${o.status ?? o.note} ${(o.body ?? '').slice(0, 200)}\n    - ${found.join('\n    - ')}`)
    }
    const after = stored(fx)
    const videoFiles = (s: typeof before) => s.files.filter((f) => f.startsWith('videos/')).length
    if (after.rows - before.rows !== made) problems.push(`round ${round}: ${made} uploads answered 201, but ${after.rows - before.rows} videos were added`)
    if (made > 0 && videoFiles(after) <= videoFiles(before)) problems.push(`round ${round}: an upload answered 201, but no file was added to videos/`)
    if (made === 0 && videoFiles(after) !== videoFiles(before)) problems.push(`round ${round}: no upload was taken, but videos/ changed: ${after.files.join(', ')}`)
    const tmp = after.files.filter((f) => f.startsWith('tmp/') && !before.files.includes(f))
    if (tmp.length) problems.push(`round ${round}: files left in tmp/: ${tmp.map((f) => join(fx.a.config.dataDir, f)).join(', ')}`)
  }
  console.log(`fuzz upload-bursts: ${rounds} rounds; statuses: ${[...statuses].map(([s, n]) => `${s} ${n}`).join(', ')}`)
  return problems
}
