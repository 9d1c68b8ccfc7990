/** webtorrent, loaded at first use through src/app/lazy.ts (and not part of the executable's main bundle). */
export { default } from 'webtorrent'
