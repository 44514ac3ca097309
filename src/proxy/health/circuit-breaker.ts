/**
 * A per-endpoint circuit breaker with a real half-open state: after `openMs` one probe request is let
 * through; its success closes the breaker, its failure re-opens it. The clock is injected.
 * With `resetOnTimeout` (compat `breaker-reset-on-timeout`) it behaves as qcc v0.6.1: after `openMs` it
 * simply forgets, and re-opening takes `threshold` new failures.
 */

export type BreakerState = 'closed' | 'open' | 'half-open'

export interface BreakerOptions {
  /** Consecutive failures that open the breaker. qcc: 3. */
  readonly threshold: number
  /** How long it stays open before a probe is allowed (ms). qcc: 60 000. */
  readonly openMs: number
  readonly resetOnTimeout: boolean
}

export interface BreakerSnapshot {
  readonly state: BreakerState
  readonly consecutiveFailures: number
  readonly openedAt: number | null
  readonly probeInFlight: boolean
}

export type BreakerTransition = 'open' | 'half-open' | 'close' | 'reset'

export class CircuitBreaker {
  #failures = 0
  #openedAt: number | null = null
  #halfOpen = false
  #probeInFlight = false
  readonly #options: BreakerOptions
  readonly #onTransition: (t: BreakerTransition) => void

  constructor(options: BreakerOptions, onTransition: (t: BreakerTransition) => void = () => undefined) {
    this.#options = options
    this.#onTransition = onTransition
  }

  /** The state at `now`, moving open → half-open (or → closed with resetOnTimeout) when the time is up. */
  state(now: number): BreakerState {
    if (this.#openedAt !== null && !this.#halfOpen && now - this.#openedAt >= this.#options.openMs) {
      if (this.#options.resetOnTimeout) {
        this.#openedAt = null
        this.#failures = 0
        this.#onTransition('reset')
        return 'closed'
      }
      this.#halfOpen = true
      this.#onTransition('half-open')
    }
    if (this.#openedAt === null) return 'closed'
    return this.#halfOpen ? 'half-open' : 'open'
  }

  /** May normal traffic use this endpoint now? In half-open, only one probe at a time. */
  allows(now: number): boolean {
    const s = this.state(now)
    return s === 'closed' || (s === 'half-open' && !this.#probeInFlight)
  }

  /** An attempt is about to start on this endpoint; in half-open it is the probe. */
  onAttempt(now: number): void {
    if (this.state(now) === 'half-open') this.#probeInFlight = true
  }

  onSuccess(): void {
    const wasOpen = this.#openedAt !== null
    this.#failures = 0
    this.#openedAt = null
    this.#halfOpen = false
    this.#probeInFlight = false
    if (wasOpen) this.#onTransition('close')
  }

  onFailure(now: number): void {
    this.#failures++
    this.#probeInFlight = false
    if (this.#halfOpen) {
      this.#halfOpen = false
      this.#openedAt = now
      this.#onTransition('open')
      return
    }
    if (this.#failures >= this.#options.threshold) {
      const wasClosed = this.#openedAt === null
      // qcc refreshes opened_at on every further failure; so do we (a failing endpoint stays open).
      this.#openedAt = now
      if (wasClosed) this.#onTransition('open')
    }
  }

  /** The attempt was abandoned (client went away): a probe slot is released without a verdict. */
  onAbandon(): void {
    this.#probeInFlight = false
  }

  snapshot(now: number): BreakerSnapshot {
    return { state: this.state(now), consecutiveFailures: this.#failures, openedAt: this.#openedAt, probeInFlight: this.#probeInFlight }
  }
}
