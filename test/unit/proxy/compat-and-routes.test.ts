/** Each compat switch replays its historical behaviour; the default shows the fix. Plus qcc's local routes. */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { once } from 'node:events'
import { finished } from 'node:stream/promises'
import { http, HttpResponse } from 'msw'
import { Pool, request } from 'undici'
import { startFixture, messageBody, type Fixture } from '../../helpers/proxy-fixture.ts'
import { scriptedServer, type TestServer } from '../../helpers/servers.ts'
import { compatPresets, compatSwitches, resolveCompat } from '../../../src/proxy/compat.ts'

let fx: Fixture | undefined
let server: TestServer | undefined
const pools: Pool[] = []
afterEach(async () => {
  for (const p of pools.splice(0)) await p.close()
  await fx?.close()
  await server?.close()
  fx = server = undefined
})

/** Records what the upstream received. */
function capture(f: Fixture, i = 0) {
  const seen: Array<{ url: string; headers: Array<[string, string]>; body: string }> = []
  f.upstreams[i]!.use(http.post('*/v1/messages', async ({ request: r }) => {
    seen.push({ url: r.url, headers: [...r.headers], body: await r.text() })
    return HttpResponse.json({ ok: true })
  }))
  return seen
}

async function raw(f: Fixture, path: string, init: { headers?: Record<string, string>; body?: string } = {}) {
  const p = new Pool(f.proxy.url, { allowH2: false })
  pools.push(p)
  const res = await p.request({ method: 'POST', path, headers: { 'content-type': 'application/json', ...init.headers }, body: init.body ?? JSON.stringify(messageBody) })
  return { status: res.statusCode, text: await res.body.text() }
}

describe('drop-query', () => {
  it('default keeps the query string; compat drops it as qcc did', async () => {
    for (const [compat, search] of [[[], '?beta=true'], [['drop-query'], '']] as const) {
      const f = await startFixture({ connector: 'tuned-keepalive', cluster: { compat: [...compat] } })
      try {
        const seen = capture(f)
        await raw(f, '/v1/messages?beta=true')
        expect(new URL(seen[0]!.url).search).toBe(search)
      } finally { await f.close() }
    }
  })
})

describe('duplicate-auth-headers', () => {
  it('compat forwards the client\'s mixed-case X-Api-Key beside the proxy\'s; default replaces it', async () => {
    for (const [compat, expected] of [[[], 'sk-test-key-0001'], [['duplicate-auth-headers'], 'proxy-managed, sk-test-key-0001']] as const) {
      const f = await startFixture({ connector: 'tuned-keepalive', cluster: { compat: [...compat] } })
      try {
        const seen = capture(f)
        await raw(f, '/v1/messages', { headers: { 'X-Api-Key': 'proxy-managed' } })
        expect(Object.fromEntries(seen[0]!.headers)['x-api-key']).toBe(expected)
      } finally { await f.close() }
    }
  })
})

describe('model override and stale-content-length', () => {
  it('default rewrites the model and sends the right Content-Length', async () => {
    fx = await startFixture({ connector: 'tuned-keepalive', cluster: { modelOverride: 'claude-override-x' } })
    const seen = capture(fx)
    const res = await raw(fx, '/v1/messages', { body: JSON.stringify({ model: 'm', messages: [] }) })
    expect(res.status).toBe(200)
    const body = seen[0]!.body
    expect(JSON.parse(body).model).toBe('claude-override-x')
    expect(Object.fromEntries(seen[0]!.headers)['content-length']).toBe(String(Buffer.byteLength(body)))
  })

  it('compat stale-content-length: every overridden request fails, as in qcc v0.6.1', async () => {
    fx = await startFixture({ connector: 'tuned-keepalive', cluster: { modelOverride: 'claude-override-x', compat: ['stale-content-length'] } })
    const res = await raw(fx, '/v1/messages', { body: JSON.stringify({ model: 'm', messages: [] }) })
    expect(res.status).toBe(502)
    expect(res.text).toBe('{"error":"All 1 endpoints failed"}')
    expect(fx.upstreams[0]!.ledger.summary().received).toBe(0)
  })
})

describe('buffered-streaming', () => {
  it('compat holds back the first byte until the upstream finished the whole stream; default streams', async () => {
    for (const [compat, buffered] of [[[], false], [['buffered-streaming'], true]] as const) {
      const f = await startFixture({ connector: 'tuned-keepalive', upstreams: [{ behaviour: { textDeltas: 2, eventIntervalMs: 100 } }], cluster: { compat: [...compat] } })
      try {
        const p = new Pool(f.proxy.url, { allowH2: false })
        pools.push(p)
        const res = await p.request({ method: 'POST', path: '/v1/messages', body: JSON.stringify({ ...messageBody, stream: true }) })
        await once(res.body, 'data')
        // When the first byte reaches the client, has the upstream finished the stream?
        expect(f.upstreams[0]!.ledger.entries()[0]!.outcome === 'answered').toBe(buffered)
        res.body.resume()
        await finished(res.body)
      } finally { await f.close() }
    }
  })
})

describe('shared-client-reset', () => {
  it('compat: a transient error on one endpoint cuts a stream in flight on another; default leaves it alone', async () => {
    for (const [compat, cut] of [[[], false], [['shared-client-reset'], true]] as const) {
      server = await scriptedServer((_n, socket) => socket.end()) // every request: connection closed, a transient error
      const f = await startFixture({
        connector: 'tuned-keepalive',
        // 30 events 60 ms apart: the stream outlives the failing request by well over a second.
        upstreams: [{ name: 'slow', behaviour: { textDeltas: 30, eventIntervalMs: 60 } }],
        extraEndpoints: [server.url],
        cluster: { compat: [...compat], strategy: 'round_robin', attempts: { max: 1 } },
      })
      try {
        const p = new Pool(f.proxy.url, { allowH2: false, connections: 2 })
        pools.push(p)
        const streaming = await p.request({ method: 'POST', path: '/v1/messages', body: JSON.stringify({ ...messageBody, stream: true }) })
        let text = ''
        const firstChunk = once(streaming.body, 'data')
        streaming.body.on('data', (chunk: Buffer) => { text += chunk.toString() })
        await firstChunk
        // round_robin: the next request goes to the closing server.
        const failing = await p.request({ method: 'POST', path: '/v1/messages', body: JSON.stringify(messageBody) })
        expect(failing.statusCode).toBe(502)
        await failing.body.text()
        await finished(streaming.body)
        expect(/event: error/.test(text)).toBe(cut)
        expect(/event: message_stop/.test(text)).toBe(!cut)
      } finally {
        await f.close()
        await server.close()
        server = undefined
      }
    }
  })
})

describe('qcc\'s local routes', () => {
  it('answers count_tokens locally with floor(chars × 0.35) + 10, and 100 for a body it cannot read', async () => {
    fx = await startFixture({ connector: 'tuned-keepalive' })
    const ok = await raw(fx, '/v1/messages/count_tokens', { body: JSON.stringify({ system: 'abc', messages: [{ role: 'user', content: 'x'.repeat(100) }] }) })
    expect(JSON.parse(ok.text)).toEqual({ input_tokens: Math.floor(103 * 0.35) + 10 })
    const bad = await raw(fx, '/v1/messages/count_tokens', { body: 'not json' })
    expect(JSON.parse(bad.text)).toEqual({ input_tokens: 100 })
    expect(fx.upstreams[0]!.ledger.summary().received).toBe(0)
  })

  it('serves every stats key qcc has, plus success_rate, breaker, queue, connector and pool per endpoint', async () => {
    fx = await startFixture({ connector: 'naive-keepalive' })
    await fx.send('r1')
    const res = await request(`${fx.proxy.url}/__qcc__/stats`)
    const stats = (await res.body.json()) as Record<string, any>
    for (const key of ['total_requests', 'successful_requests', 'failed_requests', 'start_time', 'uptime', 'last_used_endpoint_id',
      'endpoints', 'total_endpoints', 'healthy_endpoints', 'failed_endpoints', 'failure_queue_size', 'endpoint_verify_counts', 'success_rate']) {
      expect(stats, key).toHaveProperty(key)
    }
    const ep = stats.endpoints[0]
    for (const key of ['id', 'base_url', 'priority', 'enabled', 'health_status', 'is_healthy', 'breaker', 'in_failure_queue', 'connector_profile', 'pool', 'stale_retries']) {
      expect(ep, key).toHaveProperty(key)
    }
    expect(Object.keys(ep.health_status).sort()).toEqual(['avg_response_time', 'consecutive_failures', 'failed_requests', 'last_check', 'last_error', 'status', 'success_rate', 'total_requests'])
    expect(ep.pool).toMatchObject({ connected: 1, free: 1, pending: 0, running: 0 })
    expect(JSON.stringify(stats)).not.toContain('sk-test-key')
  })

  it('serves /__qcc__/logs filtered by level, grep and lines, never showing a key', async () => {
    fx = await startFixture({ connector: 'tuned-keepalive', cluster: { attempts: { max: 1 } } })
    fx.upstreams[0]!.use(http.post('*/v1/messages', () => HttpResponse.json({ error: 'bad key sk-test-key-0001 rejected' }, { status: 500 })))
    await fx.send('r1')
    const get = async (q: string) => {
      const res = await request(`${fx!.proxy.url}/__qcc__/logs${q}`)
      return { status: res.statusCode, body: (await res.body.json()) as Record<string, any> }
    }
    const all = await get('?lines=0')
    expect(all.body.logs.every((l: string) => /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} - qcc-lab\.proxy - (DEBUG|INFO|WARNING|ERROR) - [a-z-]+\.[a-z-]+: /.test(l))).toBe(true)
    expect(JSON.stringify(all.body)).not.toContain('sk-test-key-0001')
    expect(JSON.stringify(all.body)).toContain('bad key …0001 rejected')
    const stats = (await (await request(`${fx.proxy.url}/__qcc__/stats`)).body.json()) as { endpoints: Array<{ health_status: { last_error: string } }> }
    expect(stats.endpoints[0]!.health_status.last_error).toContain('bad key …0001 rejected')
    const warnings = await get('?level=warning')
    expect(warnings.body.logs.length).toBeGreaterThan(0)
    expect(warnings.body.logs.every((l: string) => l.includes(' - WARNING - '))).toBe(true)
    const grep = await get('?grep=REQUEST.FAILED&lines=1')
    expect(grep.body).toMatchObject({ displayed_lines: 1, filters: { lines: 1, level: 'ALL', grep: 'REQUEST.FAILED' } })
    expect((await get('?lines=many')).status).toBe(400)
  })
})

describe('the compat catalogue', () => {
  it('documents every switch, and presets only name known switches', () => {
    for (const [name, s] of Object.entries(compatSwitches)) {
      expect(s.replays.length, name).toBeGreaterThan(20)
    }
    for (const list of Object.values(compatPresets)) for (const s of list) expect(Object.keys(compatSwitches)).toContain(s)
  })

  it('expands presets into their switches', () => {
    const { switches, unknown } = resolveCompat(['qcc-aiohttp', 'drop-query', 'nope'])
    expect([...switches]).toContain('lb-healthy-only')
    expect([...switches]).toContain('drop-query')
    expect(unknown).toEqual(['nope'])
  })

  it('refuses an unknown switch at start, naming it', async () => {
    await expect(startFixture({ connector: 'tuned-keepalive', cluster: { compat: ['lb-healthy-onyl'] } })).rejects.toThrow(/unknown compat switch "lb-healthy-onyl"/)
  })
})

vi.setConfig({ testTimeout: 30_000 })

describe('default-profile-fallback', () => {
  it('sends the request outside the cluster to the default profile when the cluster has nothing left, as qcc does', async () => {
    const { startFakeUpstream } = await import('../../../fake-upstreams/index.ts')
    const { startProxy } = await import('../../../src/proxy/server.ts')
    const broken = await startFakeUpstream({ name: 'broken', faults: [{ kind: 'error-response', status: 503 }] })
    const other = await startFakeUpstream({ name: 'other' })
    const start = (compat: string[], legacy: boolean, fallbackUrl: string) => startProxy({
      cluster: {
        name: 'c', compat, attempts: { max: 1 },
        endpoints: [{ baseUrl: broken.url, apiKey: 'sk-broken-0001' }],
        defaultProfile: { name: 'work', legacy, endpoints: [{ baseUrl: fallbackUrl, apiKey: legacy ? 'sk-broken-0001' : 'sk-other-0002' }] },
      },
    })
    const ask = async (url: string) => {
      const p = new Pool(url, { allowH2: false })
      pools.push(p)
      const res = await p.request({ method: 'POST', path: '/v1/messages', headers: { 'content-type': 'application/json' }, body: JSON.stringify(messageBody) })
      return `${res.statusCode} ${(await res.body.text()).slice(0, 40)}`
    }
    try {
      // qcc-0.6.1 queues the broken endpoint and never panics: the second request has no candidate.
      const plain = await start(['qcc-0.6.1'], false, other.url)
      const withSwitch = await start(['queue-on-any-failure', 'queue-never-panics'], false, other.url)
      const legacySameKey = await start(['qcc-0.6.1'], true, broken.url)
      try {
        await ask(withSwitch.url)
        // Without the switch in play (it is in the preset, so take the preset apart): All 0.
        expect(await ask(withSwitch.url)).toMatch(/^502 \{"error":"All 0 endpoints failed"\}/)
        await ask(plain.url)
        expect(await ask(plain.url)).toMatch(/^200 /)
        expect(plain.logs().some((l) => l.event === 'lb.default-profile-fallback')).toBe(true)
        // A legacy default profile is a temporary endpoint with the queued endpoint's id: refused, as qcc.
        await ask(legacySameKey.url)
        expect(await ask(legacySameKey.url)).toMatch(/^502 \{"error":"All 0 endpoints failed"\}/)
      } finally {
        await Promise.all([plain.close(), withSwitch.close(), legacySameKey.close()])
      }
    } finally {
      await Promise.all([broken.close(), other.close()])
    }
  })
})
