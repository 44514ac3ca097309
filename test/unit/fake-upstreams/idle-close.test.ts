import { afterEach, describe, expect, it } from 'vitest'
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
