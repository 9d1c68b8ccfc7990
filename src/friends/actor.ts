/**
 * The friend machine with the pod's effects provided (actors/friend.ts declares them): its
 * deliveries, its durable record, its revocation and its outbox check are the friends
 * service's and its store's. Each delivery is timed for the pod's metrics.
 */
import { fromPromise } from 'xstate'
import { friendMachine, type DeliveryOutcome } from '../../actors/friend'
import type { Friends } from './service'

/** Told of each delivery that sent something: to whom, how it went, and how long it took (seconds). */
export type DeliveryObserver = (fingerprint: string, outcome: Exclude<DeliveryOutcome['kind'], 'empty'>, seconds: number) => void

/** The friend machine of one pod. */
export function provideFriendMachine(friends: Friends, now: () => number, delivered: DeliveryObserver = () => {}) {
  const deliver = async (fingerprint: string): Promise<DeliveryOutcome> => {
    const started = performance.now()
    const outcome = await friends.deliver(fingerprint)
    if (outcome.kind !== 'empty') delivered(fingerprint, outcome.kind, (performance.now() - started) / 1000)
    return outcome
  }
  return friendMachine.provide({
    actors: { deliver: fromPromise<DeliveryOutcome, { fingerprint: string }>(({ input }) => deliver(input.fingerprint)) },
    guards: { hasQueued: (_, { fingerprint }) => friends.store.hasQueued(fingerprint) },
    actions: {
      save: (_, { fingerprint, record }) => friends.store.saveRecord(fingerprint, record, now()),
      revoke: (_, { fingerprint, reason }) => friends.revoke(fingerprint, reason),
    },
  })
}
