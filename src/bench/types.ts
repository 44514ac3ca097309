/** `qcc-lab/bench-report@1`: what `qcc-lab bench --json` writes and `qcc-lab compare` reads. */

/** The bench upstream's keep-alive idle timeout; the load generator's pools keep connections as long. */
export const BENCH_IDLE_MS = 120_000

export const benchTargets = ['direct', 'force-close', 'naive-keepalive', 'tuned-keepalive'] as const
/** The references `--anchor` adds: `nginx` (what C costs) and `node-floor` (a bare Node relay: what Node costs). */
export const benchAnchors = ['nginx', 'node-floor'] as const
export type BenchAnchor = (typeof benchAnchors)[number]
export type BenchTarget = (typeof benchTargets)[number] | BenchAnchor

export interface BenchConfig {
  /** `<protocol>/<payload>/c<concurrency>/rtt<ms>/<target>`: the key compare matches on. */
  readonly id: string
  readonly target: BenchTarget
  readonly protocol: 'http' | 'https'
  readonly payload: 'json' | 'sse'
  readonly concurrency: number
  readonly rttMs: number
}

/** Figures of one round of one configuration. */
export interface RoundFigures {
  readonly requests: number
  readonly rps: number
  /** Latency to the complete response (ms). */
  readonly p50: number
  readonly p90: number
  readonly p99: number
  /** Time to the first body byte (ms): the first SSE event for `sse`. */
  readonly ttfbP50: number
  readonly errors: Readonly<Record<string, number>>
  /** New upstream connections per request (1 = no reuse). */
  readonly connectionsPerRequest: number
  /** TLS handshakes with the upstream per request (https only). */
  readonly handshakesPerRequest: number
  /** The load generator's own CPU, in cores (1 = one core fully busy). */
  readonly clientCpuCores: number
  /** The upstream process's CPU, in cores. */
  readonly upstreamCpuCores?: number
  /** CPU of what sits between client and upstream, in cores: the proxy process, or nginx's master + workers (from /proc; Linux only). */
  readonly proxyCpuCores?: number
  /**
   * CPU of what sits between client and upstream per request it relayed, in µs: its CPU over the round ÷
   * the requests completed. Unlike req/s it hardly depends on how fast the rest of the machine was.
   */
  readonly cpuUsPerRequest?: number
}

/** The figures compared between reports, and which direction is better. */
export const comparedFigures = { rps: 'higher', cpuUsPerRequest: 'lower', p50: 'lower', p90: 'lower', p99: 'lower', ttfbP50: 'lower' } as const
export type ComparedFigure = keyof typeof comparedFigures
/**
 * The figures that gate by default: throughput, and the proxy's CPU per request (per configuration,
 * and over all of them: see compare.ts). The bench drives a closed loop at fixed concurrency, so
 * the median latency is nearly concurrency ÷ throughput (Little's law) and adds little to req/s, while
 * being the noisier of the two here: over 30 ordered pairs of six quick runs of the same code, p50 was
 * flagged in 2 (both against a run with a machine-wide slow phase), req/s in none. A p99 from a few
 * thousand samples per round moves by tens of percent between identical runs. All are reported and
 * compared; they gate when asked (`--gate rps,p50,p99`).
 */
export const defaultGateFigures: readonly ComparedFigure[] = ['rps', 'cpuUsPerRequest']

export interface BenchResult extends BenchConfig {
  readonly rounds: readonly RoundFigures[]
  /** Medians across rounds. */
  readonly median: Omit<RoundFigures, 'errors'> & { readonly errors: number }
  /** Relative run-to-run spread ((max − min) / median) of each compared figure. */
  readonly spread: Readonly<Record<Exclude<ComparedFigure, 'cpuUsPerRequest'>, number>> & { readonly cpuUsPerRequest?: number }
}

export interface BenchReport {
  readonly schema: 'qcc-lab/bench-report@1'
  readonly createdAt: string
  readonly mode: 'quick' | 'full'
  readonly settings: { readonly rounds: number; readonly roundMs: number; readonly warmupMs: number; readonly placement?: string }
  readonly environment: {
    readonly node: string
    readonly undici: string
    readonly cpuModel: string
    readonly cores: number
    readonly platform: string
    readonly gitCommit: string | null
  }
  readonly results: readonly BenchResult[]
  /** Per protocol/payload/concurrency/rtt: force-close ÷ tuned and proxy (tuned) ÷ direct, on requests/s. */
  readonly ratios: ReadonlyArray<{
    readonly id: string
    readonly forceCloseOverTuned: number | null
    readonly tunedOverNaive: number | null
    readonly proxyOverDirect: number | null
    readonly nginxOverDirect?: number | null
    /** CPU per request, the proxy (tuned keep-alive) ÷ the bare Node relay (`--anchor node-floor`). */
    readonly proxyCpuOverNodeFloor?: number | null
    /** CPU per request, the proxy (tuned keep-alive) ÷ nginx (`--anchor nginx`). */
    readonly proxyCpuOverNginx?: number | null
  }>
}
