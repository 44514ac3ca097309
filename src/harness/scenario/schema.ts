/**
 * The scenario file format (YAML). One schema, validated once at load; everything downstream gets a
 * typed, defaulted `Scenario` and never re-checks.
 */
import { z } from 'zod'
import { labConnectorSchema } from '../../proxy/config/lab-config.ts'
import { strategyNames } from '../../proxy/balancer/index.ts'
import type { Expectation } from '../gate/expectation.ts'
import type { WorkloadSpec } from '../workload/run-workload.ts'
import { durationSchema, MAX_TIMER_MS, resolveDuration, type Duration, type ProxyConstants } from './constants.ts'

const name = z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'expected lower-case letters, digits, ".", "_" or "-"')


const behaviourSchema = z.object({
  textDeltas: z.number().int().nonnegative().max(10_000),
  firstByteDelayMs: z.number().int().nonnegative().max(MAX_TIMER_MS),
  eventIntervalMs: z.number().int().nonnegative().max(MAX_TIMER_MS),
  echoVerificationCode: z.boolean(),
}).partial().strict()

export const upstreamSchema = z.object({
  name,
  /** The endpoint's priority (lower first) and weight in the proxy's cluster. */
  priority: z.number().int().optional(),
  weight: z.number().nonnegative().optional(),
  /** Validated per kind by the fault registry (see parse.ts); a duration may follow a constant. */
  faults: z.array(z.unknown()).default([]),
  behaviour: behaviourSchema.default({}),
}).strict()

export const pacingSchema = z.object({
  /** Requests sent back to back before a gap. */
  burst: z.number().int().positive(),
  /** Pause after each burst (ms, or `{ constant, times, plusMs }`: it follows the proxy's constants). */
  gapMs: durationSchema.optional(),
  /** Pause after each burst as a fraction of the first upstream's idle-close `idleMs`. */
  gapOfIdle: z.number().positive().optional(),
}).strict()

export const workloadSchema = z.object({
  requests: z.number().int().positive().max(100_000),
  concurrency: z.number().int().positive().max(1_024).default(1),
  stream: z.boolean().default(false),
  pacing: pacingSchema.optional(),
  /** Per-request limit; a request still unanswered then counts as a client-side timeout (ms). */
  requestTimeoutMs: durationSchema.default(10_000),
  /** The whole workload stops issuing requests after this long (ms). Default 60 s plus the pauses. */
  maxDurationMs: durationSchema.optional(),
}).strict()

export const expectationSchema = z.union([
  z.string(),
  z.object({ name: z.string().min(1).optional(), check: z.string() }).strict(),
], { error: 'expected a check such as "failures.total == 0", or a mapping with "name" and "check"' })

/** Proxy settings beyond the connector: qcc's attempt loop, breaker, balancer, verifier, compat switches. */
export const proxySettingsSchema = z.object({
  strategy: z.enum(strategyNames as [string, ...string[]]),
  attempts: z.object({ max: z.number().int().positive().max(20), perEndpoint: z.number().int().positive().max(20) }).partial().strict(),
  breaker: z.object({ threshold: z.number().int().positive().max(1_000_000), openMs: z.number().int().nonnegative().max(MAX_TIMER_MS) }).partial().strict(),
  recoverAfterMs: z.number().int().nonnegative().max(MAX_TIMER_MS),
  verifier: z.object({ enabled: z.boolean(), intervalMs: z.number().int().positive().max(MAX_TIMER_MS), timeoutMs: z.number().int().positive().max(MAX_TIMER_MS) }).partial().strict(),
  /** How long the bundled proxy waits for a response head (ms): its connector's headersTimeoutMs. */
  headersTimeoutMs: z.number().int().positive().max(MAX_TIMER_MS),
  compat: z.array(z.string()),
}).partial().strict()

export type ProxySettings = z.infer<typeof proxySettingsSchema>

export const variantSchema = z.object({
  name,
  description: z.string().optional(),
  /** Default: the proxy's own default (tuned-keepalive). Setting it makes the variant bundled-proxy-only. */
  connector: labConnectorSchema.optional(),
  /**
   * Merged over the scenario's `proxy` settings (compat lists are added). In a contract they are the
   * bundled proxy's constants for the run; against a target its profile's constants replace them.
   */
  proxy: proxySettingsSchema.optional(),
  /** The client's own limit for this variant, when it differs from the scenario's. */
  workload: z.object({ requestTimeoutMs: durationSchema }).partial().strict().optional(),
  expect: z.array(expectationSchema).min(1, 'a variant needs at least one expectation, or it cannot fail'),
}).strict()

export const scenarioSchema = z.object({
  name: name.optional(),
  description: z.string().min(1),
  rootCause: z.string().optional(),
  seed: z.number().int().nonnegative().default(1),
  upstreams: z.array(upstreamSchema).min(1),
  proxy: proxySettingsSchema.default({}),
  workload: workloadSchema,
  variants: z.array(variantSchema).min(1),
}).strict()


/** The workload as written: durations may still follow the proxy's constants. */
export interface WorkloadTemplate {
  readonly requests: number
  readonly concurrency: number
  readonly stream: boolean
  readonly burst: number
  readonly gap: Duration
  readonly requestTimeout: Duration
  readonly maxDuration?: Duration
}

/** The workload for one run: every duration resolved against the constants the run follows. */
export function resolveWorkload(t: WorkloadTemplate, c: ProxyConstants, variant?: { readonly requestTimeout?: Duration }): WorkloadSpec {
  const gapMs = resolveDuration(t.gap, c)
  const requestTimeoutMs = Math.max(1, resolveDuration(variant?.requestTimeout ?? t.requestTimeout, c))
  const gaps = Math.max(0, Math.ceil(t.requests / t.burst) - 1)
  // By default: a minute, or two request timeouts when they are longer, plus the pauses.
  const maxDurationMs = t.maxDuration === undefined
    ? Math.min(MAX_TIMER_MS, Math.max(60_000, 2 * requestTimeoutMs) + gaps * gapMs)
    : Math.max(1, resolveDuration(t.maxDuration, c))
  return { requests: t.requests, concurrency: t.concurrency, stream: t.stream, burst: t.burst, gapMs, requestTimeoutMs, maxDurationMs }
}

/** A validated scenario with defaults applied and checks parsed. */
export interface Scenario {
  readonly name: string
  readonly file: string
  readonly description: string
  readonly rootCause?: string
  readonly seed: number
  readonly upstreams: ReadonlyArray<{
    readonly name: string
    readonly priority?: number
    readonly weight?: number
    /** Validated fault specs; a duration inside may still be `{ constant: … }` (resolved per run). */
    readonly faults: readonly unknown[]
    readonly behaviour: z.infer<typeof behaviourSchema>
  }>
  readonly workload: WorkloadTemplate
  readonly variants: ReadonlyArray<{
    readonly name: string
    readonly description?: string
    readonly connector: import('../../proxy/connector/profiles.ts').ConnectorSelection
    /** The scenario's proxy settings with the variant's merged over them. */
    readonly proxy: ProxySettings
    /**
     * A contract: it sets no connector profile and no compat switch, so its expectations are what any
     * correct relay proxy must meet under these faults; it runs against targets too.
     */
    readonly contract: boolean
    /** Why the variant runs only against the bundled proxy; undefined for a contract. */
    readonly bundledOnly?: string
    /** The client's request timeout for this variant, when it differs from the scenario's. */
    readonly requestTimeout?: Duration
    readonly expect: readonly Expectation[]
  }>
}
