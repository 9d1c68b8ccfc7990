/** Lists and states that the admin page keeps current while it is open. */
import { useEffect, useState } from 'preact/hooks'
import { api, ApiError } from './api'
import { sentence } from './format'

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

/**
 * Gets `path` of the API now, and again every `everyMs` while `again(answer)` says it may
 * still change, or after a failure (then `error` says why: the API's words, else `failed`).
 */
export function usePolled<T>(path: string, everyMs: number, again: (answer: T) => boolean, failed: string): { value?: T; error?: string } {
  const [value, setValue] = useState<T | undefined>()
  const [error, setError] = useState<string | undefined>()
  useEffect(() => {
    let live = true
    let timer: ReturnType<typeof setTimeout> | undefined
    const load = async () => {
      try {
        const answer = await api<T>(path)
        if (!live) return
        setValue(answer)
        setError(undefined)
        if (again(answer)) timer = setTimeout(load, everyMs)
      } catch (e) {
        if (!live) return
        setError(e instanceof ApiError ? sentence(e.message) : failed)
        timer = setTimeout(load, everyMs)
      }
    }
    load()
    return () => {
      live = false
      clearTimeout(timer)
    }
  }, [path])
  return { value, error }
}

/**
 * What an admin section shows and does: `data` from `load`, kept current every `everyMs`; the
 * error to show (the API's words, or `failed`); and `act`, which runs an admin action, shows
 * its error if it fails (`what` failed), and loads again.
 */
export function useAdminData<T>(load: () => Promise<T>, failed: string, everyMs: number) {
  const [data, setData] = useState<T | undefined>()
  const [error, setError] = useState<string | undefined>()
  const [tick, setTick] = useState(0)
  useRefresh(
    async (live) => {
      try {
        const d = await load()
        if (live()) setData(d)
      } catch (e) {
        if (live()) setError(e instanceof ApiError ? sentence(e.message) : failed)
      }
    },
    everyMs,
    [tick],
  )
  const act = async (what: string, action: () => Promise<unknown>) => {
    setError(undefined)
    try {
      await action()
      setTick((n) => n + 1)
    } catch (e) {
      setError(e instanceof ApiError ? sentence(e.message) : `${what} failed.`)
    }
  }
  return { data, error, setError, act }
}
