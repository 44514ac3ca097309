/** Synthetic bench reports, shaped as `bench --json` writes them, for compare's unit and CLI tests. */
import { benchTargets, type BenchReport, type BenchResult, type BenchTarget } from '../../../src/bench/types.ts'

export interface Matrix {
  readonly mode: 'quick' | 'full'
  readonly rtts: readonly number[]
  readonly concurrencies: readonly number[]
  readonly anchor?: boolean
  /** req/s of a configuration (default 1000, and 2000 for direct). */
  readonly rps?: (id: string) => number
}

/** Every configuration bench measures for these settings, ids as bench writes them, spread 8 %. */
export function benchMatrix(m: Matrix): BenchReport {
  const targets: BenchTarget[] = m.anchor ? [...benchTargets, 'nginx'] : [...benchTargets]
  const results: BenchResult[] = []
  for (const protocol of ['http', 'https'] as const) for (const payload of ['json', 'sse'] as const) for (const concurrency of m.concurrencies) for (const rttMs of m.rtts) {
    for (const target of targets) {
      const id = `${protocol}/${payload}/c${concurrency}/rtt${rttMs}/${target}`
      const rps = m.rps?.(id) ?? (target === 'direct' ? 2000 : 1000)
      const figures = { requests: rps, rps, p50: 20, p90: 40, p99: 80, ttfbP50: 20, connectionsPerRequest: 0, handshakesPerRequest: 0, clientCpuCores: 0.3 }
      results.push({
        id, target, protocol, payload, concurrency, rttMs,
        rounds: [],
        median: { ...figures, errors: 0 },
        spread: { rps: 0.08, p50: 0.05, p90: 0.1, p99: 0.3, ttfbP50: 0.05 },
      })
    }
  }
  return {
    schema: 'qcc-lab/bench-report@1', createdAt: '2026-11-26T00:00:00Z', mode: m.mode,
    settings: { rounds: 5, roundMs: m.mode === 'quick' ? 400 : 700, warmupMs: 12_000 },
    environment: { node: '24', undici: '8', cpuModel: 'x', cores: 2, platform: 'linux-x64', gitCommit: null },
    results, ratios: [],
  }
}

/** What `bench --quick` measures (16 configurations), and what a full bench does (96). */
export const quickMatrix: Matrix = { mode: 'quick', rtts: [0], concurrencies: [64] }
export const fullMatrix: Matrix = { mode: 'full', rtts: [0, 20], concurrencies: [1, 8, 64] }
