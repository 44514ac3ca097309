import type { StrategyDefinition } from './types.ts'

/** Lowest `priority` wins; ties go to configuration order (qcc never shares load within a priority). */
export const priorityFailover: StrategyDefinition = {
  summary: 'lowest priority number first; ties in config order (qcc\'s proxy strategy)',
  create: () => ({
    pick(candidates) {
      let best = candidates[0]
      for (const c of candidates) if (c.priority < best.priority) best = c
      return best
    },
  }),
}
