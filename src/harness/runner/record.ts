/** What one run of one variant produced: plain, serialisable data, the input of `summarize`. */
import type { AttemptEvent, RequestEvent } from '../../proxy/events.ts'
import type { ProxyStats } from '../../proxy/server.ts'
import type { ConnectorSettings, ConnectorProfileName } from '../../proxy/connector/profiles.ts'
import type { ConnectionRecord, LedgerEntry } from '../../../fake-upstreams/index.ts'
import type { Sample } from '../workload/run-workload.ts'

export interface VariantRecord {
  readonly scenario: string
  readonly variant: string
  readonly description?: string
  readonly connector: { readonly profile: ConnectorProfileName; readonly settings: ConnectorSettings }
  readonly seed: number
  /** 0-based repetition index. */
  readonly repeat: number
  /** `bundled`: the in-process proxy (attempt events recorded); `target`: an external proxy process. */
  readonly mode: 'bundled' | 'target'
  readonly samples: readonly Sample[]
  readonly attempts: readonly AttemptEvent[]
  readonly requests: readonly RequestEvent[]
  readonly upstreams: ReadonlyArray<{
    readonly name: string
    readonly entries: readonly LedgerEntry[]
    readonly connections: readonly ConnectionRecord[]
  }>
  /** The proxy's /__qcc__/stats at the end; undefined when a target did not answer it. */
  readonly proxyStats: ProxyStats | unknown
  readonly durationMs: number
}
