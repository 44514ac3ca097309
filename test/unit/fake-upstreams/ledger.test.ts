import { afterEach, describe, expect, it } from 'vitest'
import { startFakeUpstream, summarizeLedger, type FakeUpstream, type LedgerEntry } from '../../../fake-upstreams/index.ts'
import { rawConnect } from '../../helpers/raw-http.ts'

const entry = (over: Partial<LedgerEntry>): LedgerEntry => ({
  seq: 1, requestId: 'r', connectionId: 1, indexOnConnection: 0, idleBeforeMs: 0, atMs: 0,
  method: 'POST', path: '/v1/messages', outcome: 'answered', ...over,
})

describe('summarizeLedger', () => {
  it('counts two 2xx answers to one request as a duplicate, and one dropped then answered as a redelivery only', () => {
    const s = summarizeLedger([
      entry({ requestId: 'a', connectionId: 1, status: 200, atMs: 1 }),
      entry({ requestId: 'a', connectionId: 2, status: 200, atMs: 2 }),
      entry({ requestId: 'b', connectionId: 1, indexOnConnection: 1, outcome: 'dropped', fault: 'race-close', atMs: 3 }),
      entry({ requestId: 'b', connectionId: 3, status: 200, atMs: 4 }),
      entry({ requestId: 'c', connectionId: 3, indexOnConnection: 1, status: 500, atMs: 5 }),
      entry({ requestId: 'c', connectionId: 3, indexOnConnection: 2, status: 200, atMs: 6 }),
    ], 3)
    // a: 200 twice (a duplicate, no drop); b: dropped, then answered (a redelivery); c: a 500 then a 200
    // (an ordinary retry: neither a duplicate nor a redelivery).
    expect(s).toEqual({
      connections: 3, received: 6, answered: 5, ok: 4, dropped: 1, probes: 0,
      duplicates: 1, redelivered: 1, requestsPerConnection: 6 / 3,
    })
  })

  it('is all zeros for an empty ledger', () => {
    expect(summarizeLedger([], 0)).toMatchObject({ received: 0, duplicates: 0, requestsPerConnection: 0 })
  })
})

describe('the ledger of a running upstream', () => {
  let upstream: FakeUpstream | undefined
  afterEach(async () => { await upstream?.close(); upstream = undefined })

  it('records request id, connection id, index on the connection and idle time before each request', async () => {
    upstream = await startFakeUpstream({ name: 'relay' })
    const a = await rawConnect(upstream.url)
    a.send('one')
    await a.responses(1)
    a.send('two')
    await a.responses(2)
    const b = await rawConnect(upstream.url)
    b.socket.write('POST /v1/messages HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 16\r\n\r\n{"messages": []}')
    await b.responses(1)
    const entries = upstream.ledger.entries()
    expect(entries.map((e) => [e.requestId, e.connectionId, e.indexOnConnection, e.outcome, e.status])).toEqual([
      ['one', 1, 0, 'answered', 200],
      ['two', 1, 1, 'answered', 200],
      ['relay-3', 2, 0, 'answered', 200],
    ])
    // Idle time counts from the previous answer on the connection, so it is shorter than the time between
    // the two arrivals; a first request's idle time counts from the accept.
    const [one, two] = entries
    expect(two!.idleBeforeMs).toBeGreaterThanOrEqual(0)
    expect(two!.idleBeforeMs).toBeLessThan(two!.atMs - one!.atMs)
    expect(upstream.ledger.byRequestId('two')).toHaveLength(1)
    a.socket.destroy()
    b.socket.destroy()
  })
})
