import { z } from 'zod'
import { defineFault, type ConnectionStub } from './types.ts'

/**
 * "Keep-alive, then close anyway" (aiohttp issues #7297 and #3507): every response advertises
 * `Keep-Alive: timeout=<floor(advertisedMs/1000)>`, and `afterMs` after the response finished the server
 * closes the connection all the same (FIN or RST).
 *
 * With the default `afterMs: 0` the close happens synchronously, in the same tick as the response's
 * `finish`: the FIN follows the last response byte by about 0 µs. A client that reuses the pooled
 * connection for its next request writes into a closing connection; aiohttp then raises `Can not write
 * request body` (cause: `Cannot write to closing transport`) or `Server disconnected`, but only when that
 * next request starts before its event loop read the FIN (back-to-back requests in one aiohttp client; a
 * relay only when the next request is already waiting inside it). undici >= 8.5 / 7.28 sees an
 * already-arrived FIN before reuse and opens a new connection instead; in `rst` mode it does not: each
 * reused request fails with `read ECONNRESET` (measured with undici 8.13).
 */
export const closeAfterResponse = defineFault({
  kind: 'close-after-response',
  summary: 'advertise Keep-Alive, then close (fin|rst) afterMs after every response (0 = same tick)',
  params: z.object({
    /** Delay between the end of the response and the close (ms). 0 = synchronously, in the same tick. */
    afterMs: z.number().int().nonnegative().default(0),
    /** `fin` = graceful end(); `rst` = resetAndDestroy() (the peer sees ECONNRESET). */
    mode: z.enum(['fin', 'rst']).default('fin'),
    /** What the `Keep-Alive: timeout=` header advertises (ms, rounded down to whole seconds). */
    advertisedMs: z.number().int().positive().default(60_000),
  }),
  create: ({ afterMs, mode, advertisedMs }) => {
    const close = (conn: ConnectionStub): void => {
      if (mode === 'fin') conn.end('close-after-response')
      else conn.reset('close-after-response')
    }
    return {
      keepAliveHeader: () => `timeout=${Math.floor(advertisedMs / 1000)}`,
      onIdle(conn) {
        if (afterMs === 0) close(conn)
        else conn.setIdleTimer(afterMs, () => close(conn))
        return true
      },
    }
  },
})
