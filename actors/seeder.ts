/**
 * The seeder actor: owns the pod's server-side WebTorrent client, which seeds every own
 * video over TCP so that any BitTorrent client can fetch it (browsers use the web seed and
 * each other). Torrents are re-added from their stored .torrent files without re-hashing
 * the videos, in the background after start, so a restart costs little per video.
 */
import { readFileSync } from 'node:fs'
import { dirname } from 'node:path'
import WebTorrent from 'webtorrent'
import { fromCallback } from 'xstate'
import type { Logger } from '../src/log'
import type { LocalFile } from '../src/videos/service'

export type SeederEvent = { type: 'seeder.video.added'; file: LocalFile } | { type: 'seeder.video.removed'; infoHash: string }

export interface SeederActorInput {
  /** The own videos to seed at start. */
  files: () => LocalFile[]
  /** TCP port for BitTorrent peers (0: any free port). */
  port: number
  log: Logger
}

/** Seeds own videos over TCP; destroys the client on stop. */
export const seederLogic = fromCallback<SeederEvent, SeederActorInput>(({ input, receive }) => {
  const client = new WebTorrent({ dht: false, lsd: false, utp: false, natUpnp: false, natPmp: false, webSeeds: false, torrentPort: input.port })
  client.on('error', (e: Error) => input.log.error('seeder.error', { error: e }))
  let stopped = false
  const add = (file: LocalFile) => {
    if (stopped || client.torrents.some((t) => t.infoHash === file.infoHash)) return
    try {
      // skipVerify: the file is the one this pod hashed at upload; do not read it all again.
      client.add(readFileSync(file.torrentPath), { path: dirname(file.path), skipVerify: true }, (t) =>
        input.log.debug('seeder.seeding', { infoHash: t.infoHash }),
      )
    } catch (e) {
      input.log.error('seeder.add.failed', { infoHash: file.infoHash, error: e as Error })
    }
  }
  // Start seeding after the pod answers requests, a few torrents at a time.
  const queue = input.files()
  const drain = () => {
    for (const f of queue.splice(0, 20)) add(f)
    if (queue.length && !stopped) setTimeout(drain, 10)
  }
  setTimeout(drain, 0)
  receive((event) => {
    if (event.type === 'seeder.video.added') add(event.file)
    else void client.remove(event.infoHash, { destroyStore: false }).catch(() => undefined)
  })
  return () => {
    stopped = true
    client.destroy()
  }
})
