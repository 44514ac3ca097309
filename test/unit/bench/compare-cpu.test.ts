/** compare on the proxy's CPU per request: per configuration, and over all of them. */
import { describe, expect, it } from 'vitest'
import { compareReports, pooledCpuUs, roundCpuUs } from '../../../src/bench/compare.ts'
import { median } from '../../../src/bench/stats.ts'
import type { BenchReport, BenchResult, BenchTarget, RoundFigures } from '../../../src/bench/types.ts'

const groups = ['http/json', 'http/sse', 'https/json', 'https/sse'] as const
const proxies: BenchTarget[] = ['force-close', 'naive-keepalive', 'tuned-keepalive']

/** A round at a steady 10k req/s whose proxy spent `cpuUs` per request, and the upstream `upstreamUs` if given. */
const round = (cpuUs: number | undefined, requests = 4000, upstreamUs?: number): RoundFigures => ({
  requests, rps: requests * 2.5, p50: 5, p90: 8, p99: 12, ttfbP50: 5, errors: {}, connectionsPerRequest: 0, handshakesPerRequest: 0, clientCpuCores: 0.9,
  ...(cpuUs === undefined ? {} : { proxyCpuCores: (cpuUs * requests * 2.5) / 1e6, cpuUsPerRequest: cpuUs }),
  ...(upstreamUs === undefined ? {} : { upstreamCpuCores: (upstreamUs * requests * 2.5) / 1e6 }),
})

function result(group: string, target: BenchTarget, cpu: readonly number[] | undefined): BenchResult {
  const [protocol, payload] = group.split('/') as ['http' | 'https', 'json' | 'sse']
  const rounds = (cpu ?? [0, 0, 0, 0, 0]).map((c) => round(cpu ? c : undefined))
  return {
    id: `${group}/c64/rtt0/${target}`, target, protocol, payload, concurrency: 64, rttMs: 0, rounds,
    median: { requests: 4000, rps: 10_000, p50: 5, p90: 8, p99: 12, ttfbP50: 5, errors: 0, connectionsPerRequest: 0, handshakesPerRequest: 0, clientCpuCores: 0.9, ...(cpu ? { cpuUsPerRequest: median(cpu) } : {}) },
    spread: { rps: 0, p50: 0, p90: 0, p99: 0, ttfbP50: 0 },
  }
}

/** Every proxy configuration of a quick bench, plus direct and the node-floor; `cpu(group, target, i)` per round. */
function report(cpu: (group: string, target: BenchTarget, round: number) => number): BenchReport {
  const results = groups.flatMap((g) => [
    result(g, 'direct', undefined),
    ...[...proxies, 'node-floor' as const].map((t) => result(g, t, [0, 1, 2, 3, 4].map((i) => cpu(g, t, i)))),
  ])
  return {
    schema: 'qcc-lab/bench-report@1', createdAt: '2026-12-01T00:00:00Z', mode: 'quick', settings: { rounds: 5, roundMs: 400, warmupMs: 12_000 },
    environment: { node: '24', undici: '8', cpuModel: 'x', cores: 2, platform: 'linux-x64', gitCommit: null },
    results, ratios: [],
  }
}

/** Base CPU per request: 50-150 µs by configuration, with a ±15 % round-to-round pattern. */
const wobble = [1.0, 1.15, 0.9, 0.85, 1.1]
const baseCpu = (g: string, t: BenchTarget, i: number): number => (50 + 10 * groups.indexOf(g as (typeof groups)[number]) + 30 * proxies.indexOf(t)) * wobble[i]!
/** Deterministic ±3 % differences between configurations, as between two runs of the same code. */
const jitter = (g: string, t: BenchTarget): number => 1 + 0.03 * Math.sin(7 * groups.indexOf(g as (typeof groups)[number]) + 3 * proxies.indexOf(t) + 1)

describe('compare: the proxy\'s CPU per request', () => {
  it('reads it per round as recorded, or as proxy cores ÷ req/s in a report written before it was', () => {
    expect(roundCpuUs(round(80))).toBe(80)
    const { cpuUsPerRequest: _, ...older } = round(80)
    expect(roundCpuUs(older)).toBeCloseTo(80, 6)
    expect(roundCpuUs(round(undefined))).toBeUndefined()
  })

  it('pools a configuration\'s rounds: their CPU ÷ their requests, not the median of rounds', () => {
    const r = result('http/json', 'tuned-keepalive', [100, 100, 100, 100, 100])
    const uneven = { ...r, rounds: [round(100, 1000), round(50, 3000)] }
    expect(pooledCpuUs(uneven)).toBeCloseTo((100 * 1000 + 50 * 3000) / 4000, 6)
  })

  it('names the proxy configurations a report has no CPU for (a failed read), and judges the rest', () => {
    const head = report(baseCpu)
    const lost = { ...head, results: head.results.map((x) => (x.id === 'https/sse/c64/rtt0/tuned-keepalive' ? { ...x, rounds: x.rounds.map((q) => ({ ...q, cpuUsPerRequest: undefined, proxyCpuCores: undefined })), median: { ...x.median, cpuUsPerRequest: undefined } } : x)) }
    const c = compareReports(report(baseCpu), lost, 10, ['rps', 'cpuUsPerRequest'])
    expect(c.cpu).toMatchObject({ configurations: 11 })
    expect(c.warnings).toEqual([expect.stringMatching(/^CPU per request gates, but only 11 of the 12 proxy configurations have it in both reports: the others were not judged on CPU\. /)])
    expect(compareReports(report(baseCpu), lost, 10, ['rps']).warnings).toEqual([])
  })

  it('passes two runs of the same code whose configurations differ by ±3 %', () => {
    const c = compareReports(report(baseCpu), report((g, t, i) => baseCpu(g, t, i) * jitter(g, t)), 10, ['rps', 'cpuUsPerRequest'])
    expect(c.cpu).toMatchObject({ configurations: 12, regression: false, worse: false })
    expect(Math.abs(c.cpu!.changePct)).toBeLessThan(2)
    expect(c.regressions).toBe(0)
  })

  it('catches +10 % on every proxy configuration over all of them, while each alone is inside its rounds\' spread', () => {
    const c = compareReports(report(baseCpu), report((g, t, i) => baseCpu(g, t, i) * jitter(g, t) * 1.1), 10, ['rps', 'cpuUsPerRequest'])
    expect(c.cpu).toMatchObject({ configurations: 12, regression: true })
    expect(c.cpu!.changePct).toBeGreaterThan(8)
    const perConfig = c.changes.filter((x) => x.figure === 'cpuUsPerRequest')
    expect(perConfig.length).toBe(16) // 12 proxy configurations and 4 node-floors
    expect(perConfig.filter((x) => x.regression)).toEqual([])
    expect(c.regressions).toBe(1)
  })

  it('gates one configuration that got much worse beyond its rounds\' spread', () => {
    const worse = (g: string, t: BenchTarget, i: number): number => baseCpu(g, t, i) * (g === 'https/sse' && t === 'tuned-keepalive' ? 1.6 : 1)
    const c = compareReports(report(baseCpu), report(worse), 10, ['rps', 'cpuUsPerRequest'])
    const flagged = c.changes.filter((x) => x.regression)
    expect(flagged.map((x) => `${x.id} ${x.figure}`)).toEqual(['https/sse/c64/rtt0/tuned-keepalive cpuUsPerRequest'])
    expect(flagged[0]!.changePct).toBeCloseTo(60, 6)
    expect(flagged[0]!.noisePct).toBeCloseTo(((1.15 - 0.85) / 1.0) * 100, 6)
  })

  it('never gates on the node-floor, nor on CPU when it is not a gating figure', () => {
    const floorWorse = (g: string, t: BenchTarget, i: number): number => baseCpu(g, t, i) * (t === 'node-floor' ? 2 : 1)
    const c = compareReports(report(baseCpu), report(floorWorse), 10, ['rps', 'cpuUsPerRequest'])
    expect(c.changes.filter((x) => x.id.endsWith('/node-floor') && x.figure === 'cpuUsPerRequest').every((x) => x.worse && !x.regression)).toBe(true)
    expect(c.cpu).toMatchObject({ configurations: 12, changePct: 0 })
    expect(c.regressions).toBe(0)
    const rpsOnly = compareReports(report(baseCpu), report((g, t, i) => baseCpu(g, t, i) * 1.5), 10, ['rps'])
    expect(rpsOnly.cpu).toMatchObject({ worse: true, regression: false })
    expect(rpsOnly.regressions).toBe(0)
  })

  it('takes its threshold from cpuThresholdPct', () => {
    const head = report((g, t, i) => baseCpu(g, t, i) * 1.04)
    expect(compareReports(report(baseCpu), head, 10, ['cpuUsPerRequest']).cpu).toMatchObject({ thresholdPct: 6, regression: false })
    expect(compareReports(report(baseCpu), head, 10, ['cpuUsPerRequest'], { cpuThresholdPct: 3 }).cpu).toMatchObject({ thresholdPct: 3, regression: true })
  })

  describe('relative to the upstream\'s CPU in the same rounds', () => {
    /** Every round of every configuration: the proxy at `proxy` × its base cost, the upstream at `upstream` × 40 µs. */
    const withUpstream = (proxy: number, upstream: number): BenchReport => {
      const r = report((g, t, i) => baseCpu(g, t, i) * proxy)
      return { ...r, results: r.results.map((x) => (x.target === 'direct' ? x : { ...x, rounds: x.rounds.map((q) => round(q.cpuUsPerRequest, q.requests, 40 * upstream)) })) }
    }

    it('does not call the proxy worse when the whole machine got 30 % slower, and says the machine changed', () => {
      const c = compareReports(withUpstream(1, 1), withUpstream(1.3, 1.3), 10, ['rps', 'cpuUsPerRequest'])
      expect(c.cpu).toMatchObject({ regression: false })
      expect(c.cpu!.changePct).toBeCloseTo(0, 6)
      const tuned = c.changes.find((x) => x.id === 'https/sse/c64/rtt0/tuned-keepalive' && x.figure === 'cpuUsPerRequest')!
      expect(tuned).toMatchObject({ regression: false })
      expect(tuned.changePct).toBeCloseTo(30, 6)
      expect(tuned.changeVsUpstreamPct).toBeCloseTo(0, 6)
      expect(c.regressions).toBe(0)
      expect(c.warnings).toEqual([expect.stringMatching(/^the upstream's own CPU per request moved \+30% between the runs/)])
    })

    it('catches the proxy +10 % while the upstream stayed put, with no drift warning', () => {
      const c = compareReports(withUpstream(1, 1), withUpstream(1.1, 1), 10, ['rps', 'cpuUsPerRequest'])
      expect(c.cpu).toMatchObject({ regression: true })
      expect(c.cpu!.changePct).toBeCloseTo(10, 6)
      expect(c.warnings).toEqual([])
    })

    it('catches +10 % when the machine got 10 % faster for both processes (the proxy\'s own CPU flat)', () => {
      // As in two of ten injected pairs measured (raw -0.5 % and -5 %, relative +11 % and +7 %).
      const c = compareReports(withUpstream(1, 1), withUpstream(0.99, 0.9), 10, ['rps', 'cpuUsPerRequest'])
      expect(c.cpu).toMatchObject({ regression: true })
      expect(c.cpu!.changePct).toBeCloseTo(10, 6)
      expect(c.cpu!.rawChangePct).toBeCloseTo(-1, 6)
    })

    it('calls the proxy better when its own CPU fell 10 % while the upstream stayed put', () => {
      const c = compareReports(withUpstream(1, 1), withUpstream(0.9, 1), 10, ['rps', 'cpuUsPerRequest'])
      expect(c.cpu).toMatchObject({ improvement: true, worse: false, regression: false })
      expect(c.cpu!.changePct).toBeCloseTo(-10, 6)
      expect(c.regressions).toBe(0)
    })

    it('catches +10 % relative to an upstream that moved -15 % (beyond the drift note, below the guard), and says the machine changed', () => {
      // 1.1 × 0.85: the proxy's own CPU fell 6.5 % while relative to the upstream it rose 10 %.
      const c = compareReports(withUpstream(1, 1), withUpstream(1.1 * 0.85, 0.85), 10, ['rps', 'cpuUsPerRequest'])
      expect(c.cpu).toMatchObject({ regression: true })
      expect(c.cpu!.changePct).toBeCloseTo(10, 6)
      expect(c.cpu!.rawChangePct).toBeCloseTo(-6.5, 6)
      expect(c.warnings).toEqual([expect.stringMatching(/^the upstream's own CPU per request moved -15% between the runs/)])
    })

    it('does not call the proxy worse when only the upstream got cheaper (its own CPU did not move)', () => {
      const c = compareReports(withUpstream(1, 1), withUpstream(1, 0.5), 10, ['rps', 'cpuUsPerRequest'])
      const perConfig = c.changes.filter((x) => x.figure === 'cpuUsPerRequest' && !x.id.endsWith('node-floor'))
      expect(perConfig.every((x) => x.changeVsUpstreamPct! > 90 && !x.regression)).toBe(true)
      // Relative to the upstream the aggregate doubled, but the proxy's own CPU did not rise: no regression.
      expect(c.cpu).toMatchObject({ rawChangePct: 0, regression: false, worse: false })
      expect(c.cpu!.changePct).toBeCloseTo(100, 6)
      expect(c.regressions).toBe(0)
      expect(c.warnings).toEqual([expect.stringMatching(/moved -50% between the runs/)])
    })
  })
})
