/**
 * The drain deadline ends every attempt still running, however many there are and whichever finished
 * before it (forward.ts keeps the attempts waiting on the shutdown signal in one list per signal).
 */
import { afterEach, describe, expect, it } from 'vitest'
import { Pool } from 'undici'
import { startFixture, messageBody, type Fixture } from '../../helpers/proxy-fixture.ts'

let fx: Fixture | undefined
afterEach(async () => { await fx?.close(); fx = undefined })

describe('shutting down with attempts in flight', () => {
  it('ends each running stream with an SSE error event, after others finished normally', async () => {
    fx = await startFixture({ connector: 'tuned-keepalive', upstreams: [{ behaviour: { eventIntervalMs: 300, textDeltas: 20 } }] })
    const client = new Pool(fx.proxy.url, { allowH2: false, connections: 8 })
    const stream = async (id: string) => {
      const res = await client.request({ method: 'POST', path: '/v1/messages', headers: { 'content-type': 'application/json', 'x-request-id': id }, body: JSON.stringify({ ...messageBody, stream: true }) })
      expect(res.statusCode).toBe(200)
      // The head arrived: this attempt is running, and waits on the shutdown signal.
      return { text: res.body.text() }
    }
    try {
      // Finished before the shutdown, started before, between and beside the streams: their attempts
      // left the list from its end and from its middle.
      const first = await fx.send('done-1')
      const s1 = await stream('s1')
      const middle = fx.send('done-2')
      const s2 = await stream('s2')
      const s3 = await stream('s3')
      expect([first.status, (await middle).status]).toEqual([200, 200])
      await fx.proxy.close(200)
      const streams = [s1.text, s2.text, s3.text]
      for (const body of await Promise.all(streams)) {
        expect(body).toMatch(/^event: message_start$/m)
        expect(body).not.toMatch(/^event: message_stop$/m)
        expect(body).toMatch(/event: error\ndata: .*The proxy is shutting down\./)
      }
      const s = fx.proxy.stats()
      expect([s.total_requests, s.successful_requests, s.failed_requests]).toEqual([5, 2, 3])
      expect(s.attempts_by_outcome['proxy-error']).toBe(3)
    } finally {
      await client.close()
    }
  })
})
