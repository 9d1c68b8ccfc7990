/**
 * The parts of webtorrent 3 that seedpod uses (the package ships no types and there is no
 * @types package for version 3). Written from node_modules/webtorrent/index.js,
 * lib/torrent.js and lib/file.js; extend it when using more of the API.
 */
declare module 'webtorrent' {
  import { EventEmitter } from 'node:events'

  export interface WebTorrentOptions {
    /** false, or DHT options. */
    dht?: boolean | object
    lsd?: boolean
    utp?: boolean
    utPex?: boolean
    natUpnp?: boolean | 'permanent'
    natPmp?: boolean
    /** TCP (and uTP) listening port; 0 picks a free one, known once `listening` fired. */
    torrentPort?: number
    /** false disables trackers, or options for bittorrent-tracker's Client. */
    tracker?: boolean | object
    webSeeds?: boolean
    maxConns?: number
    peerId?: string | Uint8Array
    downloadLimit?: number
    uploadLimit?: number
    seedOutgoingConnections?: boolean
  }

  export interface TorrentOptions {
    announce?: string[]
    /** Folder where the torrent's files are stored (default: a shared folder under the OS temp dir). */
    path?: string
    name?: string
    private?: boolean
    createdBy?: string
    comment?: string
    urlList?: string[]
    pieceLength?: number
    skipVerify?: boolean
    /** Custom chunk store constructor (e.g. memory-chunk-store). */
    store?: unknown
    destroyStoreOnDestroy?: boolean
  }

  export interface TorrentFile extends EventEmitter {
    readonly name: string
    readonly path: string
    readonly length: number
    readonly downloaded: number
    arrayBuffer(opts?: { start?: number; end?: number }): Promise<ArrayBuffer>
    createReadStream(opts?: { start?: number; end?: number }): NodeJS.ReadableStream
  }

  export interface Torrent extends EventEmitter {
    /** Hex. */
    readonly infoHash: string
    readonly magnetURI: string
    /** The bencoded .torrent file. */
    readonly torrentFile: Uint8Array
    readonly files: TorrentFile[]
    readonly length: number
    readonly done: boolean
    readonly ready: boolean
    readonly downloaded: number
    readonly uploaded: number
    readonly received: number
    /** Open connections; `type` is 'webSeed' for a web seed, 'tcpIncoming'/'tcpOutgoing', 'webrtc', ... */
    readonly wires: { readonly type: string }[]
    readonly numPeers: number
    readonly path: string
    addPeer(peer: string): boolean
    destroy(opts?: { destroyStore?: boolean }, cb?: (err?: Error | null) => void): void
  }

  export default class WebTorrent extends EventEmitter {
    constructor(opts?: WebTorrentOptions)
    readonly peerId: string
    readonly torrentPort: number
    readonly listening: boolean
    readonly torrents: Torrent[]
    readonly destroyed: boolean
    /** Async in webtorrent 3 (it may parse a torrent id): await it, a Promise is always truthy. */
    get(torrentId: string | Uint8Array | Torrent): Promise<Torrent | null>
    add(torrentId: string | Uint8Array | object, opts?: TorrentOptions, ontorrent?: (torrent: Torrent) => void): Torrent
    seed(
      input: string | string[] | Uint8Array | Blob | Array<Uint8Array | Blob>,
      opts?: TorrentOptions,
      onseed?: (torrent: Torrent) => void,
    ): Torrent
    remove(torrentId: string | Torrent, opts?: { destroyStore?: boolean }, cb?: (err?: Error | null) => void): Promise<void>
    address(): { address: string; family: string; port: number } | null
    destroy(cb?: (err?: Error | null) => void): void
  }
}
