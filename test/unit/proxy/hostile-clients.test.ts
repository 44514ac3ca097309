/**
 * The proxy against hostile or broken clients and its own limits: every defect found by trying it as an
 * attacker would, as a test. Each one answers clearly and never counts against a healthy endpoint.
 */
import { afterEach, describe, expect, it } from 'vitest'
import http from 'node:http'
import net from 'node:net'
import { once } from 'node:events'
import { http as mswHttp, HttpResponse } from 'msw'
import { Pool } from 'undici'
import { startFixture, messageBody, type Fixture } from '../../helpers/proxy-fixture.ts'
import { SessionAffinity } from '../../../src/proxy/affinity.ts'
import { upstreamHeaders } from '../../../src/proxy/upstream-headers.ts'
import { classifyError } from '../../../src/proxy/outcome.ts'
import { startProxy } from '../../../src/proxy/server.ts'

let fx: Fixture | undefined
afterEach(async () => { await fx?.close(); fx = undefined })

/** Records what the upstream received. */
function capture(f: Fixture) {
  const seen: Array<{ headers: Record<string, string>; body: string }> = []
  f.upstreams[0]!.use(mswHttp.post('*/v1/messages', async ({ request }) => {
    seen.push({ headers: Object.fromEntries(request.headers), body: await request.text() })
    return HttpResponse.json({ type: 'message', content: [] })
  }))
  return seen
}

/** One request with node:http (which, unlike undici, sends any header), answered whole. */
function send(url: string, options: { path?: string; method?: string; headers?: Record<string, string>; body?: string | Buffer; waitContinue?: boolean }) {
  return new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = http.request(`${url}${options.path ?? '/v1/messages'}`, { method: options.method ?? 'POST', headers: options.headers, agent: false }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => { text += c })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }))
    })
    req.on('error', reject)
    if (options.waitContinue) req.on('continue', () => req.end(options.body))
    else req.end(options.body)
  })
}

/** Raw bytes on a socket; resolves with what came back until the server closed or `ms` passed. */
async function rawExchange(url: string, bytes: string, ms = 2_000): Promise<string> {
  const { port } = new URL(url)
  const socket = net.connect(Number(port), '127.0.0.1')
  await once(socket, 'connect')
  let got = ''
  socket.setEncoding('latin1')
  socket.on('data', (c: string) => { got += c })
  socket.write(bytes)
  await Promise.race([once(socket, 'close'), new Promise((r) => setTimeout(r, ms))])
  socket.destroy()
  return got
}

const healthy = (f: Fixture) => f.proxy.stats().endpoints.map((e) => [e.is_healthy, (e.breaker as { state: string }).state])

describe('request headers', () => {
  it('forwards a request sent with Expect: 100-continue (curl does for bodies over 1 MB) and keeps the endpoint healthy', async () => {
    fx = await startFixture({ connector: 'tuned-keepalive' })
    const seen = capture(fx)
    const body = JSON.stringify(messageBody)
    const r = await send(fx.proxy.url, { headers: { 'content-type': 'application/json', expect: '100-continue', 'content-length': String(Buffer.byteLength(body)) }, body, waitContinue: true })
    expect(r.status).toBe(200)
    expect(seen).toHaveLength(1)
    expect(seen[0]!.headers.expect).toBeUndefined()
    expect(healthy(fx)).toEqual([[true, 'closed']])
  })

  it('drops the headers the client\'s Connection header names (RFC 9110 §7.6.1)', async () => {
    fx = await startFixture({ connector: 'tuned-keepalive' })
    const seen = capture(fx)
    await send(fx.proxy.url, { headers: { 'content-type': 'application/json', connection: 'keep-alive, x-hop-secret', 'x-hop-secret': 'do-not-forward', 'x-kept': 'yes' }, body: JSON.stringify(messageBody) })
    expect(seen[0]!.headers['x-hop-secret']).toBeUndefined()
    expect(seen[0]!.headers['x-kept']).toBe('yes')
  })

  it('passes a header named like an Object property as just a name (constructor: x arrives as x)', () => {
    const h = upstreamHeaders(['constructor', 'x', '__proto__', 'y', 'toString', 'z'], 'k')
    expect([h.constructor, h.__proto__, h.tostring]).toEqual(['x', 'y', 'z'])
  })
})

describe('request bodies and targets', () => {
  it('answers 413 to a body over the cap without reading it whole or calling an endpoint, and counts it failed', async () => {
    fx = await startFixture({ connector: 'tuned-keepalive' })
    const seen = capture(fx)
    const proxy = await startProxy({ cluster: { name: 't', endpoints: [{ baseUrl: fx.upstreams[0]!.url, apiKey: 'sk-k-0001' }] }, maxBodyBytes: 1_000 })
    try {
      const declared = await send(proxy.url, { headers: { 'content-type': 'application/json' }, body: Buffer.alloc(5_000, 0x61) })
      expect(declared.status).toBe(413)
      expect(declared.text).toMatch(/Request body too large: over 1000 bytes/)
      // Chunked, so no Content-Length to refuse on: the cap is counted while reading.
      const chunked = await new Promise<number>((resolve, reject) => {
        const req = http.request(`${proxy.url}/v1/messages`, { method: 'POST', agent: false, headers: { 'transfer-encoding': 'chunked' } }, (res) => { res.resume(); resolve(res.statusCode ?? 0) })
        req.on('error', reject)
        for (let i = 0; i < 10; i++) req.write(Buffer.alloc(500, 0x62))
        req.end()
      })
      expect(chunked).toBe(413)
      expect(seen).toHaveLength(0)
      const s = proxy.stats()
      expect([s.total_requests, s.successful_requests, s.failed_requests]).toEqual([2, 0, 2])
    } finally {
      await proxy.close()
    }
  })

  it('answers 400 to a request target that is not a path, never 500 with a stack', async () => {
    fx = await startFixture({ connector: 'tuned-keepalive' })
    const absolute = await rawExchange(fx.proxy.url, 'GET http://example.com/__qcc__/stats HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n')
    expect(absolute).toMatch(/^HTTP\/1\.1 400 /)
    expect(absolute).toMatch(/Bad request target/)
    const garbage = await rawExchange(fx.proxy.url, 'BLAH \x01\x02 HTTP/9\r\n\r\n')
    expect(garbage).toMatch(/^HTTP\/1\.1 400 /)
    expect(fx.proxy.logs().filter((l) => l.event === 'request.internal-error')).toEqual([])
  })

  it('counts a request whose client went away mid-body as failed: total = successful + failed', async () => {
    fx = await startFixture({ connector: 'tuned-keepalive' })
    await fx.send('ok-1')
    await rawExchange(fx.proxy.url, 'POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\n{"model":', 200)
    const s = await waitFor(() => fx!.proxy.stats(), (x) => x.total_requests === x.successful_requests + x.failed_requests && x.total_requests === 2)
    expect([s.total_requests, s.successful_requests, s.failed_requests]).toEqual([2, 1, 1])
  })
})

describe('who may call', () => {
  it('refuses a Host that is not this proxy (DNS rebinding) on every route, and a web page\'s Origin', async () => {
    fx = await startFixture({ connector: 'tuned-keepalive' })
    const seen = capture(fx)
    const rebound = await send(fx.proxy.url, { path: '/__qcc__/stats', method: 'GET', headers: { host: 'attacker.example:7860' } })
    expect(rebound.status).toBe(403)
    expect(rebound.text).toMatch(/Host \\"attacker\.example:7860\\" is not this proxy/)
    const logs = await send(fx.proxy.url, { path: '/__qcc__/logs', method: 'GET', headers: { host: 'attacker.example' } })
    expect(logs.status).toBe(403)
    // A page's fetch(…, { mode: 'no-cors', body: text/plain }) carries its Origin.
    const page = await send(fx.proxy.url, { headers: { origin: 'https://evil.example', 'content-type': 'text/plain' }, body: JSON.stringify(messageBody) })
    expect(page.status).toBe(403)
    expect(page.text).toMatch(/browsers may not spend this proxy's API keys/)
    expect(seen).toHaveLength(0)
    // Local clients pass: loopback names, with or without a port, and a local Origin.
    for (const host of ['127.0.0.1', 'localhost:7860', '[::1]:7860']) {
      expect((await send(fx.proxy.url, { path: '/__qcc__/stats', method: 'GET', headers: { host } })).status, host).toBe(200)
    }
    expect((await send(fx.proxy.url, { headers: { origin: 'http://localhost:3000' }, body: JSON.stringify(messageBody) })).status).toBe(200)
  })

  it('lets a configured host name in', async () => {
    fx = await startFixture({ connector: 'tuned-keepalive' })
    const proxy = await startProxy({ cluster: { name: 't', endpoints: [{ baseUrl: fx.upstreams[0]!.url, apiKey: 'sk-k-0001' }] }, allowedHosts: ['qcc.lan'] })
    try {
      expect((await send(proxy.url, { path: '/__qcc__/stats', method: 'GET', headers: { host: 'qcc.lan:7860' } })).status).toBe(200)
      expect((await send(proxy.url, { path: '/__qcc__/stats', method: 'GET', headers: { host: 'other.lan' } })).status).toBe(403)
    } finally {
      await proxy.close()
    }
  })
})

describe('what goes back to the client', () => {
  it('masks a key that an upstream echoed in its error body', async () => {
    fx = await startFixture({ connector: 'tuned-keepalive', cluster: { attempts: { max: 1 } } })
    fx.upstreams[0]!.use(mswHttp.post('*/v1/messages', ({ request }) =>
      HttpResponse.json({ type: 'error', error: { type: 'authentication_error', message: `invalid x-api-key ${request.headers.get('x-api-key')}` } }, { status: 401 })))
    const r = await fx.send('echo')
    expect(r.status).toBe(401)
    expect(r.text).not.toContain('sk-test-key-0001')
    expect(r.text).toContain('…0001')
  })

  it('ends a stream still running at the drain deadline with an SSE error event, not a silent cut', async () => {
    fx = await startFixture({ connector: 'tuned-keepalive', upstreams: [{ behaviour: { eventIntervalMs: 300, textDeltas: 20 } }] })
    const client = new Pool(fx.proxy.url, { allowH2: false })
    try {
      const res = await client.request({ method: 'POST', path: '/v1/messages', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...messageBody, stream: true }) })
      expect(res.statusCode).toBe(200)
      const text = res.body.text()
      await fx.proxy.close(200)
      const body = await text
      expect(body).toMatch(/^event: message_start$/m)
      expect(body).not.toMatch(/^event: message_stop$/m)
      expect(body).toMatch(/event: error\ndata: .*The proxy is shutting down\./)
      expect(body.endsWith('\n\n')).toBe(true)
    } finally {
      await client.close()
    }
  })
})

describe('the proxy\'s own failures', () => {
  it('classifies running out of descriptors and a request undici refuses as proxy-side, never the upstream\'s', () => {
    for (const code of ['EMFILE', 'ENFILE', 'UND_ERR_INVALID_ARG', 'UND_ERR_NOT_SUPPORTED']) {
      expect(classifyError(Object.assign(new Error(code), { code }), { reusedConnection: true, responseStarted: false }), code).toBe('proxy-error')
    }
  })

  it('bounds the session-affinity map: the least recently used session goes first', () => {
    const a = new SessionAffinity(60_000, 3)
    for (const id of ['s1', 's2', 's3']) a.bind(id, 'ep', 0)
    a.bind('s1', 'ep', 1) // refreshed: now the most recent
    a.bind('s4', 'ep', 2)
    expect(a.size).toBe(3)
    expect([a.get('s1', 3), a.get('s2', 3), a.get('s3', 3), a.get('s4', 3)]).toEqual(['ep', undefined, 'ep', 'ep'])
    const big = new SessionAffinity(60_000)
    for (let i = 0; i < 30_000; i++) big.bind(`c${i}`, 'ep', 0)
    expect(big.size).toBe(10_000)
  })

  it('caps connections per endpoint and queues past the cap', async () => {
    fx = await startFixture({ connector: { profile: 'tuned-keepalive', overrides: { connections: 2 } }, upstreams: [{ behaviour: { firstByteDelayMs: 100 } }] })
    const client = new Pool(fx.proxy.url, { allowH2: false, connections: 8 })
    try {
      const results = await Promise.all(Array.from({ length: 6 }, (_, i) => client.request({ method: 'POST', path: '/v1/messages', headers: { 'content-type': 'application/json', 'x-request-id': `c${i}` }, body: JSON.stringify(messageBody) }).then(async (r) => { await r.body.text(); return r.statusCode })))
      expect(results).toEqual([200, 200, 200, 200, 200, 200])
      expect(fx.upstreams[0]!.ledger.connections()).toHaveLength(2)
    } finally {
      await client.close()
    }
  })
})

async function waitFor<T>(get: () => T, ok: (v: T) => boolean, ms = 5_000): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const v = get()
    if (ok(v) || Date.now() > deadline) return v
    await new Promise((r) => setTimeout(r, 20))
  }
}
