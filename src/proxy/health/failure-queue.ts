/**
 * The failure queue: endpoints isolated from normal traffic until the verifier proves them back.
 * Membership is a set keyed by endpoint id (adding twice counts once, as qcc since acb256f).
 */

export interface FailureQueueStats {
  totalFailed: number
  totalVerified: number
  totalRecovered: number
  totalStillFailed: number
}

export class FailureQueue {
  readonly #members = new Map<string, { reason: string; since: number }>()
  readonly #verifyCounts = new Map<string, number>()
  readonly stats: FailureQueueStats = { totalFailed: 0, totalVerified: 0, totalRecovered: 0, totalStillFailed: 0 }

  /** Returns true when the endpoint was not queued before. */
  add(id: string, reason: string, now: number): boolean {
    if (this.#members.has(id)) return false
    this.#members.set(id, { reason, since: now })
    this.#verifyCounts.set(id, 0)
    this.stats.totalFailed++
    return true
  }

  has(id: string): boolean {
    return this.#members.has(id)
  }

  ids(): string[] {
    return [...this.#members.keys()]
  }

  reason(id: string): string | undefined {
    return this.#members.get(id)?.reason
  }

  /** Counts one verification of a queued endpoint. */
  verified(id: string, recovered: boolean): void {
    this.stats.totalVerified++
    this.#verifyCounts.set(id, (this.#verifyCounts.get(id) ?? 0) + 1)
    if (recovered) {
      this.stats.totalRecovered++
      this.#members.delete(id)
      this.#verifyCounts.delete(id)
    } else {
      this.stats.totalStillFailed++
    }
  }

  verifyCounts(): Record<string, number> {
    return Object.fromEntries(this.#verifyCounts)
  }

  get size(): number {
    return this.#members.size
  }
}
