/**
 * The root actor: the pod. It owns every other actor (friends, tracker, seeder, transcoder,
 * redundancy)
 * as children registered in the actor system under a `systemId`,
 * so that they reach each other through the system's in-process mailbox
 * (`system.get('friend:<fingerprint>').send(...)`) instead of globals.
 */
import { createActor, enqueueActions, setup, type ActorRefFrom, type AnyActorRef } from 'xstate'
import type { Logger } from '../src/shared/log'
import { friendMachine, type FriendEvent, type FriendPorts, type FriendRecord } from './friend'
import { seederLogic, type SeederActorInput } from './seeder'
import { trackerLogic, type TrackerActorInput } from './tracker'
import { redundancyLogic, type RedundancyActorInput } from './redundancy'
import { transcoderLogic, type TranscoderActorInput } from './transcoder'

/** What the pod actor needs from the rest of the server. */
export interface PodActorInput {
  log: Logger
  friendPorts: FriendPorts
  tracker: TrackerActorInput
  seeder: SeederActorInput
  transcoder: TranscoderActorInput
  redundancy: RedundancyActorInput
}

/** Events the pod actor takes. */
export type PodEvent =
  /** Start (or restart, after a restore or a new friend request) the actor of a friend. */
  | { type: 'pod.friend.start'; fingerprint: string; record: FriendRecord }
  /** Stop a friend's actor (unfriended, quit, revoked). */
  | { type: 'pod.friend.stop'; fingerprint: string }
  | { type: 'pod.stop' }

/** The system id of a friend's actor. */
export const friendActorId = (fingerprint: string) => `friend:${fingerprint}`

/**
 * A long-lived service child of the pod: registered in the system under its own name (so
 * others reach it with `system.get(name)`), its input from the pod's, its failure logged.
 */
const service = <K extends 'tracker' | 'seeder' | 'transcoder' | 'redundancy'>(name: K) =>
  ({
    src: name,
    systemId: name,
    input: ({ context }: { context: PodActorInput }) => context[name],
    onError: { actions: ({ context, event }: { context: PodActorInput; event: { error: unknown } }) => context.log.error(`${name}.failed`, { error: event.error as Error }) },
  }) as const

/** The pod machine: running until told to stop, then it stops its children and ends. */
export const podMachine = setup({
  types: {
    input: {} as PodActorInput,
    context: {} as PodActorInput,
    events: {} as PodEvent,
  },
  actors: { friend: friendMachine, tracker: trackerLogic, seeder: seederLogic, transcoder: transcoderLogic, redundancy: redundancyLogic },
}).createMachine({
  id: 'pod',
  context: ({ input }) => input,
  initial: 'running',
  states: {
    running: {
      invoke: [service('tracker'), service('seeder'), service('transcoder'), service('redundancy')],
      on: {
        'pod.friend.start': {
          actions: enqueueActions(({ enqueue, event, context }) => {
            // A child id must be free before it is spawned again.
            enqueue.stopChild(event.fingerprint)
            enqueue.spawnChild('friend', {
              id: event.fingerprint,
              systemId: friendActorId(event.fingerprint),
              input: { fingerprint: event.fingerprint, record: event.record, ports: context.friendPorts },
            })
          }),
        },
        'pod.friend.stop': { actions: enqueueActions(({ enqueue, event }) => enqueue.stopChild(event.fingerprint)) },
        'pod.stop': 'stopped',
      },
    },
    stopped: { type: 'final' },
  },
})

export type PodActor = ActorRefFrom<typeof podMachine>

/** Starts the actor system with the pod as its root (`system.get('pod')`). */
export function startPodActor(input: PodActorInput): PodActor {
  const actor = createActor(podMachine, { input, systemId: 'pod' })
  actor.start()
  return actor
}

/** Sends an event to a friend's actor through the system mailbox, if that friend has one. */
export function tellFriend(pod: AnyActorRef, fingerprint: string, event: FriendEvent): boolean {
  const friend = pod.system.get(friendActorId(fingerprint))
  if (!friend) return false
  friend.send(event)
  return true
}
