/**
 * A real, tiny bench run with the node-floor anchor: the floor is measured in the same rounds as the
 * proxies, every configuration records its CPU per request, and the report carries the proxy ÷ floor
 * ratio. What the figures are is measured (bench/README.md), not asserted here.
 */
import { describe, expect, it } from 'vitest'
import { runBench } from '../../src/bench/run-bench.ts'
import { asBenchReport } from '../../src/bench/compare.ts'

describe('bench --anchor node-floor', () => {
  it('measures the bare Node relay beside the proxies and records CPU per request for everything in between', async () => {
    const report = await runBench({ quick: true, protocols: ['http'], payloads: ['json', 'sse'], concurrencies: [2], rttsMs: [0], rounds: 2, roundMs: 100, warmupMs: 200, anchors: ['node-floor'] })
    // What compare reads: the report passes its own schema.
    expect(asBenchReport(JSON.parse(JSON.stringify(report)), 'r.json')).toBeTruthy()
    expect(report.results.map((r) => r.id)).toEqual([
      'http/json/c2/rtt0/direct', 'http/json/c2/rtt0/force-close', 'http/json/c2/rtt0/naive-keepalive', 'http/json/c2/rtt0/tuned-keepalive', 'http/json/c2/rtt0/node-floor',
      'http/sse/c2/rtt0/direct', 'http/sse/c2/rtt0/force-close', 'http/sse/c2/rtt0/naive-keepalive', 'http/sse/c2/rtt0/tuned-keepalive', 'http/sse/c2/rtt0/node-floor',
    ])
    for (const r of report.results) {
      expect(r.median.errors, r.id).toBe(0)
      expect(r.rounds.every((x) => x.requests > 0), r.id).toBe(true)
      if (r.target === 'direct') {
        expect(r.median.cpuUsPerRequest, r.id).toBeUndefined()
      } else {
        // Each round: the CPU of the process in between over the requests it relayed.
        expect(r.rounds.every((x) => x.cpuUsPerRequest !== undefined && x.cpuUsPerRequest > 0), r.id).toBe(true)
        expect(r.spread.cpuUsPerRequest, r.id).toBeDefined()
      }
    }
    // The floor reuses its connections to the upstream as the tuned proxy does.
    const floor = report.results.find((r) => r.id === 'http/json/c2/rtt0/node-floor')!
    expect(floor.median.connectionsPerRequest).toBeLessThan(0.5)
    for (const g of report.ratios) {
      expect(g.proxyCpuOverNodeFloor, g.id).toBeGreaterThan(0)
      expect(g.proxyCpuOverNginx).toBeUndefined()
    }
  })
})
