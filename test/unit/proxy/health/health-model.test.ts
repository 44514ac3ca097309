import { describe, expect, it } from 'vitest'
import { bestTier, tierOf, type HealthFacts } from '../../../../src/proxy/health/health-model.ts'
import { CircuitBreaker } from '../../../../src/proxy/health/circuit-breaker.ts'
import { newHealthStatus, type HealthState } from '../../../../src/proxy/health/passive-health.ts'
import { noCompat, resolveCompat } from '../../../../src/proxy/compat.ts'

interface E { id: string; facts: HealthFacts }

function endpoint(id: string, over: { status?: HealthState; failures?: number; enabled?: boolean; queued?: boolean; open?: boolean; recovered?: boolean; cooling?: boolean } = {}): E {
  const breaker = new CircuitBreaker({ threshold: 3, openMs: 60_000, resetOnTimeout: false })
  if (over.open) for (let i = 0; i < 3; i++) breaker.onFailure(0)
  const health = { ...newHealthStatus(), status: over.status ?? 'unknown', consecutiveFailures: over.failures ?? 0 }
  return { id, facts: { id, enabled: over.enabled ?? true, health, breaker, queued: over.queued ?? false, maxFailures: 3, recoveredByTime: over.recovered ?? false, coolingDown: over.cooling ?? false } }
}

const compat = (...names: string[]) => resolveCompat(names).switches
const best = (list: E[], c = noCompat, exclude: string[] = []) => {
  const r = bestTier(list, (e) => e.facts, new Set(exclude), 1_000, c)
  return r && { tier: r.tier, ids: r.endpoints.map((e) => e.id) }
}

describe('health model', () => {
  it('ranks healthy → degraded → unhealthy → circuit-open → queued, and unknown counts as healthy', () => {
    expect(tierOf(endpoint('a').facts, 0, noCompat)).toBe('healthy')
    expect(tierOf(endpoint('a', { status: 'healthy' }).facts, 0, noCompat)).toBe('healthy')
    expect(tierOf(endpoint('a', { status: 'degraded' }).facts, 0, noCompat)).toBe('degraded')
    expect(tierOf(endpoint('a', { status: 'unhealthy' }).facts, 0, noCompat)).toBe('unhealthy')
    expect(tierOf(endpoint('a', { status: 'healthy', failures: 3 }).facts, 0, noCompat)).toBe('unhealthy')
    expect(tierOf(endpoint('a', { open: true }).facts, 1, noCompat)).toBe('circuit-open')
    expect(tierOf(endpoint('a', { status: 'degraded', cooling: true }).facts, 1, noCompat)).toBe('circuit-open')
    expect(tierOf(endpoint('a', { queued: true }).facts, 0, noCompat)).toBe('queued')
    expect(tierOf(endpoint('a', { enabled: false }).facts, 0, noCompat)).toBeNull()
  })

  it('picks from the best non-empty tier', () => {
    expect(best([endpoint('a', { status: 'degraded' }), endpoint('b'), endpoint('c', { status: 'degraded' })])).toEqual({ tier: 'healthy', ids: ['b'] })
    expect(best([endpoint('a', { status: 'degraded' }), endpoint('b', { status: 'unhealthy' }), endpoint('c', { status: 'degraded' })])).toEqual({ tier: 'degraded', ids: ['a', 'c'] })
  })

  it('never leaves zero candidates while an enabled endpoint exists (Envoy\'s panic rule)', () => {
    expect(best([endpoint('a', { open: true }), endpoint('b', { queued: true })])).toEqual({ tier: 'circuit-open', ids: ['a'] })
    expect(best([endpoint('a', { queued: true })])).toEqual({ tier: 'queued', ids: ['a'] })
    expect(best([endpoint('a', { enabled: false })])).toBeNull()
  })

  it('honours the per-request exclusion set', () => {
    expect(best([endpoint('a'), endpoint('b', { status: 'degraded' })], noCompat, ['a'])).toEqual({ tier: 'degraded', ids: ['b'] })
  })

  it('tries a degraded endpoint again once recoverAfterMs passed without a failure; sticky-health (qcc) never does', () => {
    const list = [endpoint('a', { status: 'degraded', recovered: true }), endpoint('b')]
    expect(best(list)).toEqual({ tier: 'healthy', ids: ['a', 'b'] })
    expect(best(list, compat('sticky-health'))).toEqual({ tier: 'healthy', ids: ['b'] })
  })

  it('compat lb-healthy-only: the seed\'s balancer refuses the degraded tier and is left with nothing', () => {
    const list = [endpoint('a', { status: 'degraded' }), endpoint('b', { open: true })]
    expect(best(list)).toEqual({ tier: 'degraded', ids: ['a'] })
    expect(best(list, compat('lb-healthy-only'))).toEqual({ tier: 'degraded', ids: [] })
  })

  it('compat queue-never-panics: queued endpoints are never candidates', () => {
    expect(best([endpoint('a', { queued: true })], compat('queue-never-panics'))).toBeNull()
  })
})
