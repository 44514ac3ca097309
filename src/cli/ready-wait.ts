/**
 * `proxy start --detach`'s wait for the child to be ready: its record (pid file) found AND its port
 * answering, within `readyMs`, checked every 50 ms; a child that exits ends the wait at once. On a
 * `Clock` (src/shared/clock.ts), so a test can tell that the wait kept `readyMs` without measuring wall
 * time; the caller's message names the `readyMs` this returns, the value the deadline was computed from.
 */
import { realClock, type Clock } from '../shared/clock.ts'

export interface ReadyProbe<R> {
  /** The child's record, once it has written one. */
  find(): R | undefined
  /** Has the child exited (or failed to run)? */
  exited(): boolean
  /** Does the child answer within `timeoutMs`? */
  answers(record: R, timeoutMs: number): Promise<boolean>
}

export type ReadyOutcome<R> =
  | { readonly kind: 'ready'; readonly record: R }
  | { readonly kind: 'exited' }
  | { readonly kind: 'timeout'; readonly readyMs: number }

/** One look at most every this many ms. */
const POLL_MS = 50
/** A single look never waits longer than this for an answer. */
const ANSWER_TIMEOUT_MS = 1_000

export async function waitUntilReady<R>(readyMs: number, probe: ReadyProbe<R>, clock: Clock = realClock): Promise<ReadyOutcome<R>> {
  const deadline = clock.now() + readyMs
  let record: R | undefined
  while (!probe.exited() && clock.now() < deadline) {
    record ??= probe.find()
    if (record !== undefined && !probe.exited() && (await probe.answers(record, Math.min(ANSWER_TIMEOUT_MS, deadline - clock.now())))) {
      return { kind: 'ready', record }
    }
    await clock.sleep(POLL_MS)
  }
  return probe.exited() ? { kind: 'exited' } : { kind: 'timeout', readyMs }
}
