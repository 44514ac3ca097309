import { afterEach, describe, expect, it } from 'vitest'
import { Pool } from 'undici'
import { http, HttpResponse } from 'msw'
import { startFakeUpstream, type FakeUpstream, type FaultSpec } from '../../../fake-upstreams/index.ts'
import { startProxy, type ProxyHandle } from '../../../src/proxy/server.ts'

const cleanup: Array<() => Promise<unknown>> = []
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c()
})

async function upstream(prerender: boolean, faults: FaultSpec[] = []): Promise<{ up: FakeUpstream; pool: Pool }> {
  const up = await startFakeUpstream({ name: 'pre', prerender, faults, behaviour: { textDeltas: 4 } })
  const pool = new Pool(up.url, { allowH2: false })
  cleanup.push(() => up.close(), () => pool.close())
  return { up, pool }
}

const post = async (pool: Pool, body: unknown) => {
  const res = await pool.request({ method: 'POST', path: '/v1/messages', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  return { status: res.statusCode, type: res.headers['content-type'], text: await res.body.text() }
}

const sse = { model: 'm', stream: true, messages: [{ role: 'user', content: 'hi' }] }
const json = { model: 'm', messages: [{ role: 'user', content: 'hi' }] }

describe('fake upstream prerender (the bench upstream)', () => {
  it('answers identical requests with the bytes msw rendered for the first one', async () => {
    const { up, pool } = await upstream(true)
    const plain = await upstream(false)
    const first = await post(pool, sse)
    const second = await post(pool, sse)
    const reference = await post(plain.pool, sse)
    expect(second).toEqual(first)
    // The same events and bytes as the msw path, apart from the upstream's message counter.
    expect(first.text).toBe(reference.text)
    expect((await post(pool, json)).text).toBe((await post(plain.pool, json)).text)
    // Still ledgered like any other request.
    expect(up.ledger.summary().received).toBe(3)
  })

  it('renders again after the behaviour changes', async () => {
    const { up, pool } = await upstream(true)
    const before = JSON.parse((await post(pool, json)).text) as { usage: { output_tokens: number } }
    up.setBehaviour({ textDeltas: 2 })
    const after = JSON.parse((await post(pool, json)).text) as { usage: { output_tokens: number } }
    expect([before.usage.output_tokens, after.usage.output_tokens]).toEqual([4, 2])
  })

  it('still lets faults act on a request whose answer is cached', async () => {
    const { up, pool } = await upstream(true)
    const cached = await post(pool, json)
    expect(cached.status).toBe(200)
    const cachedSse = await post(pool, sse)
    expect(await post(pool, sse)).toEqual(cachedSse)
    up.setFaults([{ kind: 'error-response', status: 529 }])
    expect((await post(pool, json)).status).toBe(529)
    up.setFaults([{ kind: 'reset-mid-stream', afterEvents: 2 }])
    const cut = await post(pool, sse).catch((err: unknown) => err)
    expect(cut).toBeInstanceOf(Error)
    up.setFaults([])
    expect(await post(pool, json)).toEqual(cached)
  })

  it('does not replay while the behaviour delays or a test handler is in place', async () => {
    const { up, pool } = await upstream(true)
    const idOf = async (): Promise<string> => (JSON.parse((await post(pool, json)).text) as { id: string }).id
    // Replayed: the message id repeats.
    expect(await idOf()).toBe(await idOf())
    // With a first-byte delay every answer goes through msw (and waits): fresh ids.
    up.setBehaviour({ firstByteDelayMs: 5 })
    expect(await idOf()).not.toBe(await idOf())
    up.setBehaviour({ firstByteDelayMs: 0 })
    // A stateful test handler is asked every time.
    let calls = 0
    up.use(http.post('*/v1/messages', () => HttpResponse.json({ id: `own-${++calls}` })))
    expect([await idOf(), await idOf()]).toEqual(['own-1', 'own-2'])
    up.resetHandlers()
    expect(await idOf()).toBe(await idOf())
  })

  it('passes through the proxy whole when every event and the end arrive in one read', async () => {
    // A prerendered SSE answer reaches the proxy in one read: head, all events and the last chunk. The
    // proxy corks its client socket for that tick; the body must still arrive before the end.
    const { up } = await upstream(true)
    const proxy: ProxyHandle = await startProxy({
      port: 0,
      seed: 1,
      cluster: { name: 'pre', connector: { profile: 'tuned-keepalive' }, endpoints: [{ baseUrl: up.url, apiKey: 'sk-test-00000000' }], verifier: { enabled: false } },
    })
    const pool = new Pool(proxy.url, { allowH2: false })
    cleanup.push(() => proxy.close(100), () => pool.close())
    const direct = await post((await upstream(true)).pool, sse)
    for (let i = 0; i < 3; i++) {
      const via = await post(pool, sse)
      expect(via.status).toBe(200)
      expect(via.text).toBe(direct.text)
    }
    const viaJson = await post(pool, json)
    expect(JSON.parse(viaJson.text)).toMatchObject({ type: 'message', usage: { output_tokens: 4 } })
  })
})
