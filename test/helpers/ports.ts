/** Free loopback ports for test pods. */
import { createServer, type Server } from 'node:net'

/**
 * A TCP port on 127.0.0.1 that nothing listens on right now: listen on port 0, read the port
 * the kernel chose, close. Another process could take it before the caller does, but the
 * kernel hands out ports round-robin, so in practice it stays free for the next moments.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.once('error', reject)
    server.listen({ port: 0, host: '127.0.0.1', exclusive: true }, () => {
      const address = server.address()
      if (!address || typeof address === 'string') {
        server.close()
        reject(new Error('no port assigned'))
        return
      }
      server.close(() => resolve(address.port))
    })
  })
}

/** `n` distinct free ports on 127.0.0.1: all held open at once, then closed together. */
export async function freePorts(n: number): Promise<number[]> {
  const servers: Server[] = []
  try {
    for (let i = 0; i < n; i++) {
      const server = createServer()
      server.unref()
      servers.push(server)
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject)
        server.listen({ port: 0, host: '127.0.0.1', exclusive: true }, () => resolve())
      })
    }
    return servers.map((s) => {
      const address = s.address()
      if (!address || typeof address === 'string') throw new Error('no port assigned')
      return address.port
    })
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => (s.listening ? s.close(() => resolve()) : resolve()))))
  }
}
