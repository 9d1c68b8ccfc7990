/**
 * The seeder actor: owns the pod's server-side WebTorrent client, which seeds own videos
 * over TCP so that any BitTorrent client can fetch them (browsers use the web seed and each
 * other). Seeding is on demand: a restarted pod serves its web seeds at once and seeds a
 * video over TCP only once someone asks for it (a tracker announce, a watch page) or right
 * after its upload, so restart cost does not grow with the number of videos. A torrent is
 * added from its stored .torrent file without re-hashing the video.
 */
import type WebTorrent from 'webtorrent'
import { fromCallback } from 'xstate'
import type { ActorLog, LoadWebTorrent, SeedFile } from './ports'

export type SeederEvent =
  /** A new own file: seed it now (it is about to be watched). */
  | { type: 'seeder.video.added'; file: SeedFile }
  /** Someone asked for this info hash: seed it if it is an own file not seeded yet. */
  | { type: 'seeder.video.wanted'; infoHash: string }
  | { type: 'seeder.video.removed'; infoHash: string }

export interface SeederActorInput {
  /** The own file with this info hash, if any. */
  find: (infoHash: string) => SeedFile | undefined
  /** TCP port for BitTorrent peers (0: any free port). */
  port: number
  /** The client's peer id (hex): the pod's tracker knows it as the pod's own, never pushed out of a swarm. */
  peerId: string
  loadWebTorrent: LoadWebTorrent
  log: ActorLog
  /** The .torrent of a file. */
  readTorrent: (file: SeedFile) => Promise<Uint8Array | undefined>
  /**
   * Where webtorrent finds a file: its folder on this machine, and a chunk store (webtorrent's
   * `store`) when its bytes may be elsewhere (a bucket's object); without one, the file itself.
   */
  place: (file: SeedFile) => { folder: string; store?: unknown }
}

/** Seeds own videos over TCP on demand; destroys the client on stop. */
export const seederLogic = fromCallback<SeederEvent, SeederActorInput>(({ input, receive }) => {
  // Loaded and created at the first video to seed: an idle pod, and its start, do not pay for
  // a BitTorrent client (webtorrent is the largest module the pod has).
  let client: Promise<WebTorrent> | undefined
  let stopped = false
  const seeding = new Set<string>()
  const add = async (file: SeedFile) => {
    if (seeding.has(file.infoHash)) return
    seeding.add(file.infoHash)
    client ??= input.loadWebTorrent().then((WebTorrent) =>
      new WebTorrent({ dht: false, lsd: false, utp: false, natUpnp: false, natPmp: false, webSeeds: false, torrentPort: input.port, peerId: input.peerId }).on('error', (e: Error) =>
        input.log.error('seeder.error', { error: e }),
      ),
    )
    let c: WebTorrent
    try {
      c = await client
    } catch (e) {
      // webtorrent could not be loaded: say so, and let a later request try again.
      client = undefined
      seeding.delete(file.infoHash)
      input.log.error('seeder.load.failed', { error: e })
      return
    }
    try {
      const torrent = await input.readTorrent(file)
      if (!torrent) throw new Error('its .torrent cannot be read')
      if (stopped) return
      const { folder, store } = input.place(file)
      // skipVerify: the file is the one this pod hashed at upload; do not read it all again.
      c.add(torrent, { path: folder, skipVerify: true, ...(store ? { store } : {}) }, (t) => input.log.debug('seeder.seeding', { infoHash: t.infoHash }))
    } catch (e) {
      seeding.delete(file.infoHash)
      input.log.error('seeder.add.failed', { infoHash: file.infoHash, error: e })
    }
  }
  receive((event) => {
    switch (event.type) {
      case 'seeder.video.added':
        return void add(event.file)
      case 'seeder.video.wanted': {
        if (seeding.has(event.infoHash)) return
        const file = input.find(event.infoHash)
        if (file) void add(file)
        return
      }
      case 'seeder.video.removed':
        if (seeding.delete(event.infoHash)) void client?.then((c) => c.remove(event.infoHash, { destroyStore: false })).catch(() => undefined)
    }
  })
  return () => {
    stopped = true
    void client?.then((c) => c.destroy())
  }
})
