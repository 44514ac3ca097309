import { describe, expect, it } from 'vitest'
import { summarizeVariant } from '../../../src/harness/report/summarize.ts'
import { collectProxyEvents } from '../../../src/harness/report/collect.ts'
import { logChannel } from '../../../src/proxy/log.ts'
import type { ProxyStats } from '../../../src/proxy/server.ts'
import { staleRecord } from './html-fixture.ts'

describe('the trace in the run report (the data behind the pictures)', () => {
  it("puts the client's, the upstream's and the proxy's times on the variant's one clock", () => {
    const { trace } = summarizeVariant(staleRecord({ retried: false }), [])
    // The workload's clock starts 1 ms in, the upstream's 2 ms in (see the fixture).
    expect(trace.requests.map((r) => r.startMs)).toEqual([1, 3, 150, 157])
    const relay = trace.upstreams[0]!
    expect(relay.arrivals.map((a) => [a.requestId, a.atMs, a.endMs])).toEqual([['r0', 2.2, 2.4], ['r1', 4, 4.4], ['r2', 150.4, 152.5], ['r3', 157.2, 158]])
    expect(relay.connections[0]).toEqual({ id: 1, openMs: 2, closeMs: 152.5, closedBy: 'fault:race-close', serverClose: { kind: 'fin', atMs: 150.4 } })
    // An attempt event is stamped when it ends; it started its duration earlier.
    expect(trace.attempts.find((a) => a.requestId === 'r2')).toMatchObject({ outcome: 'stale-socket', reused: true, startMs: 150.1, endMs: 152.3, error: 'other side closed' })
    expect(trace.endpoints).toEqual([{ id: 'ep1', upstream: 'relay-a', states: [
      { atMs: 0.5, tier: 'healthy', breaker: 'closed', health: 'unknown', queued: false },
      { atMs: 152.2, tier: 'degraded', breaker: 'closed', health: 'degraded', queued: false },
      { atMs: 158.5, tier: 'healthy', breaker: 'closed', health: 'healthy', queued: false },
    ] }])
  })

  it('names each failed request with its failure, its cause and its diagnosis; successes carry none', () => {
    const v = summarizeVariant(staleRecord({ retried: false }), [])
    const r2 = v.trace.requests.find((r) => r.id === 'r2')!
    expect(r2).toMatchObject({ failure: 'http-502', cause: 'stale-socket', status: 502 })
    expect(r2.diagnosis).toBe(v.diagnosis[0]!.explanation)
    expect(v.trace.requests.filter((r) => r.failure !== undefined || r.diagnosis !== undefined).map((r) => r.id)).toEqual(['r2'])
  })

  it('explains every failed request in the trace, not only the five of `diagnosis`', () => {
    const base = staleRecord({ retried: false })
    const samples = Array.from({ length: 7 }, (_, i) => ({ index: i, requestId: `f${i}`, startMs: i, latencyMs: 1, status: 502, errorBody: '{"error":"All 1 endpoints failed"}' }))
    const v = summarizeVariant({ ...base, samples }, [])
    expect(v.diagnosis).toHaveLength(5)
    expect(v.trace.requests.filter((r) => r.diagnosis?.startsWith(`${r.id} failed (http-502)`))).toHaveLength(7)
  })

  it("marks the proxy's own calls as probes and keeps rounding to 0.1 ms", () => {
    const base = staleRecord({ retried: false })
    const u = base.upstreams[0]!
    const probe = { ...u.entries[0]!, seq: 9, requestId: 'relay-a-9', atMs: 10.04, endAtMs: 10.26 }
    const { trace } = summarizeVariant({ ...base, upstreams: [{ ...u, entries: [...u.entries, probe] }] }, [])
    expect(trace.upstreams[0]!.arrivals.at(-1)).toMatchObject({ requestId: 'relay-a-9', probe: true, atMs: 12, endMs: 12.3 })
    expect(trace.upstreams[0]!.arrivals.filter((a) => a.probe)).toHaveLength(1)
  })

  it('is the same on clocks that all start with the variant when a record predates the origins', () => {
    const { workloadOriginMs: _w, ...rest } = staleRecord({ retried: false })
    const { trace } = summarizeVariant({ ...rest, upstreams: rest.upstreams.map(({ originMs: _o, ...u }) => u) }, [])
    expect(trace.requests[0]!.startMs).toBe(0)
    expect(trace.upstreams[0]!.arrivals[0]!.atMs).toBe(0.2)
  })
})

describe('collectProxyEvents: endpoint states', () => {
  const stats = (tier: string, breaker = 'closed'): ProxyStats => ({
    endpoints: [{ id: 'ep1', connector_profile: 'naive-keepalive', attempts: 0, stale_retries: 0, tier, breaker: { state: breaker }, health_status: { status: tier === 'healthy' ? 'healthy' : 'degraded' }, in_failure_queue: false }],
  }) as unknown as ProxyStats

  it("records each endpoint's state from the start and once per change, after the line that announced it", async () => {
    let current = stats('healthy')
    let clock = 0
    const collector = collectProxyEvents('p1', { now: () => clock, stats: () => current })
    const log = (proxyId: string): void => logChannel.publish({ proxyId, time: 0, level: 'INFO', event: 'x', message: '', line: '' })
    try {
      clock = 5
      log('p1')
      // The health update follows the log line in the same synchronous step: it is read after it.
      current = stats('degraded')
      await Promise.resolve()
      clock = 6
      log('p1')
      log('p1')
      await Promise.resolve()
      clock = 7
      current = stats('circuit-open', 'open')
      log('another-proxy')
      await Promise.resolve()
      clock = 8
      log('p1')
      await Promise.resolve()
    } finally {
      collector.stop()
    }
    expect(collector.endpointStates.map((s) => [s.atMs, s.tier, s.breaker])).toEqual([[0, 'healthy', 'closed'], [5, 'degraded', 'closed'], [8, 'circuit-open', 'open']])
  })

  it('reads nothing after it stopped', async () => {
    let reads = 0
    const collector = collectProxyEvents('p2', { stats: () => { reads++; return stats('healthy') } })
    logChannel.publish({ proxyId: 'p2', time: 0, level: 'INFO', event: 'x', message: '', line: '' })
    collector.stop()
    await Promise.resolve()
    expect(reads).toBe(1)
  })
})
