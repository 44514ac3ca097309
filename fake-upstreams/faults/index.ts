/**
 * The fault registry: one file per fault plus one line here updates the types, scenario validation and
 * `qcc-lab list` together.
 */
import { z } from 'zod'
import { idleClose } from './idle-close.ts'
import { raceClose } from './race-close.ts'
import { errorResponse } from './error-response.ts'
import { resetMidStream } from './reset-mid-stream.ts'
import { delayResponse } from './delay-response.ts'
import { closeAfterResponse } from './close-after-response.ts'
import type { FaultDefinition, FaultHooks } from './types.ts'
import { formatZodIssues } from '../../src/shared/zod-issues.ts'

export const faults = {
  'idle-close': idleClose,
  'race-close': raceClose,
  'error-response': errorResponse,
  'reset-mid-stream': resetMidStream,
  'delay-response': delayResponse,
  'close-after-response': closeAfterResponse,
} as const satisfies Record<string, FaultDefinition>

export type FaultKind = keyof typeof faults

/**
 * One fault as written in a scenario or passed to `startFakeUpstream`: its `kind`, that kind's parameters
 * (derived from its file's `params` schema, so a new fault file types itself) and when it acts
 * (`probability`, `fromRequest`, `untilRequest`, `cycle`). Flattened so that an editor shows, and a type
 * error names, the fields of that kind.
 */
export type FaultSpecOf<K extends FaultKind> = Flatten<{ readonly kind: K } & ScheduleInput & z.input<(typeof faults)[K]['params']>>

/** A fault of any kind: a union discriminated by `kind`. `{ kind: 'idle-close', idleMS: 300 }` is a type error. */
export type FaultSpec = { [K in FaultKind]: FaultSpecOf<K> }[FaultKind]

type Flatten<T> = { [P in keyof T]: T[P] } & {}

/**
 * When a fault acts, on the wrapper (toxiproxy's toxicity, plus request schedules), counted in requests
 * that reached this upstream (1-based): `fromRequest`..`untilRequest`, optionally in a `cycle` of `on`
 * requests faulty then `off` requests clean (a flapping endpoint), and with `probability`.
 */
export const scheduleSchema = z.object({
  probability: z.number().min(0).max(1).default(1),
  fromRequest: z.number().int().positive().default(1),
  untilRequest: z.number().int().positive().optional(),
  cycle: z.object({ on: z.number().int().positive(), off: z.number().int().nonnegative() }).strict().optional(),
})

type ScheduleInput = z.input<typeof scheduleSchema>
export type Schedule = z.output<typeof scheduleSchema>

/** Is request number `seq` (1-based) inside the schedule? The probability is rolled separately. */
export function inSchedule(s: Schedule, seq: number): boolean {
  if (seq < s.fromRequest) return false
  if (s.untilRequest !== undefined && seq > s.untilRequest) return false
  if (s.cycle) return (seq - s.fromRequest) % (s.cycle.on + s.cycle.off) < s.cycle.on
  return true
}

/** A validated fault with its defaults applied. */
export interface ResolvedFault {
  readonly kind: FaultKind
  /** When it acts; the probability is rolled per request with the upstream's seeded random. */
  readonly schedule: Schedule
  readonly params: Record<string, unknown>
  readonly hooks: FaultHooks
}

export const faultKinds = Object.keys(faults) as FaultKind[]

export function isFaultKind(kind: unknown): kind is FaultKind {
  return typeof kind === 'string' && Object.hasOwn(faults, kind)
}


/**
 * Validates one fault. Returns either the resolved fault or the list of problems, each as
 * `<path>: <message>` relative to `path` (e.g. `upstreams[0].faults[1].idleMs: expected a positive number`).
 */
export function resolveFault(input: unknown, path: string): { ok: true; fault: ResolvedFault } | { ok: false; issues: string[] } {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return { ok: false, issues: [`${path}: expected a mapping with a "kind" field`] }
  }
  const { kind, probability, fromRequest, untilRequest, cycle, ...rest } = input as Record<string, unknown>
  if (!isFaultKind(kind)) {
    const shown = kind === undefined ? 'missing' : JSON.stringify(kind)
    return { ok: false, issues: [`${path}.kind: unknown fault kind ${shown}; expected one of ${faultKinds.join(', ')}`] }
  }
  const def: FaultDefinition = faults[kind]
  const issues: string[] = []
  const schedule = scheduleSchema.safeParse({ probability, fromRequest, untilRequest, cycle })
  if (!schedule.success) issues.push(...formatZodIssues(schedule.error, path).map((l) => l.replace(/\.probability: .*/, '.probability: expected a number from 0 to 1')))
  else if (schedule.data.untilRequest !== undefined && schedule.data.untilRequest < schedule.data.fromRequest) {
    issues.push(`${path}.untilRequest: must be >= fromRequest (${schedule.data.fromRequest})`)
  }
  const params = def.params.strict().safeParse(rest)
  if (!params.success) issues.push(...formatZodIssues(params.error, path))
  if (!schedule.success || !params.success || issues.length > 0) return { ok: false, issues }
  return { ok: true, fault: { kind, schedule: schedule.data, params: params.data, hooks: def.create(params.data) } }
}
