/**
 * A proxy's constants: the numbers a scenario timeline has to follow. The bundled proxy takes them from
 * a variant's settings; an external proxy (target mode) declares them in a target profile, because a
 * real qcc cannot be told "breaker open for 1 s": its constants are fixed in its code.
 *
 * A timing value in a scenario (a pacing gap, a request timeout, a fault's delay) may be written as
 * `{ constant: recoverMs, times: 1, plusMs: 800 }` and is resolved per run against these constants, so
 * one contract runs in 2 s against the bundled proxy tuned for tests and in a minute against qcc.
 */
import { z } from 'zod'
import { clusterDefaults } from '../../proxy/config.ts'
import { resolveConnector, type ConnectorSelection } from '../../proxy/connector/profiles.ts'
import { MAX_TIMER_MS } from '../../shared/timers.ts'

export { MAX_TIMER_MS }

export interface ProxyConstants {
  /** qcc: at most 5 attempts per request, at most 2 per endpoint. */
  readonly attempts: { readonly max: number; readonly perEndpoint: number }
  /** qcc: open after 3 failed attempts, for 60 s. */
  readonly breaker: { readonly threshold: number; readonly openMs: number }
  /** How often endpoints in the failure queue are verified (ms). */
  readonly verifierIntervalMs: number
  /**
   * Within how long an endpoint that failed an answer (5xx, 429) and is fine again gets normal traffic
   * back (ms): the bundled proxy's `recoverAfterMs`; qcc's failure-queue verifier tick.
   */
  readonly recoverMs: number
  /** How long the proxy waits for a silent upstream's response head before it fails over (ms). */
  readonly headersTimeoutMs: number
}

/** The names a scenario's `{ constant: … }` may use. */
export const constantNames = ['recoverMs', 'verifierIntervalMs', 'breakerOpenMs', 'headersTimeoutMs'] as const
export type ConstantName = (typeof constantNames)[number]

export function constantValue(c: ProxyConstants, name: ConstantName): number {
  switch (name) {
    case 'recoverMs': return c.recoverMs
    case 'verifierIntervalMs': return c.verifierIntervalMs
    case 'breakerOpenMs': return c.breaker.openMs
    case 'headersTimeoutMs': return c.headersTimeoutMs
  }
}


/** `{ constant, times?, plusMs? }`: a duration that follows the proxy's constants. */
export const constantDurationSchema = z.object({
  constant: z.enum(constantNames),
  times: z.number().nonnegative().max(100).default(1),
  plusMs: z.number().int().min(-MAX_TIMER_MS).max(MAX_TIMER_MS).default(0),
}).strict()

export type ConstantDuration = z.output<typeof constantDurationSchema>

/** A duration in ms: a number, or one that follows the proxy's constants. */
export const durationSchema = z.union([
  z.number().int().nonnegative().max(MAX_TIMER_MS),
  constantDurationSchema,
], { error: `expected a number of ms, or { constant: ${constantNames.join(' | ')}, times?: n, plusMs?: n }` })

export type Duration = z.output<typeof durationSchema>

export function isConstantDuration(value: unknown): value is ConstantDuration {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && 'constant' in value
}

export function resolveDuration(d: Duration, c: ProxyConstants): number {
  if (typeof d === 'number') return d
  return Math.max(0, Math.min(MAX_TIMER_MS, Math.round(constantValue(c, d.constant) * d.times + d.plusMs)))
}

/** Replaces every `{ constant: … }` inside a plain JSON value (fault parameters) with its number. */
export function resolveDurationsDeep(value: unknown, c: ProxyConstants): unknown {
  if (isConstantDuration(value)) {
    const parsed = constantDurationSchema.safeParse(value)
    return parsed.success ? resolveDuration(parsed.data, c) : value
  }
  if (Array.isArray(value)) return value.map((v) => resolveDurationsDeep(v, c))
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveDurationsDeep(v, c)]))
  }
  return value
}

/** Does a plain JSON value mention a constant anywhere? */
export function mentionsConstant(value: unknown): boolean {
  if (isConstantDuration(value)) return true
  if (Array.isArray(value)) return value.some(mentionsConstant)
  if (typeof value === 'object' && value !== null) return Object.values(value).some(mentionsConstant)
  return false
}

/** Shows a duration as written (defaults may be absent, as in a raw fault spec): `150 ms`, `recoverMs + 800 ms`. */
export function formatDuration(d: number | { readonly constant: string; readonly times?: number; readonly plusMs?: number }): string {
  if (typeof d === 'number') return `${d} ms`
  const times = d.times ?? 1
  const plus = d.plusMs ?? 0
  const base = times === 1 ? d.constant : `${times} × ${d.constant}`
  return plus === 0 ? base : `${base} ${plus < 0 ? '−' : '+'} ${Math.abs(plus)} ms`
}

/** The bundled proxy's constants for one variant: its settings over the proxy's defaults. */
export function bundledConstants(settings: BundledSettings, connector: ConnectorSelection): ProxyConstants {
  return {
    attempts: { ...clusterDefaults.attempts, ...settings.attempts },
    breaker: { ...clusterDefaults.breaker, ...settings.breaker },
    verifierIntervalMs: settings.verifier?.intervalMs ?? clusterDefaults.verifier.intervalMs,
    recoverMs: settings.recoverAfterMs ?? clusterDefaults.recoverAfterMs,
    headersTimeoutMs: settings.headersTimeoutMs ?? resolveConnector(connector).settings.headersTimeoutMs,
  }
}


/** The part of a variant's proxy settings that the constants come from. */
export interface BundledSettings {
  readonly attempts?: { readonly max?: number; readonly perEndpoint?: number }
  readonly breaker?: { readonly threshold?: number; readonly openMs?: number }
  readonly verifier?: { readonly intervalMs?: number }
  readonly recoverAfterMs?: number
  readonly headersTimeoutMs?: number
}
