/** The report: what `--json` writes (`qcc-lab/run-report@3`) and every formatter reads, the HTML report included. */
import type { LatencySummary } from './stats.ts'
import type { ProxyConstants } from '../scenario/constants.ts'
import type { LedgerSummary } from '../../../fake-upstreams/index.ts'

/** The `schema` tag of a run report. @3 added `trace` to every variant. */
export const runReportSchema = 'qcc-lab/run-report@3'

export interface ExpectationResult {
  readonly name: string
  readonly check: string
  /** `n/a`: this run cannot tell (a stats path the target does not serve; attempt events of an external proxy). */
  readonly status: 'pass' | 'fail' | 'n/a'
  /** status === 'pass'. */
  readonly pass: boolean
  /** The right-hand side as it was compared, e.g. `>= 1` or `< 40 (requests)`. */
  readonly expected: string
  /** null when not evaluable. */
  readonly actual: number | null
  /** Added by qcc-lab (a contract's traffic check), not written in the scenario. */
  readonly implicit?: boolean
  /** Why it could not be evaluated (status n/a). */
  readonly reason?: string
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
  /** The bundled proxy's connector profile; `n/a` for an external target. */
  readonly connector: string
  /** A contract: expectations any correct relay proxy meets under this fault (runs against targets too). */
  readonly contract: boolean
  readonly mode: 'bundled' | 'target'
  readonly verdict: 'pass' | 'fail' | 'n/a'
  /** The constants the timeline followed, and the timeline as resolved. */
  readonly constants: ProxyConstants
  readonly timeline: { readonly gapMs: number; readonly requestTimeoutMs: number; readonly maxDurationMs: number }
  readonly requests: number
  readonly ok: number
  /** Client successes whose body is an upstream's own answer to that very request (its message id names it). */
  readonly delivered: number
  /** SSE streams that reached the client as that request's upstream stream (its message_start), however they ended. */
  readonly streamed: number
  /** Client-visible failures by class (the same classes whichever proxy answered). */
  readonly failures: Readonly<Record<string, number>>
  /** Client-visible failures by what the bundled proxy met upstream (its last attempt's outcome); empty for a target. */
  readonly causes: Readonly<Record<string, number>>
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
  readonly upstreams: Readonly<Record<string, { readonly received: number; readonly answered: number; readonly ok: number; readonly dropped: number; readonly probes: number; readonly connections: number }>>
  readonly latencyMs: LatencySummary
  /** Time to the response head. */
  readonly ttfbMs: LatencySummary
  /** SSE: time to the first complete event; absent when no stream delivered one. */
  readonly firstEventMs?: LatencySummary
  readonly durationMs: number
  /** The proxy's `/__qcc__/stats` at the end of the run (keys redacted), when it answered. */
  readonly proxyStats?: unknown
  readonly expectations: readonly ExpectationResult[]
  /** Up to 5 failed requests, explained. */
  readonly diagnosis: readonly FailedRequestDiagnosis[]
  /** Target mode: how the target ended (`exited`, `terminated`, `killed`, `did-not-start`) and the end of its own output. */
  readonly target?: { readonly ended: string; readonly logTail: string }
  /** What the client was told when a request failed (error bodies, connection errors), most frequent first. */
  readonly errorTexts: ReadonlyArray<{ readonly text: string; readonly count: number }>
  /** The data behind the pictures: every request, arrival, connection, attempt and endpoint state, in time. */
  readonly trace: VariantTrace
}

/**
 * Everything the HTML report draws, and what a user needs to plot a run themselves. Every time is in ms
 * since the variant started (the client's, the upstreams' and the proxy's clocks lined up), to 0.1 ms.
 */
export interface VariantTrace {
  /** Every client request, as the workload saw it. */
  readonly requests: readonly TraceRequest[]
  /** Every request head each upstream read, and each of its connections. */
  readonly upstreams: readonly TraceUpstream[]
  /** Every proxy→upstream attempt; the bundled proxy only (empty against a target). */
  readonly attempts: readonly TraceAttempt[]
  /** The bundled proxy's endpoints: which upstream each is, and its state from the start and at every change. */
  readonly endpoints: readonly TraceEndpoint[]
}

export interface TraceRequest {
  readonly id: string
  readonly startMs: number
  /** To the complete response, or to the failure. */
  readonly latencyMs: number
  /** To the response head. */
  readonly ttfbMs?: number
  /** SSE: to the first complete event. */
  readonly firstEventMs?: number
  readonly status?: number
  /** The client-visible failure class (`failures.<class>`); absent when the request succeeded. */
  readonly failure?: string
  /** Bundled proxy: what it met upstream for a failed request (`causes.<outcome>`). */
  readonly cause?: string
  /** A failed request explained from the wire, as in `diagnosis`. */
  readonly diagnosis?: string
  /** Not sent: the run's time budget ran out. */
  readonly skipped?: true
}

export interface TraceConnection {
  /** The upstream's connection number (each upstream counts from 1). */
  readonly id: number
  readonly openMs: number
  /** When the socket closed; absent when it was still open at the end. */
  readonly closeMs?: number
  /** Who closed it: `fault:<kind>`, `idle-timeout`, or `peer` (the proxy, or a `Connection: close` exchange). */
  readonly closedBy?: string
  /** The upstream's own close, FIN or RST, and when it sent it. */
  readonly serverClose?: { readonly kind: 'fin' | 'rst'; readonly atMs: number }
}

export interface TraceArrival {
  readonly requestId: string
  readonly connectionId: number
  /** 0 for the first request on its connection. */
  readonly index: number
  /** How long the connection sat idle before this request. */
  readonly idleMs: number
  /** When the upstream read the request head. */
  readonly atMs: number
  /** When it was done with it (last response byte, or the drop or cut); absent when still in flight at the end. */
  readonly endMs?: number
  /** `answered`, `dropped` (closed or reset without answering), `cut` (the response was cut), `in-flight`. */
  readonly outcome: string
  readonly status?: number
  /** The fault that acted on it. */
  readonly fault?: string
  /** The proxy's own request (a verification), not a client's. */
  readonly probe?: true
}

export interface TraceUpstream {
  readonly name: string
  readonly connections: readonly TraceConnection[]
  readonly arrivals: readonly TraceArrival[]
}

export interface TraceAttempt {
  readonly requestId: string
  /** 1-based; the connector's stale-socket retry counts as its own attempt. */
  readonly attempt: number
  readonly endpointId: string
  readonly outcome: string
  readonly status?: number
  readonly reused: boolean
  /** The connector's retry on a fresh connection after a stale socket. */
  readonly staleRetry: boolean
  readonly startMs?: number
  readonly endMs?: number
  readonly durationMs: number
  readonly error?: string
}

export interface TraceEndpointState {
  readonly atMs: number
  /** The health model's tier: `healthy`, `degraded`, `unhealthy`, `circuit-open`, `queued`; null = never used. */
  readonly tier: string | null
  /** `closed`, `open`, `half-open`. */
  readonly breaker: string
  readonly health: string
  readonly queued: boolean
}

export interface TraceEndpoint {
  readonly id: string
  /** The scenario's name for the upstream it points at. */
  readonly upstream?: string
  readonly states: readonly TraceEndpointState[]
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
  /** Target mode: variants that only the bundled proxy can run, and why (they were not run). */
  readonly bundledOnly: ReadonlyArray<{ readonly variant: string; readonly reason: string }>
  /** Target mode: where the home of each failed variant's target was kept (its config and its own log). */
  readonly keptHomes?: ReadonlyArray<{ readonly variant: string; readonly home: string }>
}

export interface StabilityEntry {
  readonly scenario: string
  readonly variant: string
  readonly runs: number
  /** Distinct variant verdicts seen across runs (one value = the same verdict every run). */
  readonly verdicts: readonly string[]
  /** How often each expectation held; `notEvaluable`: in how many runs it could not be evaluated. */
  readonly expectations: ReadonlyArray<{ readonly name: string; readonly held: number; readonly notEvaluable?: number }>
  /** Distinct client-failure counts seen across runs (one value = identical every run). */
  readonly failureCounts: readonly number[]
  readonly staleSocketCounts: readonly number[]
}

export interface RunReport {
  readonly schema: typeof runReportSchema
  readonly verdict: 'pass' | 'fail'
  readonly startedAt: string
  readonly durationMs: number
  readonly repeat: number
  /** Target mode: the profile whose constants the timelines followed, and the config layout handed over. */
  readonly target?: { readonly command: string; readonly profile: string; readonly layout: string; readonly strict: boolean }
  /** How many variant runs verified something, and how many only the bundled proxy can run. */
  readonly verification: { readonly ran: number; readonly bundledOnly: number; readonly total: number; readonly notEvaluable: number }
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
