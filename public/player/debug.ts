/** Player timeline on the console, for diagnosing playback: on when localStorage `seedpod.debug` is set. */
let on: boolean | undefined

/** Logs `what` with the time since the page started (ms), when debugging is on. */
export function debug(what: string, data?: unknown): void {
  if (on === undefined) {
    try {
      on = !!localStorage.getItem('seedpod.debug')
    } catch {
      on = false
    }
  }
  if (on) console.debug(`[seedpod ${Math.round(performance.now())}ms] ${what}`, data === undefined ? '' : JSON.stringify(data))
}
