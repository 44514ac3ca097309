/** Tiny hand-written servers whose misbehaviour is exact, for classification tests. */
import net from 'node:net'
import { once } from 'node:events'

export interface TestServer {
  readonly url: string
  close(): Promise<void>
}

const okResponse = 'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: keep-alive\r\n\r\n{}'

/**
 * Answers request number `n` (1-based, per connection) by calling `onRequest(n, socket)`, which writes
 * or closes as it likes. Requests are framed on `\r\n\r\n` + content-length.
 */
export async function scriptedServer(onRequest: (n: number, socket: net.Socket) => void): Promise<TestServer> {
  const sockets = new Set<net.Socket>()
  const server = net.createServer((socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => undefined)
    let buffer = ''
    let n = 0
    socket.on('data', (chunk) => {
      buffer += chunk.toString('latin1')
      for (;;) {
        const end = buffer.indexOf('\r\n\r\n')
        if (end < 0) return
        const len = Number(/content-length: *(\d+)/i.exec(buffer.slice(0, end))?.[1] ?? 0)
        if (buffer.length < end + 4 + len) return
        buffer = buffer.slice(end + 4 + len)
        onRequest(++n, socket)
      }
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as net.AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    async close() {
      for (const s of sockets) s.destroy()
      await new Promise<void>((r) => server.close(() => r()))
    },
  }
}

export const answerOk = (socket: net.Socket): void => { socket.write(okResponse) }
