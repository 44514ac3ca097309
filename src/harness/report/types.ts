/** The report: what `--json` writes (`qcc-lab/run-report@1`) and every formatter reads. */
import type { LatencySummary } from './stats.ts'
import type { LedgerSummary } from '../../../fake-upstreams/index.ts'

export interface ExpectationResult {
  readonly name: string
  readonly check: string
  readonly pass: boolean
  /** The right-hand side as it was compared, e.g. `>= 1` or `< 40 (requests)`. */
  readonly expected: string
  readonly actual: number
}

/** What happened on the wire to one failed request, from the proxy's attempts and the upstream ledger. */
export interface FailedRequestDiagnosis {
  readonly requestId: string
  readonly failure: string
  readonly explanation: string
}

export interface VariantReport {
  readonly name: string
  readonly description?: string
  readonly connector: string
  readonly verdict: 'pass' | 'fail'
  readonly requests: number
  readonly ok: number
  /** Client-visible failures by class. */
  readonly failures: Readonly<Record<string, number>>
  readonly attempts: {
    readonly total: number
    /** Proxy→upstream attempts that hit a stale pooled connection. */
    readonly staleSocket: number
    /** Retries on a fresh connection after a stale socket. */
    readonly retried: number
    readonly failed: number
    readonly byOutcome: Readonly<Record<string, number>>
  }
  /** What reached the upstreams (from their ledgers), plus client requests that failed and no upstream answered. */
  readonly upstream: LedgerSummary & { readonly lost: number }
  /** Per upstream, by scenario name. */
  readonly upstreams: Readonly<Record<string, { readonly received: number; readonly answered: number; readonly dropped: number; readonly connections: number }>>
  readonly latencyMs: LatencySummary
  readonly durationMs: number
  /** The proxy's `/__qcc__/stats` at the end of the run (keys redacted), when it answered. */
  readonly proxyStats?: unknown
  readonly expectations: readonly ExpectationResult[]
  /** Up to 5 failed requests, explained. */
  readonly diagnosis: readonly FailedRequestDiagnosis[]
}

export interface ScenarioReport {
  readonly name: string
  readonly file: string
  readonly description: string
  readonly seed: number
  /** 0-based repetition index. */
  readonly repeat: number
  /** `n/a`: target mode, and no variant applied. */
  readonly verdict: 'pass' | 'fail' | 'n/a'
  /** `bundled` (in-process proxy) or `target` (an external proxy process). */
  readonly mode: 'bundled' | 'target'
  readonly variants: readonly VariantReport[]
  /** Target mode: variants that were not run, and why. */
  readonly notApplicable: ReadonlyArray<{ readonly variant: string; readonly reason: string }>
}

export interface StabilityEntry {
  readonly scenario: string
  readonly variant: string
  readonly runs: number
  readonly expectations: ReadonlyArray<{ readonly name: string; readonly held: number }>
  /** Distinct client-failure counts seen across runs (one value = identical every run). */
  readonly failureCounts: readonly number[]
  readonly staleSocketCounts: readonly number[]
}

export interface RunReport {
  readonly schema: 'qcc-lab/run-report@1'
  readonly verdict: 'pass' | 'fail'
  readonly startedAt: string
  readonly durationMs: number
  readonly repeat: number
  readonly environment: {
    readonly node: string
    /** The npm undici the proxy and workload use. */
    readonly undici: string
    /** The undici bundled in Node (its fetch); not used by qcc-lab's proxy. */
    readonly undiciBundled: string
    readonly qccLab: string
    readonly platform: string
    readonly arch: string
    readonly cpus: number
  }
  readonly scenarios: readonly ScenarioReport[]
  readonly stability: readonly StabilityEntry[]
}
