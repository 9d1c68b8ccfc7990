/**
 * `POST /api/v1/pod/inbox`: where other pods deliver (docs/protocol.md, "Inbox"). The body
 * is one compact JWE, read without a parser within what its sender may send (inbox-body.ts);
 * the inbox answers with a sealed reply, and its refusals become the protocol's statuses.
 */
import { Elysia } from 'elysia'
import { STATUS, errorResponse } from '../shared/error-response'
import { addressBlock, clientAddress } from '../shared/client-address'
import type { Failure } from '../shared/errors'
import type { Logger } from '../shared/log'
import type { Inbox } from './inbox'
import { readInboxBody, type InboxBodyLimits } from './inbox-body'

/** What the inbox route uses. */
export interface InboxRoutesDeps {
  fingerprint: string
  inbox: Inbox
  /** How bodies are read: sizes by sender, time limit, budget of bytes in flight. */
  limits: InboxBodyLimits
  trustProxy: boolean
  log: Logger
}

/** A refusal of the inbox as its answer: the protocol's status, `Retry-After` where there is one. */
async function refusalResponse(refusal: Failure): Promise<Response> {
  // A 426 also says `supported` at the top level, as the protocol words it.
  const supported = refusal.extra?.supported ? { supported: refusal.extra.supported } : undefined
  const res = errorResponse(STATUS[refusal.kind], refusal.code, refusal.message, refusal.extra && { ...refusal.extra })
  return supported ? Response.json({ ...(await res.json()), ...supported }, { status: res.status, headers: res.headers }) : res
}

/** The inbox route of one pod. */
export const inboxRoutes = ({ fingerprint, inbox, limits, trustProxy, log }: InboxRoutesDeps) =>
  new Elysia({ name: 'inbox', prefix: '/api/v1', seed: fingerprint }).post(
    '/pod/inbox',
    async ({ request, server }) => {
      const type = request.headers.get('content-type')?.split(';')[0]?.trim().toLowerCase()
      if (type !== 'application/jose') return errorResponse(415, 'unsupported_media_type', 'the inbox takes one compact JWE as application/jose')
      const address = clientAddress(trustProxy, request.headers.get('x-forwarded-for'), server?.requestIP(request)?.address)
      // Counted before the body is read: a flood of payloads costs no reading.
      const flood = inbox.fromAddress(address)
      if (flood) return refusalResponse(flood)
      const body = await readInboxBody(request, addressBlock(address), limits)
      if (!body.ok) {
        log.warn('inbox.refused', { kind: 'body', error: body.code })
        return errorResponse(body.status, body.code, body.message, body.retryAfter ? { retryAfter: body.retryAfter } : undefined)
      }
      try {
        const answer = await inbox.receive(body.text, address)
        if (answer.ok) return 'jose' in answer.value ? new Response(answer.value.jose, { headers: { 'content-type': 'application/jose' } }) : Response.json({ ok: true, duplicate: true })
        log.warn('inbox.refused', { kind: answer.error.kind, error: answer.error.code })
        return refusalResponse(answer.error)
      } finally {
        body.release()
      }
    },
    // The inbox reads the raw body itself (inbox-body.ts: its size by sender, time, budget).
    { parse: 'none' },
  )
