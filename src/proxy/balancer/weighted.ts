import type { StrategyDefinition } from './types.ts'

/** Random, proportional to `weight`; uniform when every weight is 0. */
export const weighted: StrategyDefinition = {
  summary: 'random, proportional to weight (uniform when all weights are 0)',
  create: () => ({
    pick(candidates, ctx) {
      const total = candidates.reduce((s, c) => s + Math.max(0, c.weight), 0)
      if (total <= 0) return candidates[Math.floor(ctx.random() * candidates.length)] ?? candidates[0]
      let r = ctx.random() * total
      for (const c of candidates) {
        r -= Math.max(0, c.weight)
        if (r < 0) return c
      }
      return candidates[candidates.length - 1]!
    },
  }),
}
