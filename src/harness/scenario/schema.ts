/**
 * The scenario file format (YAML). One schema, validated once at load; everything downstream gets a
 * typed, defaulted `Scenario` and never re-checks.
 */
import { z } from 'zod'
import { connectorSelectionSchema } from '../../proxy/connector/profiles.ts'
import { strategyNames } from '../../proxy/balancer/index.ts'
import type { Expectation } from '../gate/expectation.ts'
import type { FaultSpec } from '../../../fake-upstreams/index.ts'
import type { WorkloadSpec } from '../workload/run-workload.ts'

const name = z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'expected lower-case letters, digits, ".", "_" or "-"')


const behaviourSchema = z.object({
  textDeltas: z.number().int().nonnegative(),
  firstByteDelayMs: z.number().int().nonnegative(),
  eventIntervalMs: z.number().int().nonnegative(),
  echoVerificationCode: z.boolean(),
}).partial().strict()

export const upstreamSchema = z.object({
  name,
  /** The endpoint's priority (lower first) and weight in the proxy's cluster. */
  priority: z.number().int().optional(),
  weight: z.number().nonnegative().optional(),
  /** Validated per kind by the fault registry (see parse.ts). */
  faults: z.array(z.unknown()).default([]),
  behaviour: behaviourSchema.default({}),
}).strict()

export const pacingSchema = z.object({
  /** Requests sent back to back before a gap. */
  burst: z.number().int().positive(),
  /** Pause after each burst (ms). */
  gapMs: z.number().nonnegative().optional(),
  /** Pause after each burst as a fraction of the first upstream's idle-close `idleMs`. */
  gapOfIdle: z.number().positive().optional(),
}).strict()

export const workloadSchema = z.object({
  requests: z.number().int().positive().max(100_000),
  concurrency: z.number().int().positive().max(1_024).default(1),
  stream: z.boolean().default(false),
  pacing: pacingSchema.optional(),
  /** Per-request limit; a request still unanswered then counts as a client-side timeout (ms). */
  requestTimeoutMs: z.number().int().positive().default(10_000),
  /** The whole workload stops issuing requests after this long (ms). */
  maxDurationMs: z.number().int().positive().default(60_000),
}).strict()

export const expectationSchema = z.union([
  z.string(),
  z.object({ name: z.string().min(1).optional(), check: z.string() }).strict(),
], { error: 'expected a check such as "failures.total == 0", or a mapping with "name" and "check"' })

/** Proxy settings beyond the connector: qcc's attempt loop, breaker, balancer, verifier, compat switches. */
export const proxySettingsSchema = z.object({
  strategy: z.enum(strategyNames as [string, ...string[]]),
  attempts: z.object({ max: z.number().int().positive().max(20), perEndpoint: z.number().int().positive().max(20) }).partial().strict(),
  breaker: z.object({ threshold: z.number().int().positive(), openMs: z.number().int().nonnegative() }).partial().strict(),
  recoverAfterMs: z.number().int().nonnegative(),
  verifier: z.object({ enabled: z.boolean(), intervalMs: z.number().int().positive(), timeoutMs: z.number().int().positive() }).partial().strict(),
  compat: z.array(z.string()),
}).partial().strict()

export type ProxySettings = z.infer<typeof proxySettingsSchema>

export const variantSchema = z.object({
  name,
  description: z.string().optional(),
  /** Default: the proxy's own default (tuned-keepalive). Setting it makes the variant bundled-proxy-only. */
  connector: connectorSelectionSchema.optional(),
  /** Merged over the scenario's `proxy` settings (compat lists are added). */
  proxy: proxySettingsSchema.optional(),
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
    readonly faults: readonly FaultSpec[]
    readonly behaviour: z.infer<typeof behaviourSchema>
  }>
  readonly workload: WorkloadSpec
  readonly variants: ReadonlyArray<{
    readonly name: string
    readonly description?: string
    readonly connector: import('../../proxy/connector/profiles.ts').ConnectorSelection
    /** The scenario's proxy settings with the variant's merged over them. */
    readonly proxy: ProxySettings
    /** What an external proxy (target mode) cannot be told through a qcc cache.json; empty = applicable. */
    readonly bundledOnly: readonly string[]
    readonly expect: readonly Expectation[]
  }>
}
