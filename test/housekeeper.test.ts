/** The housekeeper actor runs each chore on its own schedule, survives a failing one, and stops with its pod. */
import { describe, expect, test } from 'bun:test'
import { createActor } from 'xstate'
import { housekeeperLogic } from '../actors/housekeeper'

describe('housekeeper', () => {
  test('chores run every everyMs; one that throws is logged and runs again; none runs after stop', async () => {
    const runs = { fast: 0, failing: 0 }
    const warned: unknown[] = []
    const log = { debug() {}, info() {}, warn: (event: string, fields?: unknown) => warned.push([event, fields]), error() {} }
    const actor = createActor(housekeeperLogic, {
      input: {
        log,
        chores: [
          { name: 'fast', everyMs: 10, run: () => void runs.fast++ },
          { name: 'failing', everyMs: 15, run: () => { runs.failing++; throw new Error('disk gone') } },
        ],
      },
    })
    actor.start()
    await Bun.sleep(120)
    actor.stop()
    const after = { ...runs }
    expect(after.fast).toBeGreaterThanOrEqual(4)
    expect(after.failing).toBeGreaterThanOrEqual(2)
    expect(warned[0]).toEqual(['housekeeping.failed', { chore: 'failing', error: new Error('disk gone') }])
    await Bun.sleep(60)
    expect(runs).toEqual(after)
  })
})
