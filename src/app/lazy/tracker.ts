/** bittorrent-tracker's server, loaded at first use through src/app/lazy.ts (and not part of the executable's main bundle). */
export { Server } from 'bittorrent-tracker'
