/**
 * Thumbnails on a pod that asks for a login before showing videos: the pod refuses them
 * without the user's token, which an `<img src>` cannot send, so they are fetched with it
 * and shown from an object URL. Elsewhere the URL is used as it is.
 */
import { useEffect, useState } from 'preact/hooks'
import { boot } from './boot'
import { useSession } from './session'

/** The URL to show a thumbnail from (undefined while it loads, or without one). */
export function useThumbnail(url: string | null | undefined): string | undefined {
  const s = useSession()
  const gated = boot.pod.requireLoginToWatch
  const [shown, setShown] = useState<string | undefined>(gated ? undefined : (url ?? undefined))
  useEffect(() => {
    if (!gated || !url || !s) return setShown(gated ? undefined : (url ?? undefined))
    let objectUrl: string | undefined
    const abort = new AbortController()
    fetch(url, { headers: { authorization: `Bearer ${s.token}` }, signal: abort.signal })
      .then((res) => (res.ok ? res.blob() : undefined))
      .then((blob) => {
        if (!blob || abort.signal.aborted) return
        objectUrl = URL.createObjectURL(blob)
        setShown(objectUrl)
      })
      .catch(() => undefined)
    return () => {
      abort.abort()
      if (objectUrl) URL.revokeObjectURL(objectUrl)
    }
  }, [url, s?.token, gated])
  return shown
}
