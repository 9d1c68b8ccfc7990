/**
 * The watch page's live peer-to-peer numbers: peers, download and upload speed, how many
 * bytes came from other viewers and how many from web seeds, and the quality playing. The
 * numbers are also on the panel as data attributes, for tests and benches.
 */
import { bytes, speed } from '../lib/format'
import type { PlayerStats } from '../player'

const MODE_TEXT: Record<PlayerStats['mode'], string> = {
  starting: 'Joining the swarm…',
  stream: 'Streaming: each segment from other viewers first',
  direct: 'Streaming from the pod, without other viewers',
}

export function Stats({ stats, firstFrameMs }: { stats: PlayerStats | undefined; firstFrameMs: number | undefined }) {
  const s = stats ?? { peers: 0, downloadSpeed: 0, uploadSpeed: 0, fromPeers: 0, fromWebSeed: 0, uploaded: 0, mode: 'starting' as const }
  const total = s.fromPeers + s.fromWebSeed
  const share = total ? Math.round((s.fromPeers / total) * 100) : 0
  return (
    <section class="stats" aria-labelledby="stats-title">
      <div class="stats-head">
        <h2 id="stats-title">Peer-to-peer</h2>
        <span class={`mode mode-${s.mode}`}>{MODE_TEXT[s.mode]}</span>
      </div>
      <dl
        class="stats-grid"
        data-testid="p2p-stats"
        data-peers={s.peers}
        data-from-peers={s.fromPeers}
        data-from-webseed={s.fromWebSeed}
        data-uploaded={s.uploaded}
        data-mode={s.mode}
        data-quality={s.quality}
        data-first-frame-ms={firstFrameMs === undefined ? undefined : Math.round(firstFrameMs)}
      >
        <div>
          <dt>Peers</dt>
          <dd>{s.peers}</dd>
        </div>
        <div>
          <dt>Download</dt>
          <dd>{speed(s.downloadSpeed)}</dd>
        </div>
        <div>
          <dt>Upload</dt>
          <dd>{speed(s.uploadSpeed)}</dd>
        </div>
        <div>
          <dt>Sent to peers</dt>
          <dd>{bytes(s.uploaded)}</dd>
        </div>
        {s.quality && (
          <div>
            <dt>Quality</dt>
            <dd>{s.quality}</dd>
          </div>
        )}
      </dl>
      <div class="sources">
        <div
          class="source-bar"
          role="img"
          aria-label={total ? `${share}% of the bytes came from other viewers, ${100 - share}% from the web seed.` : 'Nothing received yet.'}
        >
          <span class="source-peers" style={{ width: `${total ? share : 0}%` }} />
          <span class="source-webseed" style={{ width: `${total ? 100 - share : 0}%` }} />
        </div>
        <ul class="source-legend">
          <li>
            <span class="swatch swatch-peers" aria-hidden="true" />
            From peers <strong>{bytes(s.fromPeers)}</strong>
          </li>
          <li>
            <span class="swatch swatch-webseed" aria-hidden="true" />
            From web seed <strong>{bytes(s.fromWebSeed)}</strong>
          </li>
        </ul>
      </div>
    </section>
  )
}
