/**
 * The friend machine with the pod's effects provided (actors/friend.ts declares them): its
 * deliveries, its durable record, its revocation and its outbox check are the friends
 * service's and its store's.
 */
import { fromPromise } from 'xstate'
import { friendMachine, type DeliveryOutcome } from '../../actors/friend'
import type { Friends } from './service'

/** The friend machine of one pod. */
export function provideFriendMachine(friends: Friends, now: () => number) {
  return friendMachine.provide({
    actors: { deliver: fromPromise<DeliveryOutcome, { fingerprint: string }>(({ input }) => friends.deliver(input.fingerprint)) },
    guards: { hasQueued: (_, { fingerprint }) => friends.store.hasQueued(fingerprint) },
    actions: {
      save: (_, { fingerprint, record }) => friends.store.saveRecord(fingerprint, record, now()),
      revoke: (_, { fingerprint, reason }) => friends.revoke(fingerprint, reason),
    },
  })
}
