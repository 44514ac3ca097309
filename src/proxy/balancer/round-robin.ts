import type { StrategyDefinition } from './types.ts'

/** `list[i % len]`, i global to the balancer (as qcc: not reset when the list changes). */
export const roundRobin: StrategyDefinition = {
  summary: 'in turn; the counter is global to the balancer',
  create: () => {
    let i = 0
    return {
      pick(candidates) {
        return candidates[i++ % candidates.length]!
      },
    }
  },
}
