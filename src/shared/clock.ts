/**
 * What a deadline loop runs on: the real clock, or in tests a virtual one, so that a test can tell which
 * deadline a loop kept (the option's, not a default) without measuring wall time. Used by a target's
 * stop (SIGTERM grace period) and `proxy start --detach` (--ready-ms).
 */
import { setTimeout as sleep } from 'node:timers/promises'

export interface Clock {
  now(): number
  sleep(ms: number): Promise<void>
}

export const realClock: Clock = { now: () => Date.now(), sleep: (ms) => sleep(ms) }
