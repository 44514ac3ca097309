/**
 * A hand-written HTTP/1.1 client over node:net, for tests where the bytes and the close matter
 * (undici's own keep-alive tests do the same): it shows exactly what reached the socket, and whether
 * the connection ended with a FIN or a RST.
 */
import net from 'node:net'
import { once } from 'node:events'

export interface RawConnection {
  readonly socket: net.Socket
  /** Everything received so far. */
  received(): string
  /** Sends one POST /v1/messages (keep-alive) with `x-request-id`. */
  send(requestId: string, body?: string): void
  /** Resolves when `count` complete responses have arrived (Content-Length framed). */
  responses(count: number): Promise<string[]>
  /** Resolves with how the connection ended: `fin` (EOF), `rst` (ECONNRESET) or another error code. */
  closed(): Promise<'fin' | 'rst' | string>
}

export async function rawConnect(url: string): Promise<RawConnection> {
  const { hostname, port } = new URL(url)
  const socket = net.connect({ host: hostname, port: Number(port) })
  await once(socket, 'connect')
  let buffer = ''
  const waiters: Array<() => void> = []
  socket.setEncoding('latin1')
  socket.on('data', (chunk: string) => {
    buffer += chunk
    for (const w of waiters.splice(0)) w()
  })
  const ended = new Promise<'fin' | 'rst' | string>((resolve) => {
    socket.once('end', () => resolve('fin'))
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNRESET' ? 'rst' : (err.code ?? err.message)))
  })
  ended.then(() => { for (const w of waiters.splice(0)) w() }, () => undefined)

  const parse = (): string[] => {
    const out: string[] = []
    let rest = buffer
    for (;;) {
      const headEnd = rest.indexOf('\r\n\r\n')
      if (headEnd < 0) break
      const head = rest.slice(0, headEnd)
      const len = /content-length: *(\d+)/i.exec(head)
      if (!len) break
      const total = headEnd + 4 + Number(len[1])
      if (rest.length < total) break
      out.push(rest.slice(0, total))
      rest = rest.slice(total)
    }
    return out
  }

  return {
    socket,
    received: () => buffer,
    send(requestId, body = JSON.stringify({ model: 'm', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] })) {
      socket.write(
        `POST /v1/messages HTTP/1.1\r\nhost: ${hostname}:${port}\r\nconnection: keep-alive\r\ncontent-type: application/json\r\n` +
          `x-request-id: ${requestId}\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      )
    },
    async responses(count) {
      for (;;) {
        const got = parse()
        if (got.length >= count) return got
        if (socket.readableEnded || socket.destroyed) throw new Error(`connection ended after ${got.length} of ${count} responses; received: ${JSON.stringify(buffer)}`)
        await new Promise<void>((resolve) => waiters.push(resolve))
      }
    },
    closed: () => ended,
  }
}

/** A port on 127.0.0.1 where nothing listens (see ports.ts: outside the range other listeners are given). */
export { closedPort } from './ports.ts'
