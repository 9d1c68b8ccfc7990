/**
 * `POST /api/v1/pod/inbox`: where other pods deliver (docs/protocol.md, "Inbox"). The body
 * is one compact JWE of at most `maxMessageBytes`, read here without a parser; the inbox
 * answers with a sealed reply, and its refusals become the protocol's statuses.
 */
import { Elysia } from 'elysia'
import { STATUS, errorResponse } from '../app/errors'
import type { Logger } from '../shared/log'
import type { Inbox } from './inbox'

/** Reads a request body up to `limit` bytes; undefined if it is larger. */
async function readLimited(request: Request, limit: number): Promise<string | undefined> {
  const declared = Number(request.headers.get('content-length') ?? NaN)
  if (declared > limit) return undefined
  if (!request.body) return ''
  const chunks: Uint8Array[] = []
  let size = 0
  for await (const chunk of request.body) {
    size += chunk.byteLength
    if (size > limit) return undefined
    chunks.push(chunk)
  }
  return Buffer.concat(chunks).toString('utf8')
}

/** The inbox route of one pod. */
export const inboxRoutes = ({ fingerprint, inbox, maxMessageBytes, log }: { fingerprint: string; inbox: Inbox; maxMessageBytes: number; log: Logger }) =>
  new Elysia({ name: 'inbox', prefix: '/api/v1', seed: fingerprint }).post(
    '/pod/inbox',
    async ({ request }) => {
      const type = request.headers.get('content-type')?.split(';')[0]?.trim().toLowerCase()
      if (type !== 'application/jose') return errorResponse(415, 'unsupported_media_type', 'the inbox takes one compact JWE as application/jose')
      const body = await readLimited(request, maxMessageBytes)
      if (body === undefined) return errorResponse(413, 'too_large', `a message may have at most ${maxMessageBytes} bytes`)
      const answer = await inbox.receive(body.trim())
      if (answer.ok) return 'jose' in answer ? new Response(answer.jose, { headers: { 'content-type': 'application/jose' } }) : Response.json({ ok: true, duplicate: true })
      log.warn('inbox.refused', { kind: answer.kind, error: answer.code })
      // A 426 also says `supported` at the top level, as the protocol words it.
      const supported = answer.supported ? { supported: answer.supported } : undefined
      const res = errorResponse(STATUS[answer.kind], answer.code, answer.message, supported)
      return supported ? Response.json({ ...(await res.json()), ...supported }, { status: res.status, headers: res.headers }) : res
    },
    // The inbox reads the raw body itself (size limit, exact bytes).
    { parse: 'none' },
  )
