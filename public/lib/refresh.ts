/** Lists that the admin page keeps current while it is open. */
import { useEffect } from 'preact/hooks'

/**
 * Calls `load` now and every `everyMs` while the component is shown, and anew when `deps`
 * change; `live()` tells `load` whether its answer is still wanted (the component may be gone).
 */
export function useRefresh(load: (live: () => boolean) => Promise<void>, everyMs: number, deps: unknown[]): void {
  useEffect(() => {
    let live = true
    const isLive = () => live
    load(isLive)
    const timer = setInterval(() => load(isLive), everyMs)
    return () => {
      live = false
      clearInterval(timer)
    }
  }, deps)
}
