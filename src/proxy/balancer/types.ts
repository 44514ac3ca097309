/** What a balancing strategy sees of an endpoint. */
export interface BalancerEndpoint {
  readonly id: string
  readonly weight: number
  /** Lower is preferred. */
  readonly priority: number
  /** Attempts in flight right now. */
  readonly inFlight: number
  /** Attempts ever made (qcc's least_connections compared these). */
  readonly attempts: number
}

export interface BalancerContext {
  /** [0, 1), seeded. */
  readonly random: () => number
  /** qcc's least_connections counted lifetime requests (compat `least-connections-lifetime`). */
  readonly leastConnectionsLifetime: boolean
}

/** A strategy picks one endpoint from a non-empty list; it never returns nothing. Stateful ones keep state per instance. */
export interface Strategy {
  pick<T extends BalancerEndpoint>(candidates: readonly [T, ...T[]], ctx: BalancerContext): T
}

export interface StrategyDefinition {
  readonly summary: string
  create(): Strategy
}
