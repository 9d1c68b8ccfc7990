/**
 * The housekeeper actor: runs the pod's periodic chores (forgetting old message ids, sending
 * the views counted for friends' videos, ...) every `everyMs`, each on its own timer. What a
 * chore does is the pod's; a chore that throws is logged and runs again next time.
 */
import { fromCallback } from 'xstate'
import type { ActorLog } from './ports'

/** One periodic chore. */
export interface Chore {
  name: string
  everyMs: number
  run(): void | Promise<void>
}

export interface HousekeeperInput {
  chores: readonly Chore[]
  log: ActorLog
}

/** Runs every chore on its schedule until the pod stops. */
export const housekeeperLogic = fromCallback<{ type: 'housekeeper.noop' }, HousekeeperInput>(({ input }) => {
  const timers = input.chores.map((chore) =>
    setInterval(async () => {
      try {
        await chore.run()
      } catch (e) {
        input.log.warn('housekeeping.failed', { chore: chore.name, error: e })
      }
    }, chore.everyMs),
  )
  return () => {
    for (const t of timers) clearInterval(t)
  }
})
