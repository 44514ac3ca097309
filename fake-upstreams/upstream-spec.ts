/**
 * What `startFakeUpstream` takes, as a schema: one definition for the API and for scenario files (the
 * scenario schema takes `behaviourSchema` from here; faults are checked by the fault registry for both),
 * so a field a scenario refuses is refused by the API with the same words.
 */
import { z } from 'zod'
import { MAX_TIMER_MS } from '../src/shared/timers.ts'

const timerMs = z.number().int().nonnegative().max(MAX_TIMER_MS)

/** How the upstream answers a message (see MessageBehaviour); every field optional, unknown ones refused. */
export const behaviourSchema = z.object({
  textDeltas: z.number().int().nonnegative().max(10_000),
  firstByteDelayMs: timerMs,
  eventIntervalMs: timerMs,
  echoVerificationCode: z.boolean(),
}).partial().strict()

const pem = z.union([z.string().min(1), z.instanceof(Buffer)], { error: 'expected PEM text (a string or a Buffer)' })

/** UpstreamSpec's fields. `faults` is a list here; each fault is validated by the registry, with its path. */
export const upstreamSpecSchema = z.object({
  name: z.string().min(1),
  host: z.string().min(1),
  port: z.number().int().min(0).max(65_535),
  tls: z.object({ key: pem, cert: pem }).strict(),
  faults: z.array(z.unknown()),
  behaviour: behaviourSchema,
  seed: z.number().int(),
  networkRttMs: timerMs,
  prerender: z.boolean(),
  idleTimeoutMs: z.number().int().positive().max(MAX_TIMER_MS),
}).partial().strict()
