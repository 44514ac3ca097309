import type { StrategyDefinition } from './types.ts'

/** Fewest attempts in flight; ties in list order. qcc counted lifetime requests instead (compat). */
export const leastConnections: StrategyDefinition = {
  summary: 'fewest attempts in flight (compat least-connections-lifetime: fewest ever)',
  create: () => ({
    pick(candidates, ctx) {
      const load = (c: (typeof candidates)[number]): number => (ctx.leastConnectionsLifetime ? c.attempts : c.inFlight)
      let best = candidates[0]
      for (const c of candidates) if (load(c) < load(best)) best = c
      return best
    },
  }),
}
