/**
 * The admin page's storage section: where the pod keeps its files (the data folder, or a
 * bucket: endpoint, bucket, prefix, public URL) and whether that store answers, polled every
 * few seconds so that an outage (and its end) shows without reloading.
 */
import { relative, sentence } from '../lib/format'
import { usePolled } from '../lib/refresh'

/** What `GET /api/v1/storage` answers (never a credential). */
interface StorageInfo {
  kind: 'local' | 's3'
  endpoint?: string
  bucket?: string
  prefix?: string
  publicBaseUrl?: string
  health: { state: 'ok' | 'unavailable'; error?: string; checkedAt: number }
  /** Files kept in the data folder until they are in the bucket (served from there meanwhile). */
  pendingMoves: number
}

const POLL_MS = 3000

export function StorageState() {
  // The data folder does not go away: only a bucket is watched.
  const { value: info, error } = usePolled<StorageInfo>('/api/v1/storage', POLL_MS, (r) => r.kind === 's3', 'The storage state could not be loaded.')
  const down = info?.health.state === 'unavailable'
  return (
    <section aria-labelledby="storage-title" class="section">
      <h2 id="storage-title">Storage</h2>
      {error && <p class="error-text">{error}</p>}
      {info?.kind === 'local' && <p class="muted">Files are kept in the pod's data folder.</p>}
      {info?.kind === 's3' && (
        <>
          <p>
            Bucket <strong>{info.bucket}</strong>
            {info.prefix ? ` (keys under ${info.prefix})` : ''} at <code>{info.endpoint ?? 'AWS'}</code>
            {info.publicBaseUrl ? `, served from ${info.publicBaseUrl}` : ', served with presigned URLs'}.
          </p>
          <p class={down ? 'alert alert-error storage-state' : 'alert alert-success storage-state'} role="status" data-state={info.health.state}>
            {down ? `Unavailable: ${sentence(info.health.error ?? 'no answer')} Uploads are refused until it answers again.` : 'Available.'}
            {info.health.checkedAt > 0 && <span class="muted"> Checked {relative(info.health.checkedAt)}.</span>}
          </p>
          {info.pendingMoves > 0 && (
            <p class="muted storage-moves">
              {info.pendingMoves === 1 ? '1 new file waits' : `${info.pendingMoves} new files wait`} in the data folder for the bucket (served from there meanwhile).
            </p>
          )}
        </>
      )}
    </section>
  )
}
