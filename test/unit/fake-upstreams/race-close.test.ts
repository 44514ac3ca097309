import { afterEach, describe, expect, it } from 'vitest'
import { startFakeUpstream, type FakeUpstream } from '../../../fake-upstreams/index.ts'
import { rawConnect } from '../../helpers/raw-http.ts'

let upstream: FakeUpstream | undefined
afterEach(async () => { await upstream?.close(); upstream = undefined })

describe('race-close fault', () => {
  it('reads the head of a request on a reused connection, then closes with a FIN and not one response byte', async () => {
    upstream = await startFakeUpstream({ faults: [{ kind: 'race-close', afterIdleMs: 0, mode: 'fin' }] })
    const conn = await rawConnect(upstream.url)
    conn.send('first')
    const [first] = await conn.responses(1)
    conn.send('second')
    expect(await conn.closed()).toBe('fin')
    expect(conn.received()).toBe(first) // nothing after the first response
    const entries = upstream.ledger.entries()
    expect(entries.map((e) => [e.requestId, e.indexOnConnection, e.outcome, e.fault])).toEqual([
      ['first', 0, 'answered', undefined],
      ['second', 1, 'dropped', 'race-close'],
    ])
  })

  it('resets instead in rst mode (the peer sees ECONNRESET)', async () => {
    upstream = await startFakeUpstream({ faults: [{ kind: 'race-close', mode: 'rst' }] })
    const conn = await rawConnect(upstream.url)
    conn.send('first')
    await conn.responses(1)
    conn.send('second')
    expect(await conn.closed()).toBe('rst')
  })

  it('never touches the first request on a connection', async () => {
    upstream = await startFakeUpstream({ faults: [{ kind: 'race-close' }] })
    for (const id of ['a', 'b', 'c']) {
      const conn = await rawConnect(upstream.url)
      conn.send(id)
      await conn.responses(1)
      conn.socket.destroy()
    }
    expect(upstream.ledger.entries().every((e) => e.outcome === 'answered')).toBe(true)
  })

  it('leaves requests alone when the connection was idle less than afterIdleMs', async () => {
    // 60 s: no test machine is that slow between two back-to-back requests.
    upstream = await startFakeUpstream({ faults: [{ kind: 'race-close', afterIdleMs: 60_000 }] })
    const conn = await rawConnect(upstream.url)
    conn.send('a')
    await conn.responses(1)
    conn.send('b')
    await conn.responses(2)
    expect(upstream.ledger.summary()).toMatchObject({ received: 2, answered: 2, dropped: 0, connections: 1 })
    conn.socket.destroy()
  })

  it('rolls probability per request from the seed: the same seed drops the same requests', async () => {
    const pattern = async (seed: number): Promise<string> => {
      const up = await startFakeUpstream({ seed, faults: [{ kind: 'race-close', probability: 0.5 }] })
      try {
        let out = ''
        for (let i = 0; i < 12; i++) {
          const conn = await rawConnect(up.url)
          conn.send(`warm-${i}`)
          await conn.responses(1)
          conn.send(`r-${i}`)
          const end = await Promise.race([conn.responses(2).then(() => 'answered'), conn.closed()])
          out += end === 'answered' ? '.' : 'x'
          conn.socket.destroy()
        }
        return out
      } finally {
        await up.close()
      }
    }
    const a = await pattern(7)
    expect(await pattern(7)).toBe(a)
    expect(a).toMatch(/x/)
    expect(a).toMatch(/\./)
  })

  it('can be switched on at run time', async () => {
    upstream = await startFakeUpstream()
    const conn = await rawConnect(upstream.url)
    conn.send('a')
    await conn.responses(1)
    upstream.setFaults([{ kind: 'race-close' }])
    conn.send('b')
    expect(await conn.closed()).toBe('fin')
  })
})
