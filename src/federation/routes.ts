/**
 * `POST /api/v1/pod/inbox`: where other pods deliver (docs/protocol.md, "Inbox"). The body
 * is one compact JWE of at most `maxMessageBytes`, read here without a parser; the inbox
 * answers with a sealed reply, and its refusals become the protocol's statuses.
 */
import { Elysia } from 'elysia'
import { STATUS, errorResponse } from '../shared/error-response'
import { readLimited } from '../shared/body'
import { clientAddress } from '../shared/client-address'
import type { Logger } from '../shared/log'
import type { Inbox } from './inbox'

/** The inbox route of one pod. */
export const inboxRoutes = ({ fingerprint, inbox, maxMessageBytes, trustProxy, log }: { fingerprint: string; inbox: Inbox; maxMessageBytes: number; trustProxy: boolean; log: Logger }) =>
  new Elysia({ name: 'inbox', prefix: '/api/v1', seed: fingerprint }).post(
    '/pod/inbox',
    async ({ request, server }) => {
      const type = request.headers.get('content-type')?.split(';')[0]?.trim().toLowerCase()
      if (type !== 'application/jose') return errorResponse(415, 'unsupported_media_type', 'the inbox takes one compact JWE as application/jose')
      // A sender that closes the connection mid-body is answered (if it still listens) as the upload route answers it.
      const bytes = await readLimited(request, maxMessageBytes).catch(() => null)
      if (bytes === null) return errorResponse(400, 'aborted', 'the message was cut off: the connection closed before its end')
      if (bytes === undefined) return errorResponse(413, 'too_large', `a message may have at most ${maxMessageBytes} bytes`)
      const answer = await inbox.receive(new TextDecoder().decode(bytes).trim(), clientAddress(trustProxy, request.headers.get('x-forwarded-for'), server?.requestIP(request)?.address))
      if (answer.ok) return 'jose' in answer.value ? new Response(answer.value.jose, { headers: { 'content-type': 'application/jose' } }) : Response.json({ ok: true, duplicate: true })
      const refusal = answer.error
      log.warn('inbox.refused', { kind: refusal.kind, error: refusal.code })
      // A 426 also says `supported` at the top level, as the protocol words it.
      const supported = refusal.extra?.supported ? { supported: refusal.extra.supported } : undefined
      const res = errorResponse(STATUS[refusal.kind], refusal.code, refusal.message, refusal.extra && { ...refusal.extra })
      return supported ? Response.json({ ...(await res.json()), ...supported }, { status: res.status, headers: res.headers }) : res
    },
    // The inbox reads the raw body itself (size limit, exact bytes).
    { parse: 'none' },
  )
