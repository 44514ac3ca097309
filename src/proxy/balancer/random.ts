import type { StrategyDefinition } from './types.ts'

export const random: StrategyDefinition = {
  summary: 'uniformly at random (seeded)',
  create: () => ({
    pick(candidates, ctx) {
      return candidates[Math.floor(ctx.random() * candidates.length)] ?? candidates[0]
    },
  }),
}
