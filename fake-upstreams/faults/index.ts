/**
 * The fault registry: one file per fault plus one line here updates the types, scenario validation and
 * `qcc-lab list` together.
 */
import { z } from 'zod'
import { idleClose } from './idle-close.ts'
import { raceClose } from './race-close.ts'
import type { FaultDefinition, FaultHooks } from './types.ts'
import { formatZodIssues } from '../../src/shared/zod-issues.ts'

export const faults = {
  'idle-close': idleClose,
  'race-close': raceClose,
} as const satisfies Record<string, FaultDefinition>

export type FaultKind = keyof typeof faults

/** A fault as written in a scenario or passed to `startFakeUpstream`: kind, parameters, probability. */
export type FaultSpec = {
  [K in FaultKind]: { readonly kind: K; readonly probability?: number } & z.input<(typeof faults)[K]['params']>
}[FaultKind]

/** A validated fault with its defaults applied. */
export interface ResolvedFault {
  readonly kind: FaultKind
  /** Chance (0–1) that a request-level action happens, rolled per request with the upstream's seeded random. */
  readonly probability: number
  readonly params: Record<string, unknown>
  readonly hooks: FaultHooks
}

export const faultKinds = Object.keys(faults) as FaultKind[]

export function isFaultKind(kind: unknown): kind is FaultKind {
  return typeof kind === 'string' && Object.hasOwn(faults, kind)
}

const probabilitySchema = z.number().min(0).max(1).default(1)

/**
 * Validates one fault. Returns either the resolved fault or the list of problems, each as
 * `<path>: <message>` relative to `path` (e.g. `upstreams[0].faults[1].idleMs: expected a positive number`).
 */
export function resolveFault(input: unknown, path: string): { ok: true; fault: ResolvedFault } | { ok: false; issues: string[] } {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return { ok: false, issues: [`${path}: expected a mapping with a "kind" field`] }
  }
  const { kind, probability, ...rest } = input as Record<string, unknown>
  if (!isFaultKind(kind)) {
    const shown = kind === undefined ? 'missing' : JSON.stringify(kind)
    return { ok: false, issues: [`${path}.kind: unknown fault kind ${shown}; expected one of ${faultKinds.join(', ')}`] }
  }
  const def: FaultDefinition = faults[kind]
  const issues: string[] = []
  const prob = probabilitySchema.safeParse(probability)
  if (!prob.success) issues.push(`${path}.probability: expected a number from 0 to 1`)
  const params = def.params.strict().safeParse(rest)
  if (!params.success) issues.push(...formatZodIssues(params.error, path))
  if (!prob.success || !params.success) return { ok: false, issues }
  return { ok: true, fault: { kind, probability: prob.data, params: params.data, hooks: def.create(params.data) } }
}
