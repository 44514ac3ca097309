import { afterEach, describe, expect, it, vi } from 'vitest'
import net from 'node:net'
import { once } from 'node:events'
import { startFakeUpstream, type FakeUpstream } from '../../../fake-upstreams/index.ts'
import { rawConnect } from '../../helpers/raw-http.ts'

let upstream: FakeUpstream | undefined
afterEach(async () => { await upstream?.close(); upstream = undefined })

describe('idle-close fault', () => {
  it('ends an idle connection with a FIN', async () => {
    upstream = await startFakeUpstream({ faults: [{ kind: 'idle-close', idleMs: 50, mode: 'fin' }] })
    const conn = await rawConnect(upstream.url)
    conn.send('a')
    await conn.responses(1)
    expect(await conn.closed()).toBe('fin')
    expect(upstream.ledger.connections()[0]?.closedBy).toBe('fault:idle-close')
  })

  it('resets an idle connection (the peer sees ECONNRESET) in rst mode', async () => {
    upstream = await startFakeUpstream({ faults: [{ kind: 'idle-close', idleMs: 20, mode: 'rst' }] })
    const conn = await rawConnect(upstream.url)
    conn.send('a')
    await conn.responses(1)
    expect(await conn.closed()).toBe('rst')
  })

  it.each([
    ['honest', { idleMs: 3_000 }, 'timeout=3'],
    ['lying', { idleMs: 3_000, advertisedMs: 60_000 }, 'timeout=60'],
  ] as const)('sends an %s Keep-Alive header', async (keepAliveHeader, params, expected) => {
    upstream = await startFakeUpstream({ faults: [{ kind: 'idle-close', keepAliveHeader, ...params }] })
    const conn = await rawConnect(upstream.url)
    conn.send('a')
    const [response] = await conn.responses(1)
    expect(response).toMatch(new RegExp(`^keep-alive: ${expected}\\r$`, 'mi'))
    conn.socket.destroy()
  })

  it('sends no Keep-Alive header when absent', async () => {
    upstream = await startFakeUpstream({ faults: [{ kind: 'idle-close', idleMs: 3_000, keepAliveHeader: 'absent' }] })
    const conn = await rawConnect(upstream.url)
    conn.send('a')
    const [response] = await conn.responses(1)
    expect(response).not.toMatch(/^keep-alive:/mi)
    expect(response).toMatch(/^connection: keep-alive\r$/mi)
    conn.socket.destroy()
  })

  it('advertises Node\'s default 5 s timeout when no fault has an opinion', async () => {
    upstream = await startFakeUpstream()
    const conn = await rawConnect(upstream.url)
    conn.send('a')
    const [response] = await conn.responses(1)
    expect(response).toMatch(/^keep-alive: timeout=5\r$/mi)
    conn.socket.destroy()
  })

  it('keeps a connection open while requests keep it busy', async () => {
    upstream = await startFakeUpstream({ faults: [{ kind: 'idle-close', idleMs: 5_000 }] })
    const conn = await rawConnect(upstream.url)
    conn.send('a')
    await conn.responses(1)
    conn.send('b')
    await conn.responses(2)
    expect(upstream.ledger.entries().map((e) => [e.requestId, e.connectionId, e.indexOnConnection])).toEqual([['a', 1, 0], ['b', 1, 1]])
    conn.socket.destroy()
  })
})

describe('a request that crosses the FIN', () => {
  it('is never answered: recorded as dropped, and the connection is closed for good', async () => {
    const up = await startFakeUpstream({ faults: [{ kind: 'idle-close', idleMs: 20, mode: 'fin' }] })
    // allowHalfOpen: the client keeps its side open after the server's FIN, so it can still write.
    const { port } = new URL(up.url)
    const socket = net.connect({ host: '127.0.0.1', port: Number(port), allowHalfOpen: true })
    try {
      let received = ''
      socket.on('data', (chunk: Buffer) => { received += chunk.toString() })
      socket.on('error', () => undefined)
      const request = (id: string) => `POST /v1/messages HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\nx-request-id: ${id}\r\ncontent-length: 16\r\n\r\n{"messages": []}`
      await once(socket, 'connect')
      socket.write(request('first'))
      await once(socket, 'end') // the idle-close FIN
      const answered = received
      socket.write(request('late'))
      await vi.waitFor(() => expect(up.ledger.byRequestId('late').map((e) => e.outcome)).toEqual(['dropped']), { timeout: 10_000 })
      await vi.waitFor(() => expect(up.openConnections()).toBe(0), { timeout: 10_000 })
      expect(received).toBe(answered) // not one byte for the late request
    } finally {
      socket.destroy()
      await up.close()
    }
  })
})
