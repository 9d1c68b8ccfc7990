/** create-torrent, loaded at the first torrent the pod makes through src/app/lazy.ts. */
// @ts-ignore -- untyped module (typed where it is used: src/torrents/torrent-file.ts)
export { default } from 'create-torrent'
