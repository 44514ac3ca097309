import { z } from 'zod'
import { defineFault } from './types.ts'

/** Cuts a response after `afterEvents` SSE events (toxiproxy's `limit_data`, counted in events): FIN or RST. */
export const resetMidStream = defineFault({
  kind: 'reset-mid-stream',
  summary: 'cut the response after N SSE events (fin|rst), after the head and some bytes went out',
  params: z.object({
    afterEvents: z.number().int().nonnegative().default(3),
    mode: z.enum(['fin', 'rst']).default('rst'),
  }),
  create: ({ afterEvents, mode }) => ({
    cutAfterEvents: () => ({ events: afterEvents, mode }),
  }),
})
