/**
 * One friend pod, as an actor that owns its score, its outbox delivery, its retry backoff
 * and its revocation. Side effects (sending a batch, saving the record, revoking) are ports
 * given in the input, so the machine runs the same against a real database and network as
 * in a test with a SimulatedClock.
 *
 * Timers are not restored from snapshots, so the record keeps the absolute `nextRetryAt`:
 * a friend actor re-created after a restart computes its remaining wait from it.
 */
import { assign, fromPromise, setup } from 'xstate'
import { retryDelay, type RetryPolicyConfig } from './retry'

/** What one delivery attempt of the queued messages came to. */
export type DeliveryOutcome =
  | { kind: 'delivered'; count: number }
  | { kind: 'empty' }
  | { kind: 'failed'; error: string }
  | { kind: 'incompatible'; error: string }

/** States as `GET /api/v1/friends` shows them. */
export type FriendState = 'active' | 'backoff' | 'incompatible' | 'revoked'

/** The durable part of a friend actor (one row of `friends`). */
export interface FriendRecord {
  score: number
  attempts: number
  nextRetryAt: number | null
  lastError: string | null
  state: FriendState
}

/** The side effects a friend actor performs, and its settings. */
export interface FriendPorts {
  /** Sends the next batch of queued messages (or resends the unanswered one). */
  deliver(fingerprint: string): Promise<DeliveryOutcome>
  hasQueued(fingerprint: string): boolean
  persist(fingerprint: string, record: FriendRecord): void
  /** Ends the friendship: drops the friend and its videos, blacklists it if configured. */
  revoke(fingerprint: string, reason: string): void
  now(): number
  readonly retry: RetryPolicyConfig
  readonly score: { readonly step: number; readonly max: number }
  /** How long an `incompatible` friend waits before it is tried again (it may have upgraded). */
  readonly incompatibleRecheckMs: number
}

export interface FriendInput {
  fingerprint: string
  record: FriendRecord
  ports: FriendPorts
}

interface FriendContext extends FriendRecord {
  fingerprint: string
  ports: FriendPorts
}

/** Events a friend actor takes (through `system.get('friend:<fingerprint>')`). */
export type FriendEvent =
  /** New messages were queued for this friend. */
  | { type: 'friend.outbox.updated' }
  /** Try now instead of waiting out the backoff (an admin asked, or the friend showed up). */
  | { type: 'friend.retry.now' }

// setTimeout cannot wait longer than this; a longer wait is simply re-armed on wake-up.
const MAX_TIMER_MS = 2 ** 31 - 1

const record = (c: FriendContext, state: FriendState): FriendRecord => ({
  score: c.score,
  attempts: c.attempts,
  nextRetryAt: c.nextRetryAt,
  lastError: c.lastError,
  state,
})

/** The friend machine. Spawn it by its name, `friend`, from the pod actor. */
export const friendMachine = setup({
  types: {
    input: {} as FriendInput,
    context: {} as FriendContext,
    events: {} as FriendEvent,
  },
  actors: {
    deliver: fromPromise<DeliveryOutcome, { fingerprint: string; ports: FriendPorts }>(({ input }) => input.ports.deliver(input.fingerprint)),
  },
  guards: {
    wasInBackoff: ({ context }) => context.state === 'backoff',
    wasIncompatible: ({ context }) => context.state === 'incompatible',
    hasQueued: ({ context }) => context.ports.hasQueued(context.fingerprint),
    scoreDepleted: ({ context }) => context.score <= 0,
  },
  delays: {
    retryDelay: ({ context }) =>
      context.nextRetryAt === null ? MAX_TIMER_MS : Math.min(MAX_TIMER_MS, Math.max(0, context.nextRetryAt - context.ports.now())),
    incompatibleRecheck: ({ context }) => Math.min(MAX_TIMER_MS, context.ports.incompatibleRecheckMs),
  },
  actions: {
    save: ({ context }, state: FriendState) => context.ports.persist(context.fingerprint, record(context, state)),
    revoke: ({ context }) =>
      context.ports.revoke(context.fingerprint, `score reached 0 after ${context.attempts} failed attempts (last: ${context.lastError ?? 'unknown'})`),
  },
}).createMachine({
  id: 'friend',
  context: ({ input }) => ({ ...input.record, fingerprint: input.fingerprint, ports: input.ports }),
  initial: 'restoring',
  states: {
    restoring: {
      always: [
        { guard: 'wasInBackoff', target: 'backoff' },
        { guard: 'wasIncompatible', target: 'incompatible' },
        { target: 'idle' },
      ],
    },
    idle: {
      entry: { type: 'save', params: 'active' },
      always: { guard: 'hasQueued', target: 'delivering' },
      on: { 'friend.outbox.updated': 'delivering', 'friend.retry.now': 'delivering' },
    },
    delivering: {
      invoke: {
        src: 'deliver',
        input: ({ context }) => ({ fingerprint: context.fingerprint, ports: context.ports }),
        onDone: [
          {
            guard: ({ event }) => event.output.kind === 'delivered',
            target: 'idle',
            actions: assign(({ context }) => ({
              score: Math.min(context.ports.score.max, context.score + context.ports.score.step),
              attempts: 0,
              nextRetryAt: null,
              lastError: null,
            })),
          },
          { guard: ({ event }) => event.output.kind === 'empty', target: 'idle' },
          {
            guard: ({ event }) => event.output.kind === 'incompatible',
            target: 'incompatible',
            actions: assign(({ event }) => ({ lastError: (event.output as { error: string }).error, nextRetryAt: null })),
          },
          { target: 'failed', actions: assign(({ event }) => ({ lastError: (event.output as { error: string }).error })) },
        ],
        onError: { target: 'failed', actions: assign(({ event }) => ({ lastError: String((event.error as Error)?.message ?? event.error) })) },
      },
    },
    failed: {
      entry: assign(({ context }) => {
        const delay = retryDelay(context.ports.retry, context.attempts)
        return {
          score: Math.max(0, context.score - context.ports.score.step),
          attempts: context.attempts + 1,
          nextRetryAt: delay === null ? null : context.ports.now() + delay,
        }
      }),
      always: [{ guard: 'scoreDepleted', target: 'revoked' }, { target: 'backoff' }],
    },
    backoff: {
      entry: { type: 'save', params: 'backoff' },
      after: { retryDelay: 'delivering' },
      on: { 'friend.retry.now': 'delivering' },
    },
    incompatible: {
      entry: { type: 'save', params: 'incompatible' },
      after: { incompatibleRecheck: 'delivering' },
      on: { 'friend.retry.now': 'delivering' },
    },
    revoked: { type: 'final', entry: 'revoke' },
  },
})
