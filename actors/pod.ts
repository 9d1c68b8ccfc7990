/**
 * The root actor: the pod. It owns every other actor (one per friend, and the tracker,
 * seeder, transcoder, redundancy and housekeeper services) as its children, and is the one address the
 * rest of the pod sends events to: `pod.friend.*` events start, stop and wake friends' actors,
 * and `seeder.*`, `tracker.*`, `transcoder.*` and `redundancy.*` events go on to that child.
 * Events sent before the actor starts wait in its mailbox, so none is lost to start order.
 *
 * The friend machine's effects are provided by the pod when it is assembled
 * (`podMachine.provide({ actors: { friend: friendMachine.provide(...) } })`); the service
 * children get their ports in the pod's input.
 */
import { enqueueActions, sendTo, setup, type ActorRefFrom } from 'xstate'
import { friendMachine, type FriendEvent, type FriendRecord, type FriendSettings } from './friend'
import { housekeeperLogic, type HousekeeperInput } from './housekeeper'
import type { ActorLog } from './ports'
import { redundancyLogic, type RedundancyActorInput, type RedundancyEvent } from './redundancy'
import { seederLogic, type SeederActorInput, type SeederEvent } from './seeder'
import { trackerLogic, type TrackerActorInput, type TrackerEvent } from './tracker'
import { transcoderLogic, type TranscoderActorInput, type TranscoderEvent } from './transcoder'

/** What the pod actor needs from the rest of the pod. */
export interface PodActorInput {
  log: ActorLog
  /** The stored friends, read when the pod starts: each gets its actor. */
  storedFriends: () => { fingerprint: string; record: FriendRecord }[]
  friendSettings: FriendSettings
  tracker: TrackerActorInput
  seeder: SeederActorInput
  transcoder: TranscoderActorInput
  redundancy: RedundancyActorInput
  housekeeper: HousekeeperInput
}

/** Events the pod actor takes. */
export type PodEvent =
  /** Start (or restart, after a new friend request) the actor of a friend. */
  | { type: 'pod.friend.start'; fingerprint: string; record: FriendRecord }
  /** Stop a friend's actor (unfriended, quit, revoked). */
  | { type: 'pod.friend.stop'; fingerprint: string }
  /** An event for a friend's actor; dropped when that friend has none (it is no friend). */
  | { type: 'pod.friend.tell'; fingerprint: string; event: FriendEvent }
  | SeederEvent
  | TrackerEvent
  | TranscoderEvent
  | RedundancyEvent
  | { type: 'pod.stop' }

/** Where the rest of the pod sends events (the pod actor, started or not yet). */
export interface PodEvents {
  send(event: PodEvent): void
}

/**
 * A long-lived service child of the pod: its id is its name, its input from the pod's, its
 * failure logged.
 */
const service = <K extends 'tracker' | 'seeder' | 'transcoder' | 'redundancy' | 'housekeeper'>(name: K) =>
  ({
    src: name,
    id: name,
    input: ({ context }: { context: PodActorInput }) => context[name],
    onError: { actions: ({ context, event }: { context: PodActorInput; event: { error: unknown } }) => context.log.error(`${name}.failed`, { error: event.error }) },
  }) as const

/** The pod machine: running until told to stop, then it stops its children and ends. */
export const podMachine = setup({
  types: {
    input: {} as PodActorInput,
    context: {} as PodActorInput,
    events: {} as PodEvent,
  },
  actors: { friend: friendMachine, tracker: trackerLogic, seeder: seederLogic, transcoder: transcoderLogic, redundancy: redundancyLogic, housekeeper: housekeeperLogic },
}).createMachine({
  id: 'pod',
  context: ({ input }) => input,
  initial: 'running',
  states: {
    running: {
      invoke: [service('tracker'), service('seeder'), service('transcoder'), service('redundancy'), service('housekeeper')],
      // Scores, outboxes and retry times come from the database: a restarted pod goes on where it was.
      entry: enqueueActions(({ enqueue, context }) => {
        for (const f of context.storedFriends())
          enqueue.spawnChild('friend', { id: f.fingerprint, input: { fingerprint: f.fingerprint, record: f.record, settings: context.friendSettings } })
      }),
      on: {
        'pod.friend.start': {
          actions: enqueueActions(({ enqueue, event, context }) => {
            // A child id must be free before it is spawned again.
            enqueue.stopChild(event.fingerprint)
            enqueue.spawnChild('friend', { id: event.fingerprint, input: { fingerprint: event.fingerprint, record: event.record, settings: context.friendSettings } })
          }),
        },
        'pod.friend.stop': { actions: enqueueActions(({ enqueue, event }) => enqueue.stopChild(event.fingerprint)) },
        'pod.friend.tell': {
          actions: enqueueActions(({ enqueue, event, self }) => {
            if (self.getSnapshot().children[event.fingerprint]) enqueue.sendTo(event.fingerprint, event.event)
          }),
        },
        'seeder.*': { actions: sendTo('seeder', ({ event }) => event) },
        'tracker.*': { actions: sendTo('tracker', ({ event }) => event) },
        'transcoder.*': { actions: sendTo('transcoder', ({ event }) => event) },
        'redundancy.*': { actions: sendTo('redundancy', ({ event }) => event) },
        'pod.stop': 'stopped',
      },
    },
    stopped: { type: 'final' },
  },
})

/** The pod's actor. */
export type PodActor = ActorRefFrom<typeof podMachine>
