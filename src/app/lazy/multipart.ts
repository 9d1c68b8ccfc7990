/** busboy (multipart parsing) and the Node stream it reads, loaded at the first upload through src/app/lazy.ts. */
export { default as busboy } from 'busboy'
export { Readable } from 'node:stream'
