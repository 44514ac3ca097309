/**
 * The one place that turns health facts into candidate tiers. Producers (passive outcomes, breaker,
 * failure queue, verifier) only set facts; balancers only pick from what this returns. Envoy's rule:
 * while an enabled endpoint exists, some tier is non-empty — failing endpoints are used as a last
 * resort rather than answering "All 0 endpoints failed".
 */
import type { Compat } from '../compat.ts'
import type { CircuitBreaker } from './circuit-breaker.ts'
import { isHealthy, type HealthStatus } from './passive-health.ts'

export const tiers = ['healthy', 'degraded', 'unhealthy', 'circuit-open', 'queued'] as const
export type Tier = (typeof tiers)[number]

export interface HealthFacts {
  readonly id: string
  readonly enabled: boolean
  readonly health: HealthStatus
  readonly breaker: CircuitBreaker
  readonly queued: boolean
  readonly maxFailures: number
  /** No failure for `recoverAfterMs`: a degraded or unhealthy endpoint is tried again as if healthy. */
  readonly recoveredByTime: boolean
  /** The upstream asked for a pause (`retry-after`) that has not elapsed: treated like an open breaker. */
  readonly coolingDown: boolean
}

/** The tier of one endpoint at `now`, or null when it must never be used (disabled; queued under compat). */
export function tierOf(f: HealthFacts, now: number, compat: Compat): Tier | null {
  if (!f.enabled) return null
  if (f.queued && !compat.has('queue-ignored-by-selection')) return compat.has('queue-never-panics') ? null : 'queued'
  if (!f.breaker.allows(now) || f.coolingDown) return 'circuit-open'
  if (isHealthy(f.health, f.enabled, f.maxFailures)) return 'healthy'
  if (f.recoveredByTime && !compat.has('sticky-health')) return 'healthy'
  return f.health.status === 'degraded' ? 'degraded' : 'unhealthy'
}

export interface Candidates<T> {
  readonly tier: Tier
  readonly endpoints: readonly T[]
}

/**
 * The best non-empty tier among `endpoints` not in `exclude`, or null. With compat `lb-healthy-only`
 * the balancer then keeps only healthy endpoints of that tier, and may be left with none — the seed's
 * `All 0 endpoints failed`.
 */
export function bestTier<T extends { readonly id: string }>(
  endpoints: readonly T[],
  facts: (e: T) => HealthFacts,
  exclude: ReadonlySet<string>,
  now: number,
  compat: Compat,
): Candidates<T> | null {
  const byTier = new Map<Tier, T[]>()
  for (const e of endpoints) {
    if (exclude.has(e.id)) continue
    const t = tierOf(facts(e), now, compat)
    if (t === null) continue
    const list = byTier.get(t)
    if (list) list.push(e)
    else byTier.set(t, [e])
  }
  for (const t of tiers) {
    const list = byTier.get(t)
    if (!list) continue
    if (compat.has('lb-healthy-only')) {
      // The seed's balancer: `is_healthy()` only, whatever tier the caller found.
      const healthy = list.filter((e) => { const f = facts(e); return isHealthy(f.health, f.enabled, f.maxFailures) })
      return { tier: t, endpoints: healthy }
    }
    return { tier: t, endpoints: list }
  }
  return null
}
