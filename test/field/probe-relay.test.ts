/**
 * The probe against fake upstreams whose idle close is known: at 300 ms and 1 s, honest and lying
 * Keep-Alive headers, FIN and RST, behind the fake upstream's injected RTT (`networkRttMs`, what
 * `qcc-lab bench --rtt` uses); force-close's cost in RTTs over HTTP and HTTPS. Tolerances: see
 * test/helpers/probe-fake.ts. A 5 s close and the probe's bounds: probe-relay-long-idle.test.ts;
 * relays whose close races requests: probe-relay-races.test.ts.
 */
import { describe, expect, it } from 'vitest'
import { expectFound, probeFake, RTT, rtts } from '../helpers/probe-fake.ts'

describe('qcc-lab probe against a fake relay with a known idle close', () => {
  it('finds a 300 ms idle close sent as RST behind a lying Keep-Alive header', async () => {
    const r = await probeFake([{ kind: 'idle-close', idleMs: 300, mode: 'rst', keepAliveHeader: 'lying', advertisedMs: 60_000 }])
    expectFound(r, 'observed-close', 300)
    expect(r.closes.kind).toBe('rst')
    expect(r.header).toMatchObject({ verdict: 'lying', direction: 'overstates', header: 'timeout=60' })
    // Safe: below the close by more than one RTT, so no request written at that idle crosses the FIN.
    expect(r.recommendation.idleExpiryMs).not.toBeNull()
    expect(r.recommendation.idleExpiryMs!).toBeLessThan(300 - RTT)
    expect(r.recommendation.defaults.find((d) => d.client === 'undici (defaults)')).toMatchObject({ expiryMs: 58_000, safe: false })
  })

  it('reports a 1 s idle close behind a 20 ms RTT as 1 s ± 20 ms, and force-close as one RTT per request (the issue\'s done-when, HTTP)', async () => {
    const r = await probeFake([{ kind: 'idle-close', idleMs: 1000, mode: 'fin', keepAliveHeader: 'honest' }])
    expectFound(r, 'observed-close', 1000)
    expect(Math.abs((r.idle as { estimateMs: number }).estimateMs - 1000)).toBeLessThanOrEqual(20)
    expect(r.closes.kind).toBe('fin')
    expect(r.header).toMatchObject({ verdict: 'honest', header: 'timeout=1' })
    expect(rtts(r.recommendation.forceClose.costPerRequestMs!)).toBe(1)
    expect(r.recommendation.forceClose.costPerFirstSseEventMs).toBe(r.recommendation.forceClose.costPerRequestMs)
    expect(r.recommendation.forceClose).toMatchObject({ neededUndici: false, neededAiohttp: false })
    expect(r.requestCap).toMatchObject({ kind: 'none', tried: 20 })
    expect(r.recommendation.idleExpiryMs!).toBeLessThan(1000 - RTT)
    expect(r.recommendation.aiohttp.keepaliveTimeoutS).toBe(r.recommendation.idleExpiryMs! / 1000)
  })

  it('reports force-close as two RTTs per request over HTTPS, with TLS full and resumed handshakes (the issue\'s done-when, HTTPS)', async () => {
    const r = await probeFake([{ kind: 'idle-close', idleMs: 1000, mode: 'rst', keepAliveHeader: 'absent' }], { tls: true })
    expectFound(r, 'observed-close', 1000)
    expect(r.target.protocol).toBe('https')
    expect(r.header).toMatchObject({ verdict: 'absent', header: null })
    expect(r.closes.kind).toBe('rst')
    expect(r.timings.tlsFullMs).toBeDefined()
    expect(r.timings.tlsResumption).toBe('resumed')
    expect(rtts(r.recommendation.forceClose.costPerRequestMs!)).toBe(2)
    expect(rtts(r.recommendation.forceClose.aiohttpCostPerRequestMs!)).toBe(2)
    expect(r.recommendation.undici.options).toMatchObject({ allowH2: false })
  })
})
