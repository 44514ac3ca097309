/**
 * `/__qcc__/stats` as qcc serves it (spec §6.1) or as qcc-lab's proxy serves it (src/proxy/stats.ts:
 * qcc's keys plus its own), read into what the doctor needs. qcc has no top-level `success_rate` or
 * `avg_response_time`: the seed's runbook greps for keys only its endpoints' `health_status` carries, so
 * they are derived here from the numbers qcc does serve.
 */
import { UsageError } from '../../shared/errors.ts'

export interface EndpointStats {
  readonly id: string
  readonly baseUrl: string | null
  readonly status: string | null
  readonly isHealthy: boolean | null
  readonly totalRequests: number | null
  readonly successRate: number | null
  /** ms, qcc's running mean (failures without a response time still count in its divisor). */
  readonly avgResponseTimeMs: number | null
  readonly inFailureQueue: boolean | null
}

export interface StatsSnapshot {
  readonly url: string
  readonly source: 'qcc' | 'qcc-lab'
  readonly totalRequests: number
  readonly successfulRequests: number
  readonly failedRequests: number
  /** qcc-lab serves it; null for qcc. */
  readonly successRate: number | null
  readonly totalEndpoints: number | null
  readonly healthyEndpoints: number | null
  readonly endpoints: readonly EndpointStats[]
  readonly failureQueueSize: number | null
  readonly failedEndpoints: readonly string[]
  readonly verifyCounts: Readonly<Record<string, number>>
  /** qcc-lab only. */
  readonly staleSocketAttempts: number | null
  readonly staleRetries: number | null
  readonly queueRecovered: number | null
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
const numberOr = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null)
const stringOr = (v: unknown): string | null => (typeof v === 'string' ? v : null)
const boolOr = (v: unknown): boolean | null => (typeof v === 'boolean' ? v : null)

/** The counters every qcc since fadb782 serves; without them this is not qcc's stats. */
const requiredCounters = ['total_requests', 'successful_requests', 'failed_requests'] as const

/** Reads a parsed stats body; a UsageError (exit 2) naming what is missing when it is not qcc's shape. */
export function readStats(url: string, body: unknown): StatsSnapshot {
  if (!isObject(body)) {
    throw new UsageError(`--stats ${url}: the answer is JSON but not an object (${Array.isArray(body) ? 'an array' : body === null ? 'null' : typeof body}); qcc's /__qcc__/stats is an object with total_requests, successful_requests and failed_requests. Point --stats at a qcc proxy (default http://127.0.0.1:7860).`)
  }
  const bad = requiredCounters.filter((k) => typeof body[k] !== 'number' || !Number.isFinite(body[k]) || (body[k] as number) < 0)
  if (bad.length > 0) {
    const keys = Object.keys(body).slice(0, 8).join(', ')
    throw new UsageError(`--stats ${url}: not qcc's /__qcc__/stats: ${bad.map((k) => `${k} ${k in body ? `is ${JSON.stringify(body[k])}, not a number` : 'is missing'}`).join('; ')} (its keys: ${keys || 'none'}). Point --stats at a qcc proxy (default http://127.0.0.1:7860).`)
  }
  const endpoints = (Array.isArray(body.endpoints) ? body.endpoints : []).filter(isObject).map((e): EndpointStats => {
    const h = isObject(e.health_status) ? e.health_status : {}
    return {
      id: stringOr(e.id) ?? '?',
      baseUrl: stringOr(e.base_url),
      status: stringOr(h.status),
      isHealthy: boolOr(e.is_healthy),
      totalRequests: numberOr(h.total_requests),
      successRate: numberOr(h.success_rate),
      avgResponseTimeMs: numberOr(h.avg_response_time),
      inFailureQueue: boolOr(e.in_failure_queue),
    }
  })
  const byOutcome = isObject(body.attempts_by_outcome) ? body.attempts_by_outcome : null
  const queueStats = isObject(body.failure_queue_stats) ? body.failure_queue_stats : null
  const verify = isObject(body.endpoint_verify_counts) ? body.endpoint_verify_counts : {}
  return {
    url,
    source: body.proxy === 'qcc-lab' ? 'qcc-lab' : 'qcc',
    totalRequests: body.total_requests as number,
    successfulRequests: body.successful_requests as number,
    failedRequests: body.failed_requests as number,
    successRate: numberOr(body.success_rate),
    totalEndpoints: numberOr(body.total_endpoints),
    healthyEndpoints: numberOr(body.healthy_endpoints),
    endpoints,
    failureQueueSize: numberOr(body.failure_queue_size),
    failedEndpoints: Array.isArray(body.failed_endpoints) ? body.failed_endpoints.filter((x): x is string => typeof x === 'string') : [],
    verifyCounts: Object.fromEntries(Object.entries(verify).filter((kv): kv is [string, number] => typeof kv[1] === 'number')),
    staleSocketAttempts: byOutcome ? numberOr(byOutcome['stale-socket']) : null,
    staleRetries: numberOr(body.stale_retries),
    queueRecovered: queueStats ? numberOr(queueStats.total_recovered) : null,
  }
}
