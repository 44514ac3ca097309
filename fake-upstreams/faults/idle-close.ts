import { z } from 'zod'
import { defineFault } from './types.ts'

/**
 * Closes keep-alive connections that stay idle for `idleMs`, like a relay's (or a load balancer's) idle
 * timeout, and chooses what the `Keep-Alive` response header tells the client about it.
 */
export const idleClose = defineFault({
  kind: 'idle-close',
  summary: 'close connections idle for idleMs (fin|rst); Keep-Alive header honest, lying or absent',
  params: z.object({
    /** Idle time after which the server closes the connection (ms). */
    idleMs: z.number().int().positive(),
    /** `fin` = graceful end(); `rst` = resetAndDestroy() (the peer sees ECONNRESET). */
    mode: z.enum(['fin', 'rst']).default('fin'),
    /**
     * `honest`: `Keep-Alive: timeout=<floor(idleMs/1000)>` (what Node's http server sends);
     * `lying`: advertises `advertisedMs` instead; `absent`: no header, the client guesses.
     */
    keepAliveHeader: z.enum(['honest', 'lying', 'absent']).default('honest'),
    /** What a lying header advertises (ms, rounded down to whole seconds as the header requires). */
    advertisedMs: z.number().int().positive().default(60_000),
  }),
  create: ({ idleMs, mode, keepAliveHeader, advertisedMs }) => ({
    keepAliveHeader() {
      if (keepAliveHeader === 'absent') return null
      const ms = keepAliveHeader === 'honest' ? idleMs : advertisedMs
      return `timeout=${Math.floor(ms / 1000)}`
    },
    onIdle(conn) {
      conn.setIdleTimer(idleMs, () => {
        if (mode === 'fin') conn.end('idle-close')
        else conn.reset('idle-close')
      })
      return true
    },
  }),
})
