/** Reading a request body with a bound on what it may cost. */

/**
 * Reads a request body up to `limit` bytes; undefined if it is larger, in which case reading
 * stops at the first chunk past the limit (a declared `Content-Length` over it is not read at all).
 */
export async function readLimited(request: Request, limit: number): Promise<Uint8Array | undefined> {
  const declared = Number(request.headers.get('content-length') ?? NaN)
  if (declared > limit) return undefined
  if (!request.body) return new Uint8Array(0)
  const chunks: Uint8Array[] = []
  let size = 0
  for await (const chunk of request.body) {
    size += chunk.byteLength
    if (size > limit) return undefined
    chunks.push(chunk)
  }
  return Buffer.concat(chunks)
}
