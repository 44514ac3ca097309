/**
 * An endpoint's passive health, as qcc keeps it (`health_status`): a status set by events, plus
 * counters. `isHealthy` follows qcc: enabled, not unhealthy, fewer than `maxFailures` consecutive
 * failures, and status healthy or unknown.
 */

export type HealthState = 'unknown' | 'healthy' | 'degraded' | 'unhealthy'

export interface HealthStatus {
  status: HealthState
  /** Epoch ms of the last update, or null. */
  lastCheck: number | null
  consecutiveFailures: number
  totalRequests: number
  failedRequests: number
  avgResponseTimeMs: number
  lastError: string | null
}

export function newHealthStatus(): HealthStatus {
  return { status: 'unknown', lastCheck: null, consecutiveFailures: 0, totalRequests: 0, failedRequests: 0, avgResponseTimeMs: 0, lastError: null }
}

export function successRate(h: HealthStatus): number {
  return h.totalRequests === 0 ? 100 : Math.round(((h.totalRequests - h.failedRequests) / h.totalRequests) * 10_000) / 100
}

export function isHealthy(h: HealthStatus, enabled: boolean, maxFailures: number): boolean {
  if (!enabled || h.status === 'unhealthy' || h.consecutiveFailures >= maxFailures) return false
  return h.status === 'healthy' || h.status === 'unknown'
}

/** Records one outcome. `responseTimeMs` only for answers. */
export function recordOutcome(
  h: HealthStatus,
  now: number,
  outcome: { readonly failure: boolean; readonly status?: HealthState; readonly responseTimeMs?: number; readonly error?: string },
): void {
  if (outcome.status) h.status = outcome.status
  h.lastCheck = now
  h.totalRequests++
  if (outcome.failure) {
    h.failedRequests++
    h.consecutiveFailures++
    if (outcome.error !== undefined) h.lastError = outcome.error
  } else {
    h.consecutiveFailures = 0
    h.lastError = null
  }
  if (outcome.responseTimeMs !== undefined) {
    h.avgResponseTimeMs = (h.avgResponseTimeMs * (h.totalRequests - 1) + outcome.responseTimeMs) / h.totalRequests
  }
}
