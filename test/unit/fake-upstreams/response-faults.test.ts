import { afterEach, describe, expect, it, vi } from 'vitest'
import { Pool } from 'undici'
import { startFakeUpstream, type FakeUpstream } from '../../../fake-upstreams/index.ts'
import { inSchedule } from '../../../fake-upstreams/faults/index.ts'
import { rawConnect } from '../../helpers/raw-http.ts'

let upstream: FakeUpstream | undefined
let pool: Pool | undefined
afterEach(async () => {
  await pool?.close()
  await upstream?.close()
  pool = upstream = undefined
})

const post = async (body: object = { model: 'm', messages: [] }) => {
  const res = await pool!.request({ method: 'POST', path: '/v1/messages', body: JSON.stringify(body) })
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() }
}

describe('error-response fault', () => {
  it('answers 429 with retry-after and an Anthropic rate_limit_error, keeping the connection usable', async () => {
    upstream = await startFakeUpstream({ faults: [{ kind: 'error-response', status: 429, retryAfterS: 2 }] })
    pool = new Pool(upstream.url, { allowH2: false, connections: 1 })
    const a = await post()
    const b = await post()
    expect(a.status).toBe(429)
    expect(a.headers['retry-after']).toBe('2')
    expect(JSON.parse(a.text)).toEqual({ type: 'error', error: { type: 'rate_limit_error', message: 'rate limit error' } })
    expect(b.status).toBe(429)
    expect(upstream.ledger.summary()).toMatchObject({ connections: 1, received: 2, answered: 2 })
    expect(upstream.ledger.entries()[0]).toMatchObject({ status: 429, fault: 'error-response' })
  })

  it('follows its schedule: only requests fromRequest..untilRequest', async () => {
    upstream = await startFakeUpstream({ faults: [{ kind: 'error-response', status: 529, fromRequest: 2, untilRequest: 3 }] })
    pool = new Pool(upstream.url, { allowH2: false })
    const statuses = []
    for (let i = 0; i < 5; i++) statuses.push((await post()).status)
    expect(statuses).toEqual([200, 529, 529, 200, 200])
  })

  it('can answer a 200 whose body is an error', async () => {
    upstream = await startFakeUpstream({ faults: [{ kind: 'error-response', status: 200, errorType: 'api_error', message: 'upstream quota exhausted' }] })
    pool = new Pool(upstream.url, { allowH2: false })
    const r = await post()
    expect(r.status).toBe(200)
    expect(JSON.parse(r.text).error.message).toBe('upstream quota exhausted')
  })
})

describe('fault schedules', () => {
  it.each([
    [{ probability: 1, fromRequest: 1 }, [1, 2, 3, 4, 5, 6], [true, true, true, true, true, true]],
    [{ probability: 1, fromRequest: 3 }, [1, 2, 3, 4], [false, false, true, true]],
    [{ probability: 1, fromRequest: 1, untilRequest: 2 }, [1, 2, 3], [true, true, false]],
    [{ probability: 1, fromRequest: 1, cycle: { on: 2, off: 1 } }, [1, 2, 3, 4, 5, 6], [true, true, false, true, true, false]],
  ])('%o', (schedule, seqs, expected) => {
    expect(seqs.map((n) => inSchedule(schedule, n))).toEqual(expected)
  })
})

describe('reset-mid-stream fault', () => {
  it('sends the head and N events, then resets the connection', async () => {
    upstream = await startFakeUpstream({ faults: [{ kind: 'reset-mid-stream', afterEvents: 3, mode: 'rst' }] })
    const conn = await rawConnect(upstream.url)
    conn.send('s1', JSON.stringify({ model: 'm', stream: true, messages: [] }))
    expect(await conn.closed()).toBe('rst')
    const received = conn.received()
    expect(received).toMatch(/^HTTP\/1\.1 200 OK\r\n/)
    expect(received.match(/^event: /gm)).toHaveLength(3)
    expect(received).not.toMatch(/message_stop/)
    expect(upstream.ledger.entries()[0]).toMatchObject({ requestId: 's1', outcome: 'cut', fault: 'reset-mid-stream' })
  })
})

describe('delay-response fault', () => {
  it('holds the head back, and gives up quietly when the client leaves first', async () => {
    upstream = await startFakeUpstream({ faults: [{ kind: 'delay-response', delayMs: 60_000 }] })
    const conn = await rawConnect(upstream.url)
    conn.send('slow')
    await new Promise((r) => setTimeout(r, 50))
    expect(conn.received()).toBe('')
    conn.socket.destroy()
    await vi.waitFor(() => expect(upstream!.ledger.entries()[0]!.outcome).toBe('cut'), { timeout: 10_000 })
  })
})
