/**
 * Receiving an upload: the multipart body is parsed as it streams (busboy) and the file part
 * is written straight to a temporary file, so a 4 GiB video never sits in memory. The disk
 * must keep its margin (`disk.minFreeBytes`): checked against the declared length before a
 * byte is written, and again as the file grows. The temporary file is removed on every
 * failure; only a complete file is handed on.
 */
import { createWriteStream, rmSync } from 'node:fs'
import { join } from 'node:path'
import { DomainError } from '../shared/errors'
import { lazyImport } from '../app/lazy'
import { insufficientStorage, isNoSpace, type DiskSpace } from '../storage/disk'

/** A received upload: its text fields and the file, complete, at `path`. */
export interface ReceivedUpload {
  fields: Record<string, string>
  file: { path: string; size: number; filename: string }
}

const MAX_FIELD_BYTES = 64 * 1024

const diskFilled = (cause: unknown) => insufficientStorage("the pod's disk filled up during this upload; try again once space is freed", { cause })

/**
 * Streams a `multipart/form-data` request into `tmpDir`. Throws DomainError: 415 when the body is
 * not multipart, 413 over `maxBytes`, 507 when it would leave less than the margin free on
 * `disk`, 400 without a `file` part or when the client aborts.
 */
export async function receiveUpload(request: Request, opts: { tmpDir: string; maxBytes: number; disk: DiskSpace }): Promise<ReceivedUpload> {
  const type = request.headers.get('content-type') ?? ''
  if (!type.toLowerCase().startsWith('multipart/form-data'))
    throw new DomainError('unsupported_media', 'unsupported_media_type', 'upload a video as multipart/form-data with the fields file, name and description')
  // The body's declared size already tells; no need to read a byte of an oversize upload.
  const declared = Number(request.headers.get('content-length') ?? NaN)
  if (declared > opts.maxBytes + MAX_FIELD_BYTES * 4)
    throw new DomainError('too_large', 'too_large', `a video may have at most ${opts.maxBytes} bytes`)
  if (declared > 0) opts.disk.mustHaveRoom(declared, 'for this upload')
  if (!request.body) throw new DomainError('invalid', 'invalid_request', 'the upload has no body')

  const tmp = join(opts.tmpDir, `${crypto.randomUUID()}.part`)
  const fields: Record<string, string> = {}
  let file: ReceivedUpload['file'] | undefined
  let failure: DomainError | undefined
  let writing: Promise<void> | undefined
  let out: ReturnType<typeof createWriteStream> | undefined

  try {
    const { busboy, Readable } = await lazyImport('multipart')
    const parser = busboy({
      headers: { 'content-type': type },
      limits: { files: 1, fileSize: opts.maxBytes, fields: 20, fieldSize: MAX_FIELD_BYTES, parts: 30 },
    })
    const source = Readable.fromWeb(request.body as unknown as import('node:stream/web').ReadableStream)
    parser.on('field', (name, value, info) => {
      if (info.valueTruncated) failure ??= new DomainError('too_large', 'too_large', `the field ${name} is too long`)
      fields[name] = value
    })
    parser.on('file', (name, stream, info) => {
      if (name !== 'file' || file) {
        // Drained, and its error (a form cut short) is the parser's, answered there: not an uncaught one here.
        stream.on('error', () => undefined).resume()
        return
      }
      let size = 0
      out = createWriteStream(tmp, { flags: 'wx', mode: 0o640 })
      file = { path: tmp, size: 0, filename: info.filename ?? '' }
      // Stop reading: an upload refused is not stored any further.
      const stop = (why: DomainError) => {
        failure ??= why
        source.unpipe(parser)
        source.destroy()
        stream.resume()
      }
      // The length was not declared, or others write too: the disk keeps its margin.
      const diskFull = opts.disk.watch('during this upload')
      stream.on('data', (chunk: Buffer) => {
        size += chunk.length
        const full = diskFull(size)
        if (full) stop(full)
      })
      stream.on('limit', () => stop(new DomainError('too_large', 'too_large', `a video may have at most ${opts.maxBytes} bytes`)))
      // A write that fails (the disk is full after all) ends the upload at once, not when the client is done sending.
      out.on('error', (e) => stop(isNoSpace(e) ? diskFilled(e) : new DomainError('internal', 'upload_not_written', `the upload could not be written: ${e.message}`, undefined, { cause: e })))
      writing = new Promise<void>((resolve, reject) => {
        out!.on('finish', () => {
          file!.size = size
          resolve()
        })
        out!.on('error', reject)
        stream.on('error', reject)
      })
      // Observed here so that a failure after the caller gave up is not an unhandled rejection.
      writing.catch(() => undefined)
      stream.pipe(out)
    })
    await new Promise<void>((resolve, reject) => {
      parser.on('close', resolve)
      parser.on('error', (e) => reject(new DomainError('invalid', 'malformed_body', `the multipart body is malformed: ${(e as Error).message}`)))
      source.on('error', () => reject(failure ?? new DomainError('invalid', 'aborted', 'the upload was interrupted')))
      source.on('close', () => {
        if (failure) reject(failure)
      })
      source.pipe(parser)
    })
    await writing
    if (failure) throw failure
    if (!file) throw new DomainError('invalid', 'invalid_request', 'the upload needs a file field with the video')
    if (file.size === 0) throw new DomainError('unsupported_media', 'not_a_video', 'the uploaded file is empty')
    return { fields, file }
  } catch (e) {
    // The file may still be opening: wait until it is closed, or removing it could come first.
    if (out && !out.closed) await new Promise<void>((resolve) => out!.once('close', resolve).destroy())
    rmSync(tmp, { force: true })
    if (e instanceof DomainError) throw e
    if (isNoSpace(e)) throw diskFilled(e)
    throw failure ?? new DomainError('invalid', 'aborted', `the upload failed: ${(e as Error).message}`)
  }
}
