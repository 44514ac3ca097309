/**
 * `/__qcc__/stats`: qcc's keys (spec §6.1) plus qcc-lab's own, built from the request counters, the
 * cluster's endpoints and the failure queue. Counting happens in the attempt loop; this only reads.
 */
import type { ConnectorProfileName } from './connector/profiles.ts'
import { attemptOutcomes, type AttemptOutcome } from './outcome.ts'
import type { Cluster } from './cluster.ts'
import type { Compat } from './compat.ts'

/** qcc's stats keys (spec §6.1) plus qcc-lab's own. */
export interface ProxyStats {
  readonly total_requests: number
  readonly successful_requests: number
  readonly failed_requests: number
  readonly success_rate: number
  readonly start_time: string
  readonly uptime: number
  readonly last_used_endpoint_id: string | null
  readonly endpoints: ReadonlyArray<Record<string, unknown> & { readonly id: string; readonly connector_profile: ConnectorProfileName; readonly attempts: number; readonly stale_retries: number }>
  readonly total_endpoints: number
  readonly healthy_endpoints: number
  readonly failed_endpoints: readonly string[]
  readonly failure_queue_size: number
  readonly endpoint_verify_counts: Readonly<Record<string, number>>
  readonly proxy: 'qcc-lab'
  readonly cluster: string
  readonly strategy: string
  readonly compat: readonly string[]
  readonly stale_retries: number
  readonly attempts_by_outcome: Record<AttemptOutcome, number>
  readonly failure_queue_stats: { total_failed: number; total_verified: number; total_recovered: number; total_still_failed: number }
  readonly sessions: number
}

/**
 * What the proxy counts per client request and per attempt. Every counted request ends as exactly one
 * of `ok` or `failed` (answered with an error, given up, or the client went away), so
 * `total = ok + failed` once nothing is in flight.
 */
export class RequestCounters {
  total = 0
  ok = 0
  failed = 0
  staleRetries = 0
  lastUsed: string | null = null
  readonly byOutcome = Object.fromEntries(attemptOutcomes.map((o) => [o, 0])) as Record<AttemptOutcome, number>
}

/** Python's naive `datetime.now().isoformat()`, as qcc's stats print it. */
function localIso(epochMs: number): string {
  const d = new Date(epochMs - new Date(epochMs).getTimezoneOffset() * 60_000)
  return `${d.toISOString().slice(0, 23)}000`
}

export function buildStats(input: {
  readonly counters: RequestCounters
  readonly cluster: Cluster
  readonly compat: Compat
  readonly sessions: number
  readonly startedAt: number
  readonly now: number
}): ProxyStats {
  const { counters, cluster } = input
  const endpoints = cluster.endpoints.map((e) => cluster.endpointStats(e) as ProxyStats['endpoints'][number])
  return {
    total_requests: counters.total,
    successful_requests: counters.ok,
    failed_requests: counters.failed,
    success_rate: counters.total === 0 ? 100 : Math.round((counters.ok / counters.total) * 10_000) / 100,
    start_time: localIso(input.startedAt),
    uptime: Math.round((input.now - input.startedAt) / 10) / 100,
    last_used_endpoint_id: counters.lastUsed,
    endpoints,
    total_endpoints: endpoints.length,
    healthy_endpoints: endpoints.filter((e) => e.is_healthy === true).length,
    failed_endpoints: cluster.queue.ids(),
    failure_queue_size: cluster.queue.size,
    endpoint_verify_counts: cluster.queue.verifyCounts(),
    proxy: 'qcc-lab',
    cluster: cluster.name,
    strategy: cluster.strategyName,
    compat: [...input.compat],
    stale_retries: counters.staleRetries,
    attempts_by_outcome: { ...counters.byOutcome },
    failure_queue_stats: {
      total_failed: cluster.queue.stats.totalFailed,
      total_verified: cluster.queue.stats.totalVerified,
      total_recovered: cluster.queue.stats.totalRecovered,
      total_still_failed: cluster.queue.stats.totalStillFailed,
    },
    sessions: input.sessions,
  }
}
