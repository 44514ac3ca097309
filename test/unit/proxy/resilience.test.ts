/** The attempt loop, health, breaker, failure queue and verifier, against real fake upstreams. */
import { afterEach, describe, expect, it } from 'vitest'
import { http, HttpResponse } from 'msw'
import { request } from 'undici'
import { startFixture, type Fixture } from '../../helpers/proxy-fixture.ts'

let fx: Fixture | undefined
afterEach(async () => { await fx?.close(); fx = undefined })

const answer = (status: number, type = 'api_error') => http.post('*/v1/messages', () =>
  HttpResponse.json({ type: 'error', error: { type, message: type } }, { status }))
const events = (f: Fixture, name: string) => f.proxy.logs().filter((r) => r.event === name)
const endpointStats = (f: Fixture, i: number) => f.proxy.stats().endpoints[i]! as Record<string, any>

/** A clock the test moves by hand. */
function manualClock(start = 1_700_000_000_000) {
  let now = start
  return { now: () => now, advance: (ms: number) => { now += ms } }
}

describe('a cluster with one failing endpoint', () => {
  it('serves 1,000 requests in a row when one endpoint answers 500 and the other is healthy', async () => {
    // The clock stands still, so the bad endpoint's degraded mark does not time out during the run.
    const clock = manualClock()
    fx = await startFixture({ connector: 'tuned-keepalive', clock: clock.now, upstreams: [{ name: 'bad' }, { name: 'good' }] })
    fx.upstreams[0]!.use(answer(500))
    const statuses = new Map<number, number>()
    for (let i = 0; i < 1_000; i++) {
      const { status } = await fx.send(`r${i}`)
      statuses.set(status, (statuses.get(status) ?? 0) + 1)
    }
    expect(Object.fromEntries(statuses)).toEqual({ 200: 1_000 })
    expect(fx.proxy.stats()).toMatchObject({ total_requests: 1_000, successful_requests: 1_000, success_rate: 100 })
    // One 500 marks the bad endpoint degraded; the healthy one takes every later request.
    expect(fx.upstreams[0]!.ledger.summary().received).toBe(1)
    expect(endpointStats(fx, 0).health_status.status).toBe('degraded')
  })
})

describe('no "All 0 endpoints failed" while an endpoint is enabled', () => {
  it('still attempts degraded and circuit-open endpoints (and logs the fallback)', async () => {
    const clock = manualClock()
    fx = await startFixture({ connector: 'tuned-keepalive', clock: clock.now, upstreams: [{ name: 'a' }, { name: 'b' }], cluster: { attempts: { max: 1 } } })
    // a: three failures → circuit open; b: one failure → degraded.
    fx.upstreams[0]!.use(answer(503, 'overloaded_error'))
    fx.upstreams[1]!.use(answer(503, 'overloaded_error'))
    for (let i = 0; i < 4; i++) await fx.send(`warm-${i}`)
    const tiers = fx.proxy.stats().endpoints.map((e) => (e as Record<string, unknown>).tier)
    expect(tiers).toEqual(['circuit-open', 'degraded'])
    fx.upstreams[1]!.resetHandlers()
    const before = events(fx, 'lb.degraded-fallback').length
    const res = await fx.send('after')
    expect(res.status).toBe(200)
    expect(fx.upstreams[1]!.ledger.byRequestId('after').map((e) => e.status)).toEqual([200])
    expect(events(fx, 'lb.degraded-fallback').length).toBe(before + 1)

  })

  it('tries a circuit-open endpoint when it is the only one left (panic), instead of answering "All 0"', async () => {
    const clock = manualClock()
    fx = await startFixture({ connector: 'tuned-keepalive', clock: clock.now, cluster: { attempts: { max: 1 } } })
    fx.upstreams[0]!.use(answer(503, 'overloaded_error'))
    for (let i = 0; i < 3; i++) await fx.send(`warm-${i}`)
    expect((fx.proxy.stats().endpoints[0] as Record<string, unknown>).tier).toBe('circuit-open')
    fx.upstreams[0]!.resetHandlers()
    const res = await fx.send('panic')
    expect(res.status).toBe(200)
    expect(events(fx, 'lb.panic').length).toBe(1)
  })

  it('compat lb-healthy-only brings back the seed\'s 502 {"error": "All 0 endpoints failed"}', async () => {
    fx = await startFixture({ connector: 'tuned-keepalive', upstreams: [{ name: 'a' }], cluster: { compat: ['lb-healthy-only'], attempts: { max: 1 } } })
    fx.upstreams[0]!.use(answer(503, 'overloaded_error'))
    await fx.send('degrade-it')
    const res = await fx.send('next')
    expect(res.status).toBe(502)
    expect(res.text).toBe('{"error":"All 0 endpoints failed"}')
    expect(fx.upstreams[0]!.ledger.byRequestId('next')).toHaveLength(0)
    expect(events(fx, 'lb.none')[0]!.message).toContain('refused by the healthy-only balancer')
  })

  it('the default uses a queued endpoint as the last resort; compat queue-never-panics refuses it (All 0)', async () => {
    for (const [compat, expected] of [[[], 200], [['queue-never-panics'], 502]] as const) {
      const f = await startFixture({ connector: 'tuned-keepalive', cluster: { compat: [...compat], verifier: { enabled: false } } })
      try {
        f.upstreams[0]!.use(answer(401, 'authentication_error'))
        await f.send('auth-fails')
        expect(f.proxy.stats().failed_endpoints).toHaveLength(1)
        f.upstreams[0]!.use(http.post('*/v1/messages', () => HttpResponse.json({ ok: true })))
        const res = await f.send('next')
        expect(res.status).toBe(expected)
        if (expected === 502) expect(res.text).toBe('{"error":"All 0 endpoints failed"}')
      } finally {
        await f.close()
      }
    }
  })
})

describe('circuit breaker through the proxy', () => {
  it('opens after 3 failures, sends traffic elsewhere, and after the open time lets one probe through', async () => {
    const clock = manualClock()
    fx = await startFixture({ connector: 'tuned-keepalive', clock: clock.now, upstreams: [{ name: 'a' }, { name: 'b' }], cluster: { attempts: { max: 1 }, recoverAfterMs: 1_000_000 } })
    fx.upstreams[0]!.use(answer(500))
    // Three requests fail on a (priority order, 1 attempt each)… a degraded after the first, so b serves the rest.
    await fx.send('r1')
    expect(endpointStats(fx, 0).health_status.status).toBe('degraded')
    for (let i = 2; i <= 4; i++) expect((await fx.send(`r${i}`)).status).toBe(200)
    expect(fx.upstreams[0]!.ledger.summary().received).toBe(1)
    // Make b fail too: a is degraded, b degraded → a and b alternate until both breakers open.
    fx.upstreams[1]!.use(answer(500))
    for (let i = 0; i < 6; i++) await fx.send(`f${i}`)
    expect(fx.proxy.stats().endpoints.map((e) => (e as Record<string, any>).breaker.state)).toEqual(['open', 'open'])
    expect(events(fx, 'breaker.open')).toHaveLength(2)
    // Both healthy again upstream; 60 s later one probe per endpoint closes the breakers.
    fx.upstreams[0]!.use(http.post('*/v1/messages', () => HttpResponse.json({ ok: 'a' })))
    fx.upstreams[1]!.use(http.post('*/v1/messages', () => HttpResponse.json({ ok: 'b' })))
    clock.advance(60_000)
    expect((await fx.send('probe')).status).toBe(200)
    expect(events(fx, 'breaker.half-open').length).toBeGreaterThan(0)
    expect(events(fx, 'breaker.close')).toHaveLength(1)
  })
})

describe('failure queue and verifier', () => {
  it('isolates an endpoint that answered 401, serves from the other, and the verifier proves it back with the code', async () => {
    fx = await startFixture({ connector: 'tuned-keepalive', upstreams: [{ name: 'a' }, { name: 'b' }], cluster: { verifier: { enabled: false } } })
    const authFail = answer(401, 'authentication_error')
    fx.upstreams[0]!.use(authFail)
    expect((await fx.send('r1')).status).toBe(200)
    expect(fx.proxy.stats()).toMatchObject({ failed_endpoints: [endpointStats(fx, 0).id], failure_queue_size: 1 })
    expect(endpointStats(fx, 0).failure_queue_reason).toMatch(/^HTTP 401: \{"type":"error","error":\{"type":"authentication_error"/)
    for (let i = 2; i < 6; i++) await fx.send(`r${i}`)
    expect(fx.upstreams[0]!.ledger.summary().received).toBe(1) // never handed normal traffic again
    await fx.proxy.verifyNow()
    expect(fx.proxy.stats().failure_queue_size).toBe(1) // still 401: still queued
    expect(events(fx, 'verify.fail')[0]!.message).toContain('HTTP 401')
    // The key works again: the built-in Messages API answers the verification prompt with its code.
    fx.upstreams[0]!.resetHandlers()
    await fx.proxy.verifyNow()
    expect(fx.proxy.stats()).toMatchObject({ failure_queue_size: 0, failure_queue_stats: { total_recovered: 1, total_still_failed: 1 } })
    expect(endpointStats(fx, 0).health_status.status).toBe('healthy')
  })

  it('a 200 whose body is an error, or lacks the code, is not a recovery; compat verifier-accepts-any-200 takes it', async () => {
    for (const [compat, recovered] of [[[], false], [['verifier-accepts-any-200'], true]] as const) {
      const f = await startFixture({ connector: 'tuned-keepalive', cluster: { compat: [...compat], verifier: { enabled: false } } })
      try {
        f.upstreams[0]!.use(answer(403, 'permission_error'))
        await f.send('r1')
        f.upstreams[0]!.use(http.post('*/v1/messages', () => HttpResponse.json({ error: { type: 'Bad Request', message: 'key disabled' } })))
        await f.proxy.verifyNow()
        expect(f.proxy.stats().failure_queue_size).toBe(recovered ? 0 : 1)
      } finally {
        await f.close()
      }
    }
  })

  it('an upstream that answers 200 but never echoes the code stays isolated', async () => {
    fx = await startFixture({ connector: 'tuned-keepalive', upstreams: [{ behaviour: { echoVerificationCode: false } }], cluster: { verifier: { enabled: false } } })
    fx.upstreams[0]!.use(answer(401, 'authentication_error'))
    await fx.send('r1')
    fx.upstreams[0]!.resetHandlers()
    await fx.proxy.verifyNow()
    expect(fx.proxy.stats().failure_queue_size).toBe(1)
    expect(events(fx, 'verify.fail')[0]!.message).toMatch(/lacks the code [A-Z0-9]{6}/)
  })

  it('by default a 500 does not isolate an endpoint; compat queue-on-any-failure (qcc v0.6.1) does', async () => {
    for (const [compat, queued] of [[[], 0], [['queue-on-any-failure'], 1]] as const) {
      const f = await startFixture({ connector: 'tuned-keepalive', cluster: { compat: [...compat], verifier: { enabled: false }, attempts: { max: 1 } } })
      try {
        f.upstreams[0]!.use(answer(500))
        await f.send('r1')
        expect(f.proxy.stats().failure_queue_size).toBe(queued)
      } finally {
        await f.close()
      }
    }
  })
})

describe('session affinity', () => {
  it('keeps a conversation on its endpoint whatever the strategy, and unbinds from a failing one', async () => {
    fx = await startFixture({ connector: 'tuned-keepalive', upstreams: [{ name: 'a' }, { name: 'b' }], cluster: { strategy: 'round_robin' } })
    const send = async (id: string, conv: string) => {
      const res = await request(`${fx!.proxy.url}/v1/messages`, {
        method: 'POST', body: JSON.stringify({ model: 'm', messages: [] }),
        headers: { 'content-type': 'application/json', 'x-request-id': id, 'x-conversation-id': conv },
      })
      return JSON.parse(await res.body.text()).id as string
    }
    const first = await send('c1', 'conv-1')
    const later = [await send('c2', 'conv-1'), await send('c3', 'conv-1'), await send('c4', 'conv-1')]
    const upstreamOf = (msgId: string) => msgId.split('_')[1]
    expect(later.map(upstreamOf)).toEqual([upstreamOf(first), upstreamOf(first), upstreamOf(first)])
    const boundIndex = upstreamOf(first) === 'a' ? 0 : 1
    fx.upstreams[boundIndex]!.use(answer(401, 'authentication_error'))
    await send('c5', 'conv-1')
    const moved = await send('c6', 'conv-1')
    expect(upstreamOf(moved)).not.toBe(upstreamOf(first))
    expect(events(fx, 'affinity.rebind').length).toBe(1)
  })
})
