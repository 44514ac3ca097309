/** What one run of one variant produced: plain, serialisable data, the input of `summarize`. */
import type { AttemptEvent, RequestEvent } from '../../proxy/events.ts'
import type { EndpointStateChange } from '../report/collect.ts'
import type { ProxyStats } from '../../proxy/server.ts'
import type { ConnectorSettings, ConnectorProfileName } from '../../proxy/connector/profiles.ts'
import type { ConnectionRecord, LedgerEntry } from '../../../fake-upstreams/index.ts'
import type { Sample, WorkloadSpec } from '../workload/run-workload.ts'
import type { ProxyConstants } from '../scenario/constants.ts'

export interface VariantRecord {
  readonly scenario: string
  readonly variant: string
  readonly description?: string
  /** The bundled proxy's connector; undefined for an external target (qcc-lab cannot see its connector). */
  readonly connector?: { readonly profile: ConnectorProfileName; readonly settings: ConnectorSettings }
  readonly contract: boolean
  readonly seed: number
  /** 0-based repetition index. */
  readonly repeat: number
  /** `bundled`: the in-process proxy (attempt events recorded); `target`: an external proxy process. */
  readonly mode: 'bundled' | 'target'
  /** The constants the timeline followed (the variant's settings, or the target profile's). */
  readonly constants: ProxyConstants
  /** The workload as it ran, durations resolved. */
  readonly workload: WorkloadSpec
  readonly samples: readonly Sample[]
  /** `atMs`: when the attempt finished, ms since the variant started. */
  readonly attempts: ReadonlyArray<AttemptEvent & { readonly atMs?: number }>
  readonly requests: readonly RequestEvent[]
  /** Bundled proxy: each endpoint's tier, breaker and queue state whenever it changed (`atMs` since the variant started). */
  readonly endpointStates?: readonly EndpointStateChange[]
  /** When the workload's clock (samples' `startMs`) started, ms since the variant started. */
  readonly workloadOriginMs?: number
  readonly upstreams: ReadonlyArray<{
    readonly name: string
    /** Its base URL, as the proxy's config and stats show it. */
    readonly url?: string
    /** When its ledger's clock (`atMs`, `openedAtMs`, …) started, ms since the variant started. */
    readonly originMs?: number
    readonly entries: readonly LedgerEntry[]
    readonly connections: readonly ConnectionRecord[]
  }>
  /** The proxy's /__qcc__/stats at the end; undefined when a target did not answer it. */
  readonly proxyStats: ProxyStats | unknown
  /**
   * Target mode: the target's home (config, its own log) while it is kept, how the target stopped, the
   * end of its output, and why it did not start when it did not (then nothing else ran).
   */
  readonly target?: { readonly home?: string; readonly ended: string; readonly logTail: string; readonly startError?: string }
  readonly durationMs: number
}
