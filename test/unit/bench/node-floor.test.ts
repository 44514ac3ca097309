import { afterEach, describe, expect, it } from 'vitest'
import { request } from 'undici'
import { startNodeFloor, type NodeFloor } from '../../../src/bench/node-floor.ts'
import { startFakeUpstream, type FakeUpstream } from '../../../fake-upstreams/index.ts'
import { messageBody } from '../../../src/harness/workload/run-workload.ts'

const open: Array<NodeFloor | FakeUpstream> = []
afterEach(async () => {
  await Promise.all(open.splice(0).map((x) => x.close()))
})

async function pair(): Promise<{ upstream: FakeUpstream; floor: NodeFloor }> {
  const upstream = await startFakeUpstream({ name: 'bench', behaviour: { textDeltas: 8 }, prerender: true })
  const floor = await startNodeFloor(upstream.url, 5_000)
  open.push(floor, upstream)
  return { upstream, floor }
}

const post = (url: string, stream: boolean) =>
  request(`${url}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': 'sk-test-0000' }, body: messageBody(0, stream) })

describe('the node-floor anchor: a bare Node relay', () => {
  it('relays a JSON answer and an SSE stream as the upstream sent them, on kept-alive connections', async () => {
    const { upstream, floor } = await pair()
    for (const stream of [false, true, false, true]) {
      const direct = await post(upstream.url, stream)
      const relayed = await post(floor.url, stream)
      expect(relayed.statusCode).toBe(direct.statusCode)
      expect(relayed.headers['content-type']).toBe(direct.headers['content-type'])
      const [a, b] = [await direct.body.text(), await relayed.body.text()]
      // The message id names the upstream's request number; everything else is the same bytes.
      expect(b.replace(/msg_bench_\w+/g, 'msg')).toBe(a.replace(/msg_bench_\w+/g, 'msg'))
      if (stream) expect(b).toMatch(/event: message_stop/)
    }
    const s = upstream.ledger.summary()
    expect(s.received).toBe(8)
    // Direct calls each opened their own connection (undici's global dispatcher may reuse one);
    // the floor's four went over one pooled connection.
    expect(s.connections).toBeLessThanOrEqual(5)
  })

  it('answers 502 when the upstream is down', async () => {
    const upstream = await startFakeUpstream({ name: 'bench' })
    const url = upstream.url
    await upstream.close()
    const floor = await startNodeFloor(url, 5_000)
    open.push(floor)
    const r = await post(floor.url, false)
    expect(r.statusCode).toBe(502)
    await r.body.dump()
  })
})
