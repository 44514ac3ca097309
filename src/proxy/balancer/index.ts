/** The strategy registry: one file per strategy plus one line here. */
import { leastConnections } from './least-connections.ts'
import { priorityFailover } from './priority-failover.ts'
import { random } from './random.ts'
import { roundRobin } from './round-robin.ts'
import type { StrategyDefinition } from './types.ts'
import { weighted } from './weighted.ts'

export const strategies = {
  priority_failover: priorityFailover,
  weighted,
  round_robin: roundRobin,
  random,
  least_connections: leastConnections,
} as const satisfies Record<string, StrategyDefinition>

export type StrategyName = keyof typeof strategies

export const strategyNames = Object.keys(strategies) as StrategyName[]

export type { BalancerEndpoint, BalancerContext, Strategy } from './types.ts'
