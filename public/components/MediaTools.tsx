/**
 * The admin page's warning when the pod has no ffmpeg or ffprobe (src/media/tools.ts): why
 * uploads are refused, and what to do. Read once from `GET /api/v1/health`: the pod looks for
 * the tools at start only, so nothing changes until it restarts. Nothing when they are there.
 */
import { usePolled } from '../lib/refresh'

/** What `GET /api/v1/health` says of the tools. */
interface Health {
  media: { ready: boolean; problem?: string }
}

/** After a failure to load the health, the next try. */
const RETRY_MS = 5000

export function MediaToolsAlert() {
  const { value } = usePolled<Health>('/api/v1/health', RETRY_MS, () => false, 'The pod’s health could not be loaded.')
  if (!value || value.media.ready) return null
  return (
    <p class="alert alert-error media-tools" role="alert">
      <strong>Uploads are refused.</strong> {value.media.problem} Install them (Debian, Ubuntu: <code>sudo apt install ffmpeg</code>; Fedora:{' '}
      <code>sudo dnf install ffmpeg</code> from RPM Fusion; Alpine: <code>apk add ffmpeg</code>; macOS: <code>brew install ffmpeg</code>; Windows:{' '}
      <code>winget install Gyan.FFmpeg</code>), then restart the pod.
    </p>
  )
}
