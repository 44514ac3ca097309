import { z } from 'zod'
import { defineFault } from './types.ts'

/** Holds the response head back for `delayMs`: a slow or hung upstream (pair with the proxy's headers timeout). */
export const delayResponse = defineFault({
  kind: 'delay-response',
  summary: 'hold the response head back for delayMs (a slow or hung upstream)',
  params: z.object({
    delayMs: z.number().int().positive(),
  }),
  create: ({ delayMs }) => ({
    delayMs: () => delayMs,
  }),
})
