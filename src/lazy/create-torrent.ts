/** create-torrent, loaded at the first torrent the pod makes through src/lazy.ts. */
// @ts-ignore -- untyped module (typed where it is used: src/media/torrent.ts)
export { default } from 'create-torrent'
