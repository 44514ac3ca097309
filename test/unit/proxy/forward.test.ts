import { afterEach, describe, expect, it, vi } from 'vitest'
import { once } from 'node:events'
import { Pool, request } from 'undici'
import { http, HttpResponse } from 'msw'
import { startFakeUpstream } from '../../../fake-upstreams/index.ts'
import { messageEventFrames } from '../../../fake-upstreams/anthropic/messages.ts'
import { startProxy, type ProxyHandle, upstreamHeaders } from '../../../src/proxy/server.ts'
import { startFixture, messageBody, type Fixture } from '../../helpers/proxy-fixture.ts'
import { scriptedServer, type TestServer } from '../../helpers/servers.ts'
import { closedPort } from '../../helpers/raw-http.ts'

let fx: Fixture | undefined
let server: TestServer | undefined
const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  await fx?.close()
  await server?.close()
  for (const c of cleanups.splice(0).reverse()) await c()
  fx = server = undefined
})

const errorAnswer = (status: number, type: string) => http.post('*/v1/messages', () =>
  HttpResponse.json({ type: 'error', error: { type, message: type } }, { status }))

describe('streaming', () => {
  it('passes an SSE stream through byte for byte', async () => {
    const direct = await startFakeUpstream({ name: 'same', behaviour: { textDeltas: 40 } })
    cleanups.push(() => direct.close())
    fx = await startFixture({ connector: 'tuned-keepalive', upstreams: [{ name: 'same', behaviour: { textDeltas: 40 } }] })
    const body = JSON.stringify({ ...messageBody, stream: true })
    const viaDirect = await request(`${direct.url}/v1/messages`, { method: 'POST', body, headers: { 'content-type': 'application/json' } })
    const directText = await viaDirect.body.text()
    const viaProxy = await fx.send('s1', { ...messageBody, stream: true })
    expect(viaProxy.status).toBe(200)
    expect(viaProxy.headers['content-type']).toBe(viaDirect.headers['content-type'])
    expect(viaProxy.text).toBe(directText)
    expect(directText.match(/^event: content_block_delta$/gm)).toHaveLength(40)
  })

  it('relays a 200-event stream event by event (lock-step), byte-identical to what the upstream sent', async () => {
    // The upstream sends event k+1 only after the client has received event k: a proxy that buffered
    // anything would deadlock here instead of passing.
    const frames = messageEventFrames('msg_lockstep', 'claude-test', 194)
    expect(frames).toHaveLength(200)
    // A counting gate: the upstream may send frame i once the client has seen i frames.
    let allowed = 1
    let wake: (() => void) | undefined
    fx = await startFixture({ connector: 'tuned-keepalive' })
    fx.upstreams[0]!.use(http.post('*/v1/messages', () => {
      let i = 0
      const encoder = new TextEncoder()
      return new HttpResponse(new ReadableStream<Uint8Array>({
        async pull(controller) {
          while (i >= allowed && i < frames.length) await new Promise<void>((resolve) => { wake = resolve })
          if (i === frames.length) return controller.close()
          controller.enqueue(encoder.encode(frames[i++]!))
        },
      }), { headers: { 'content-type': 'text/event-stream' } })
    }))
    const client = new Pool(fx.proxy.url, { allowH2: false })
    cleanups.push(() => client.close())
    const res = await client.request({ method: 'POST', path: '/v1/messages', body: JSON.stringify({ ...messageBody, stream: true }) })
    let received = ''
    let seen = 0
    for await (const chunk of res.body) {
      received += (chunk as Buffer).toString()
      const complete = received.split('\n\n').length - 1
      if (complete > seen) {
        seen = complete
        allowed = seen + 1
        wake?.()
      }
    }
    expect(seen).toBe(200)
    expect(received).toBe(frames.join(''))
  })

  it('delivers the first event before the upstream has finished the stream', async () => {
    // The upstream waits 200 ms between events; the first event must reach the client while it waits.
    fx = await startFixture({ connector: 'tuned-keepalive', upstreams: [{ behaviour: { textDeltas: 3, eventIntervalMs: 200 } }] })
    const client = new Pool(fx.proxy.url, { allowH2: false })
    cleanups.push(() => client.close())
    const res = await client.request({ method: 'POST', path: '/v1/messages', body: JSON.stringify({ ...messageBody, stream: true }) })
    const [first] = (await once(res.body, 'data')) as [Buffer]
    expect(first.toString()).toMatch(/^event: message_start\n/)
    expect(fx.upstreams[0]!.ledger.entries()[0]!.outcome).toBe('in-flight')
    res.body.resume()
    await once(res.body, 'end')
  })

  it('ends a stream cut mid-way with an SSE error event, and does not retry', async () => {
    server = await scriptedServer((_n, socket) => {
      socket.write('HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n')
      const frame = 'event: message_start\ndata: {"type":"message_start"}\n\n'
      socket.write(`${frame.length.toString(16)}\r\n${frame}\r\n`)
      setTimeout(() => socket.resetAndDestroy(), 20)
    })
    fx = await startFixture({ connector: 'tuned-keepalive', upstreams: [], extraEndpoints: [server.url] })
    const res = await fx.send('cut', { ...messageBody, stream: true })
    expect(res.status).toBe(200)
    expect(res.text).toMatch(/^event: message_start\n/)
    expect(res.text).toMatch(/event: error\ndata: \{"type":"error","error":\{"type":"api_error","message":"Upstream connection lost mid-stream \(ECONNRESET\)\."\}\}\n\n$/)
    expect(fx.events.attempts.map((a) => a.outcome)).toEqual(['reset-mid-stream'])
  })

  it('aborts the upstream request at once when the client goes away, without blaming the endpoint', async () => {
    fx = await startFixture({ connector: 'tuned-keepalive', upstreams: [{ behaviour: { textDeltas: 50, eventIntervalMs: 100 } }] })
    const client = new Pool(fx.proxy.url, { allowH2: false })
    cleanups.push(() => client.close())
    const res = await client.request({ method: 'POST', path: '/v1/messages', body: JSON.stringify({ ...messageBody, stream: true }) })
    await once(res.body, 'data')
    res.body.destroy()
    await vi.waitFor(() => expect(fx!.events.attempts.map((a) => a.outcome)).toEqual(['client-aborted']), { timeout: 10_000 })
    await vi.waitFor(() => expect(fx!.upstreams[0]!.ledger.entries()[0]!.outcome).toBe('cut'), { timeout: 10_000 })
    expect(fx.proxy.stats().endpoints[0]!.health_status).toMatchObject({ failed_requests: 0, status: 'unknown' })
  })
})

describe('the attempt loop', () => {
  it('moves on to the next endpoint after a 5xx and answers from it', async () => {
    fx = await startFixture({ connector: 'tuned-keepalive', upstreams: [{ name: 'a' }, { name: 'b' }] })
    fx.upstreams[0]!.use(errorAnswer(500, 'api_error'))
    const res = await fx.send('r1')
    expect(res.status).toBe(200)
    expect(JSON.parse(res.text).id).toMatch(/^msg_b_/)
    expect(fx.events.attempts.map((a) => a.outcome)).toEqual(['http-5xx', 'ok'])
  })

  it('returns the last upstream answer when every endpoint answered with an error', async () => {
    fx = await startFixture({ connector: 'tuned-keepalive', upstreams: [{ name: 'a' }, { name: 'b' }] })
    fx.upstreams[0]!.use(errorAnswer(500, 'api_error'))
    fx.upstreams[1]!.use(errorAnswer(404, 'not_found_error'))
    const res = await fx.send('r1')
    const attempts = fx.events.attempts
    // a: 500 (degraded) → b: 404 (the request's fault: b excluded) → a again: 500 (2nd failure: excluded).
    expect(attempts.map((a) => [a.outcome, a.status])).toEqual([['http-5xx', 500], ['http-4xx', 404], ['http-5xx', 500]])
    expect(res.status).toBe(attempts.at(-1)!.status)
    expect(JSON.parse(res.text).error.type).toBe('api_error')
  })

  it('tries at most 2 times per endpoint and 5 times in all', async () => {
    fx = await startFixture({ connector: 'tuned-keepalive', upstreams: [{ name: 'a' }, { name: 'b' }, { name: 'c' }] })
    for (const u of fx.upstreams) u.use(errorAnswer(503, 'overloaded_error'))
    await fx.send('r1')
    const perEndpoint = new Map<string, number>()
    for (const a of fx.events.attempts) perEndpoint.set(a.endpointId, (perEndpoint.get(a.endpointId) ?? 0) + 1)
    expect(fx.events.attempts).toHaveLength(5)
    expect([...perEndpoint.values()].every((n) => n <= 2)).toBe(true)
  })

  it('answers 502 "All N endpoints failed" when no endpoint answered at all', async () => {
    fx = await startFixture({
      connector: 'tuned-keepalive',
      upstreams: [],
      extraEndpoints: [`http://127.0.0.1:${await closedPort()}`, `http://127.0.0.1:${await closedPort()}`],
    })
    const res = await fx.send('r1')
    expect(res.status).toBe(502)
    expect(res.text).toBe('{"error":"All 2 endpoints failed"}')
    // Two endpoints, two tries each.
    expect(fx.events.attempts.map((a) => a.outcome)).toEqual(['connect-refused', 'connect-refused', 'connect-refused', 'connect-refused'])
  })
})

describe('request rewriting', () => {
  it('sets the endpoint key (case-insensitively replacing the client\'s), drops hop-by-hop headers and keeps the query', async () => {
    const seen: Array<{ url: string; headers: Record<string, string> }> = []
    fx = await startFixture({ connector: 'tuned-keepalive' })
    fx.upstreams[0]!.use(http.post('*/v1/messages', ({ request: req }) => {
      seen.push({ url: req.url, headers: Object.fromEntries(req.headers) })
      return HttpResponse.json({ ok: true })
    }))
    const client = new Pool(fx.proxy.url, { allowH2: false })
    cleanups.push(() => client.close())
    const res = await client.request({
      method: 'POST',
      path: '/v1/messages?beta=true',
      headers: { 'X-Api-Key': 'proxy-managed', Authorization: 'Bearer proxy-managed', 'Anthropic-Version': '2020-01-01', 'anthropic-beta': 'x', 'proxy-connection': 'keep-alive' },
      body: '{}',
    })
    await res.body.text()
    expect(seen).toHaveLength(1)
    const h = seen[0]!.headers
    expect(new URL(seen[0]!.url).search).toBe('?beta=true')
    expect(h['x-api-key']).toBe('sk-test-key-0001')
    expect(h.authorization).toBe('Bearer sk-test-key-0001')
    expect(h['anthropic-version']).toBe('2023-06-01')
    expect(h['anthropic-beta']).toBe('x')
    expect(h['proxy-connection']).toBeUndefined()
    expect(h['content-length']).toBe('2')
  })

  it('upstreamHeaders keeps one value per name', () => {
    const h = upstreamHeaders(['Accept', 'a', 'accept', 'b', 'Host', 'x', 'Connection', 'close'], 'k')
    expect(h).toEqual({ accept: 'a, b', 'x-api-key': 'k', authorization: 'Bearer k', 'anthropic-version': '2023-06-01' })
  })
})

describe('stats and start-up', () => {
  it('serves /__qcc__/stats with counters, the connector profile and keys shown by their last 4 characters only', async () => {
    fx = await startFixture({ connector: 'force-close' })
    await fx.send('r1')
    const res = await request(`${fx.proxy.url}/__qcc__/stats`)
    const stats = (await res.body.json()) as ReturnType<ProxyHandle['stats']>
    expect(stats).toMatchObject({ total_requests: 1, successful_requests: 1, failed_requests: 0, success_rate: 100 })
    expect(stats.endpoints[0]).toMatchObject({ api_key: '…0001', connector_profile: 'force-close', attempts: 1 })
    expect(JSON.stringify(stats)).not.toContain('sk-test-key')
  })

  it('refuses to start on a port in use, and closes what it opened', async () => {
    fx = await startFixture({ connector: 'tuned-keepalive' })
    const start = startProxy({ port: fx.proxy.port, cluster: { name: 'x', endpoints: [{ baseUrl: 'http://127.0.0.1:1', apiKey: 'k' }] } })
    await expect(start).rejects.toThrow(/EADDRINUSE/)
    expect((await fx.send('still-serving')).status).toBe(200)
  })
})
