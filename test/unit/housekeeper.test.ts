/** The housekeeper actor runs each chore on its own schedule, survives a failing one, and stops with its pod. */
import { describe, expect, test } from 'bun:test'
import { createActor } from 'xstate'
import { housekeeperLogic } from '../../actors/housekeeper'

describe('housekeeper', () => {
  test('chores run every everyMs; one that throws is logged and runs again; none runs after stop', async () => {
    const runs = { fast: 0, failing: 0, slow: 0 }
    const warned: unknown[] = []
    const log = { debug() {}, info() {}, warn: (event: string, fields?: unknown) => warned.push([event, fields]), error() {} }
    const actor = createActor(housekeeperLogic, {
      input: {
        log,
        chores: [
          { name: 'fast', everyMs: 10, run: () => void runs.fast++ },
          { name: 'failing', everyMs: 15, run: () => { runs.failing++; throw new Error('disk gone') } },
          { name: 'slow', everyMs: 60_000, run: () => void runs.slow++ },
        ],
      },
    })
    actor.start()
    // Real timers on a busy machine: wait for the runs rather than for a fixed time.
    const deadline = Date.now() + 10_000
    while (runs.fast < 4 || runs.failing < 2) {
      if (Date.now() > deadline) throw new Error(`chores ran too little: ${JSON.stringify(runs)}`)
      await Bun.sleep(5)
    }
    actor.stop()
    const after = { ...runs }
    // The failing chore ran again after it threw; the slow one waits for its own minute.
    expect(after.slow).toBe(0)
    expect(warned[0]).toEqual(['housekeeping.failed', { chore: 'failing', error: new Error('disk gone') }])
    await Bun.sleep(60)
    expect(runs).toEqual(after)
  })
})
