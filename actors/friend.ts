/**
 * One friend pod, as an actor that owns its score, its outbox delivery, its retry backoff
 * and its revocation. Its side effects (sending a batch, saving the record, revoking, asking
 * whether anything is queued) are declared here, failing loudly until provided by the pod
 * (`friendMachine.provide(...)`, src/friends/actor.ts), so the machine runs the same against
 * a real database and network as in a test with a SimulatedClock and fakes.
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
  /** The friend asked to slow down (429): wait as long as it said, no score lost. */
  | { kind: 'throttled'; retryInMs: number; error: string }

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

/** A friend actor's settings: how it retries and scores, and its clock. */
export interface FriendSettings {
  readonly retry: RetryPolicyConfig
  readonly score: { readonly step: number; readonly max: number }
  /** How long an `incompatible` friend waits before it is tried again (it may have upgraded); default: the policy's longest wait. */
  readonly incompatibleRecheckMs?: number
  /** The time `nextRetryAt` is kept in (the actor clock's, in tests). */
  now(): number
}

export interface FriendInput {
  fingerprint: string
  record: FriendRecord
  settings: FriendSettings
}

interface FriendContext extends FriendRecord {
  fingerprint: string
  settings: FriendSettings
}

/** What the `save` and `revoke` actions are given. */
export interface FriendSave {
  fingerprint: string
  record: FriendRecord
}
export interface FriendRevoke {
  fingerprint: string
  reason: string
}

/** Events a friend actor takes (through `system.get('friend:<fingerprint>')`). */
export type FriendEvent =
  /** New messages were queued for this friend. */
  | { type: 'friend.outbox.updated' }
  /** Try now instead of waiting out the backoff (an admin asked, or the friend showed up). */
  | { type: 'friend.retry.now' }

// setTimeout cannot wait longer than this; a longer wait is simply re-armed on wake-up.
const MAX_TIMER_MS = 2 ** 31 - 1

/** The `save` action's params in `state`: the record as it is now. */
const saved =
  (state: FriendState) =>
  ({ context: c }: { context: FriendContext }): FriendSave => ({
    fingerprint: c.fingerprint,
    record: { score: c.score, attempts: c.attempts, nextRetryAt: c.nextRetryAt, lastError: c.lastError, state },
  })

/** The friend machine. Spawn it by its name, `friend`, from the pod actor. */
export const friendMachine = setup({
  types: {
    input: {} as FriendInput,
    context: {} as FriendContext,
    events: {} as FriendEvent,
  },
  // Ports: provided by the pod (and by tests). Unprovided, they fail loudly instead of doing nothing.
  actors: {
    /** Sends the next batch of queued messages (or resends the unanswered one). */
    deliver: fromPromise<DeliveryOutcome, { fingerprint: string }>(async () => {
      throw new Error('friendMachine: the deliver port is not provided')
    }),
  },
  guards: {
    wasInBackoff: ({ context }) => context.state === 'backoff',
    wasIncompatible: ({ context }) => context.state === 'incompatible',
    /** Whether messages are queued for this friend. */
    hasQueued: (_, _params: { fingerprint: string }): boolean => {
      throw new Error('friendMachine: the hasQueued port is not provided')
    },
    scoreDepleted: ({ context }) => context.score <= 0,
  },
  delays: {
    retryDelay: ({ context }) =>
      context.nextRetryAt === null ? MAX_TIMER_MS : Math.min(MAX_TIMER_MS, Math.max(0, context.nextRetryAt - context.settings.now())),
    incompatibleRecheck: ({ context }) => {
      const { retry, incompatibleRecheckMs } = context.settings
      return Math.min(MAX_TIMER_MS, incompatibleRecheckMs ?? retryDelay(retry, retry.retries) ?? retry.baseMs)
    },
  },
  actions: {
    /** Saves the durable record. */
    save: (_, _params: FriendSave) => {
      throw new Error('friendMachine: the save port is not provided')
    },
    /** Ends the friendship: drops the friend and its videos, blacklists it if configured. */
    revoke: (_, _params: FriendRevoke) => {
      throw new Error('friendMachine: the revoke port is not provided')
    },
  },
}).createMachine({
  id: 'friend',
  context: ({ input }) => ({ ...input.record, fingerprint: input.fingerprint, settings: input.settings }),
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
      entry: { type: 'save', params: saved('active') },
      always: { guard: { type: 'hasQueued', params: ({ context }) => ({ fingerprint: context.fingerprint }) }, target: 'delivering' },
      on: { 'friend.outbox.updated': 'delivering', 'friend.retry.now': 'delivering' },
    },
    delivering: {
      invoke: {
        src: 'deliver',
        input: ({ context }) => ({ fingerprint: context.fingerprint }),
        onDone: [
          {
            guard: ({ event }) => event.output.kind === 'delivered',
            target: 'idle',
            actions: assign(({ context }) => ({
              score: Math.min(context.settings.score.max, context.score + context.settings.score.step),
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
          {
            guard: ({ event }) => event.output.kind === 'throttled',
            target: 'backoff',
            actions: assign(({ context, event }) => {
              const out = event.output as { retryInMs: number; error: string }
              return { lastError: out.error, nextRetryAt: context.settings.now() + out.retryInMs }
            }),
          },
          { target: 'failed', actions: assign(({ event }) => ({ lastError: (event.output as { error: string }).error })) },
        ],
        onError: { target: 'failed', actions: assign(({ event }) => ({ lastError: String((event.error as Error)?.message ?? event.error) })) },
      },
    },
    failed: {
      entry: assign(({ context }) => {
        const delay = retryDelay(context.settings.retry, context.attempts)
        return {
          score: Math.max(0, context.score - context.settings.score.step),
          attempts: context.attempts + 1,
          nextRetryAt: delay === null ? null : context.settings.now() + delay,
        }
      }),
      always: [{ guard: 'scoreDepleted', target: 'revoked' }, { target: 'backoff' }],
    },
    backoff: {
      entry: { type: 'save', params: saved('backoff') },
      after: { retryDelay: 'delivering' },
      on: { 'friend.retry.now': 'delivering' },
    },
    incompatible: {
      entry: { type: 'save', params: saved('incompatible') },
      after: { incompatibleRecheck: 'delivering' },
      on: { 'friend.retry.now': 'delivering' },
    },
    revoked: {
      type: 'final',
      entry: {
        type: 'revoke',
        params: ({ context }) => ({
          fingerprint: context.fingerprint,
          reason: `score reached 0 after ${context.attempts} failed attempts (last: ${context.lastError ?? 'unknown'})`,
        }),
      },
    },
  },
})
