/** The probe's report: one plain, serialisable value (`--json` writes it as is). */
import type { CloseKindResult } from './close-kind.ts'
import type { HeaderResult } from './header-honesty.ts'
import type { IdleResult } from './idle-timeout.ts'
import type { RaceResult } from './race-check.ts'
import type { Recommendation } from './recommendation.ts'
import type { RequestCapResult } from './request-cap.ts'
import type { TimingsResult } from './timings.ts'

/** Bumped when a field changes meaning or goes away; new fields keep it. */
export const PROBE_REPORT_SCHEMA = 'qcc-lab/probe-report@1'

export interface ProbeSettings {
  /** The longest idle time tried (ms): --max-idle. */
  readonly maxIdleMs: number
  /** Keep-alive connections per round: --connections. */
  readonly connections: number
  /** Requests tried back to back on one connection for the request cap: --max-requests (0 = skipped). */
  readonly maxRequests: number
  /** Time allowed for one connect or request (ms): --timeout. */
  readonly timeoutMs: number
  /** Fresh connections timed (twice as many over TLS: full and resumed handshakes). */
  readonly samples: number
}

export interface ProbeReport {
  readonly schema: typeof PROBE_REPORT_SCHEMA
  readonly target: {
    /** The base URL without credentials. */
    readonly url: string
    readonly protocol: 'http' | 'https'
    /** The request every exchange sends, e.g. `GET / (no key)`. */
    readonly request: string
    /** The environment variable the key came from (never the key). */
    readonly keyEnv?: string
  }
  readonly startedAt: string
  readonly durationMs: number
  readonly environment?: Readonly<Record<string, string | number>>
  readonly settings: ProbeSettings
  readonly timings: TimingsResult
  readonly idle: IdleResult & { readonly rounds: number; readonly connectionsUsed: number }
  readonly header: HeaderResult
  readonly closes: CloseKindResult
  readonly requestCap: RequestCapResult | { readonly kind: 'skipped'; readonly detail: string }
  readonly race: RaceResult
  readonly recommendation: Recommendation
  /** This machine's event-loop delay while probing (ms): timing noise on the probe's own side. */
  readonly clientLagMs: { readonly p99: number; readonly max: number }
  readonly notes: readonly string[]
}
