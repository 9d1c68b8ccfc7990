/** The video of a watch or embed page: the one the HTML carried, else asked of the API (with the user's token). */
import { useEffect, useState } from 'preact/hooks'
import { api, ApiError } from './api'
import { takeBootVideo } from './boot'
import { useSession } from './session'
import type { Video } from './types'

/** The video `id`, or the error that came instead. */
export function useVideo(id: string) {
  const session = useSession()
  const [video, setVideo] = useState<Video | undefined>(() => takeBootVideo(id))
  const [error, setError] = useState<ApiError | undefined>()

  useEffect(() => {
    if (video?.id === id) return
    setVideo(undefined)
    setError(undefined)
    const ctl = new AbortController()
    api<Video>(`/api/v1/videos/${encodeURIComponent(id)}`, { signal: ctl.signal })
      .then(setVideo)
      .catch((e) => {
        if ((e as Error).name !== 'AbortError') setError(e instanceof ApiError ? e : new ApiError(0, 'unknown', 'The video could not be loaded.'))
      })
    return () => ctl.abort()
  }, [id, session?.token])

  return { video, error }
}

/** What a viewer is told when a video cannot be shown. */
export function videoErrorText(error: ApiError): string {
  return error.status === 404 ? 'This video does not exist (any more).' : error.status === 401 ? 'Log in to watch videos on this pod.' : error.message
}
