import { z } from 'zod'
import { defineFault } from './types.ts'

/**
 * Makes the server's idle close cross the next request, deterministically. On a *reused* connection that
 * sat idle for at least `afterIdleMs`, the server reads the request head and then closes (FIN) or resets
 * (RST) the connection without sending a response byte, as if its idle timer had fired while the request
 * was in flight.
 *
 * Why not simply close earlier: undici >= 7.28 / 8.5 checks an idle socket for an already-arrived FIN
 * before reusing it, so a close that happened before the write no longer fails. Only a close that races
 * the request does, and this fault makes that race land every time instead of one time in a thousand.
 */
export const raceClose = defineFault({
  kind: 'race-close',
  summary: 'on a reused connection idle >= afterIdleMs, read the request head then close/reset unanswered',
  params: z.object({
    /** Minimum idle time before the request for the race to happen (ms). 0 = every reused connection. */
    afterIdleMs: z.number().int().nonnegative().default(0),
    /** `fin` → `other side closed` in undici; `rst` → `ECONNRESET`. */
    mode: z.enum(['fin', 'rst']).default('fin'),
  }),
  create: ({ afterIdleMs, mode }) => ({
    onRequest(conn, request) {
      if (request.indexOnConnection === 0 || request.idleBeforeMs < afterIdleMs) return false
      if (mode === 'fin') conn.end('race-close')
      else conn.reset('race-close')
      return true
    },
  }),
})
