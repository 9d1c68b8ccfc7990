/**
 * The root actor: the pod. It owns every other actor (friends, tracker, seeder) as
 * children registered in the actor system under a `systemId`, so that they reach each other
 * through the system's in-process mailbox (`system.get(id).send(...)`) instead of globals.
 */
import { createActor, setup, type ActorRefFrom } from 'xstate'
import type { Logger } from '../src/log'

/** What the pod actor needs from the rest of the server. */
export interface PodActorInput {
  log: Logger
}

/** Events the pod actor takes. */
export type PodEvent = { type: 'pod.stop' }

/** The pod machine: running until told to stop, then it stops its children and ends. */
export const podMachine = setup({
  types: {
    input: {} as PodActorInput,
    context: {} as PodActorInput,
    events: {} as PodEvent,
  },
}).createMachine({
  id: 'pod',
  context: ({ input }) => input,
  initial: 'running',
  states: {
    running: {
      entry: ({ context }) => context.log.debug('actors.started'),
      on: { 'pod.stop': 'stopped' },
    },
    stopped: { type: 'final', entry: ({ context }) => context.log.debug('actors.stopped') },
  },
})

export type PodActor = ActorRefFrom<typeof podMachine>

/** Starts the actor system with the pod as its root (`system.get('pod')`). */
export function startPodActor(input: PodActorInput): PodActor {
  const actor = createActor(podMachine, { input, systemId: 'pod' })
  actor.start()
  return actor
}
