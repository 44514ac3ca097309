/** One conformance suite for every registered strategy, plus each strategy's own rule. */
import { describe, expect, it } from 'vitest'
import { strategies, strategyNames, type BalancerEndpoint } from '../../../../src/proxy/balancer/index.ts'
import { createRandom } from '../../../../src/shared/random.ts'

const ep = (id: string, over: Partial<BalancerEndpoint> = {}): BalancerEndpoint => ({ id, weight: 100, priority: 1, inFlight: 0, attempts: 0, ...over })
const ctx = (seed = 1, lifetime = false) => ({ random: createRandom(seed).next, leastConnectionsLifetime: lifetime })

describe.each(strategyNames)('strategy %s (conformance)', (name) => {
  it('always returns one of the candidates, never nothing', () => {
    const s = strategies[name].create()
    const c = ctx()
    const list = [ep('a'), ep('b', { weight: 0, priority: 2 }), ep('c', { inFlight: 3 })] as const
    for (let i = 0; i < 200; i++) expect(list).toContain(s.pick(list, c))
  })

  it('works with a single candidate whatever its weight or load', () => {
    const s = strategies[name].create()
    expect(s.pick([ep('only', { weight: 0, inFlight: 99, priority: 9 })], ctx()).id).toBe('only')
  })
})

describe('strategy rules', () => {
  it('priority_failover: lowest priority number, ties in config order', () => {
    const s = strategies.priority_failover.create()
    expect(s.pick([ep('a', { priority: 2 }), ep('b', { priority: 1 }), ep('c', { priority: 1 })], ctx()).id).toBe('b')
  })

  it('weighted: proportional to weight (seeded, so exact)', () => {
    const s = strategies.weighted.create()
    const c = ctx(42)
    const counts: Record<string, number> = { a: 0, b: 0, z: 0 }
    for (let i = 0; i < 4_000; i++) counts[s.pick([ep('a', { weight: 300 }), ep('b', { weight: 100 }), ep('z', { weight: 0 })], c).id]!++
    expect(counts.z).toBe(0)
    expect(counts.a! / counts.b!).toBeGreaterThan(2.5)
    expect(counts.a! / counts.b!).toBeLessThan(3.5)
  })

  it('round_robin: in turn, with a counter global to the balancer', () => {
    const s = strategies.round_robin.create()
    const list = [ep('a'), ep('b'), ep('c')] as const
    expect([1, 2, 3, 4].map(() => s.pick(list, ctx()).id)).toEqual(['a', 'b', 'c', 'a'])
  })

  it('least_connections: fewest in flight; compat least-connections-lifetime: fewest ever', () => {
    const s = strategies.least_connections.create()
    const list = [ep('a', { inFlight: 2, attempts: 1 }), ep('b', { inFlight: 0, attempts: 50 })] as const
    expect(s.pick(list, ctx()).id).toBe('b')
    expect(s.pick(list, ctx(1, true)).id).toBe('a')
  })
})
